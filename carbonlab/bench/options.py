"""Options every bench command shares (no heavy imports: the parser is built for `--help`)."""

from __future__ import annotations

import argparse
from pathlib import Path

PROFILE_MODES = ("cprofile", "py-spy")


def add_profile_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", nargs="?", const="cprofile", choices=PROFILE_MODES, default=None,
                        help="profile the measured part: cProfile (default; top functions printed to "
                             "stderr) or py-spy (a flame graph, when py-spy is installed)")
    parser.add_argument("--profile-out", type=Path, default=None, metavar="FILE",
                        help="with --profile: save the raw cProfile statistics (or py-spy's SVG) here")
