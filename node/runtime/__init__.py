"""One session's node as a running process: its configuration, its state directory, the parts
built from them, and :class:`~ifmesh.node.runtime.node.Node`, which wires the mesh, the board, the
governor, the git bridge and the control API together.
"""
