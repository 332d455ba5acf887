"""User-facing errors: one clear message, exit code 2, never a traceback."""
from __future__ import annotations

import sys
from typing import Callable, Optional


class UserError(Exception):
    """Bad input from the user (scenario, map, parameter, file). The CLI prints it and exits 2."""

    exit_code = 2


class ScenarioError(UserError):
    """A scenario file that does not validate; the message names file, field path and expectation."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        lines = [f"{source}: invalid scenario"]
        for loc, msg in problems:
            lines.append(f"  {loc or '<top level>'}: {msg}" if loc else f"  {msg}")
        super().__init__("\n".join(lines))


def cli_guard(command: Callable[[], Optional[int]], *, interrupted: str = "interrupted", default_rc: int = 0) -> int:
    """Run a CLI command: a :class:`UserError` becomes its one-line message and exit code (2), Ctrl-C
    exits 130 with ``interrupted`` as the message; every entry point (run, batch, view) goes through here."""
    try:
        rc = command()
        return default_rc if rc is None else rc
    except UserError as exc:
        print(f"robocoord: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"robocoord: {interrupted}", file=sys.stderr)
        return 130
