"""Claims decided: on the mesh in one round trip when every member can answer, else by git.

:mod:`~ifmesh.node.claims.rules` holds the rules (sans-IO: who must be asked, when the mesh
cannot decide, what the acks and the board say); :mod:`~ifmesh.node.claims.decider` runs them
in the node against the live mesh and git bridge. docs/claims.md gives the argument.
"""
