"""ifmesh node: what a coding-agent session runs to coordinate in real time."""
