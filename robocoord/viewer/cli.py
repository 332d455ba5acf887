"""``robocoord view RUN_DIR``: the pieces the main CLI wires in, plus ``python -m robocoord.viewer``."""
from __future__ import annotations

import argparse
import sys
from typing import Any, Optional, Sequence

from robocoord.errors import cli_guard


def add_view_command(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``view`` sub-command to an ``argparse`` sub-parsers object; returns its parser."""
    p = subparsers.add_parser("view", help="interactive 3D viewer of a run directory in the browser (viser)",
                              description="Serve a run directory as an interactive 3D scene with a timeline. "
                                          "Open the printed address in a browser; Ctrl-C stops.")
    add_view_arguments(p)
    return p


def add_view_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", metavar="RUN_DIR", help="run directory written by `robocoord run --out`")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 for all)")
    p.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080; 0: any free port)")
    p.add_argument("--no-browser", action="store_true", help="do not try to open a browser")


def dispatch_view(args: argparse.Namespace) -> Optional[int]:
    """Run the ``view`` command if ``args.command == 'view'`` (else None). Raises UserError on bad input."""
    if getattr(args, "command", None) != "view":
        return None
    return cmd_view(args)


def cmd_view(args: argparse.Namespace) -> int:
    from robocoord.viewer.app import ReplayViewer
    from robocoord.viewer.rundata import load_run

    run = load_run(args.run_dir)  # bad directory: fail before taking the port
    viewer = None
    try:
        viewer = ReplayViewer(run, host=args.host, port=args.port)
        viewer.serve_forever(open_browser=not args.no_browser)
    except KeyboardInterrupt:  # Ctrl-C, also while the server is still starting
        print("robocoord view: stopped", file=sys.stderr)
    finally:
        if viewer is not None:
            viewer.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m robocoord.viewer RUN_DIR [...]`` (same as ``robocoord view``)."""
    ap = argparse.ArgumentParser(prog="robocoord view", description="Interactive 3D viewer of a run directory.")
    add_view_arguments(ap)
    args = ap.parse_args(argv)
    args.command = "view"
    return cli_guard(lambda: dispatch_view(args))
