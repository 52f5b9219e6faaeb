"""The git-sync bridge: the coordination branch as the durable record of the board."""
