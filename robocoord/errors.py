"""User-facing errors: one clear message, exit code 2, never a traceback."""
from __future__ import annotations


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
