"""Who speaks for a session: its Ed25519 key, signed IFMessages, keys pinned from git, and
signed DTLS fingerprints for the mesh's pairs.

Sans-IO except :mod:`~ifmesh.node.identity.keys` (the key file in the state directory) and
:mod:`~ifmesh.node.identity.pinfile` (pins kept there). The mesh and the git bridge call the
:class:`~ifmesh.node.identity.gate.Gate` before anything reaches the fold; the runtime wires it
(:mod:`ifmesh.node.runtime.identity`). docs/security.md says what this defends and what not.

Imports point down: this package uses :mod:`ifmesh.node.protocol` and :mod:`ifmesh.node.errors`
only, so the mesh and the git bridge can both use it.
"""
