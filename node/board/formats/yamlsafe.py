"""The YAML loader the formats parse with: PyYAML's safe loader, in C when libyaml is there.

STATUS files are parsed on every read of the coordination branch (each session's, each time
its commit is read), and the pure-Python loader was a sixth of a git bridge's CPU with eight
sessions pushing; libyaml builds the same values from a STATUS file in 0.13 ms, not 1.5 ms.
"""

from __future__ import annotations

import yaml

SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
