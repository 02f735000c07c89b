"""MCP both ways: the skill registry served as MCP tools, and external MCP servers' tools imported as skills."""
