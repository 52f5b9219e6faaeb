"""`python -m ifmesh.signaling`: run the signaling server (same options as `ifmesh signaling`)."""

from __future__ import annotations

import argparse
import sys

from ifmesh.signaling.cli import add_server_arguments, run_server


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ifmesh.signaling", description="Run the ifmesh signaling server."
    )
    add_server_arguments(parser)
    return run_server(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
