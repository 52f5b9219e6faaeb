"""How coding-agent sessions use ifmesh natively: the MCP server (``ifmesh mcp``), and the
hooks an agent client runs (docs/agents.md)."""
