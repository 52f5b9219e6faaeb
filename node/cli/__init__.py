"""The `ifmesh` command line: thin commands that parse, call a running node or the library, and
print. :mod:`~ifmesh.node.cli.main` is the entry point; ``ifmesh up`` runs a whole room locally.
"""
