"""The local control API of a running node: how the CLI (and agents) talk to it."""
