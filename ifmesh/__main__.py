"""`python -m ifmesh …`: the same as the `ifmesh` command."""

from __future__ import annotations

import sys

from ifmesh.node.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
