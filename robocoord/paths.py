"""Files named on the command line: a path, or the name of one shipped with robocoord."""
from __future__ import annotations

from pathlib import Path

from robocoord.errors import UserError

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"
SWEEP_DIR = SCENARIO_DIR / "sweeps"


def find_file(arg: str, shipped_dir: Path, what: str) -> Path:
    """``arg`` as a path if it exists, else ``shipped_dir/arg[.yaml]``; a clear error otherwise."""
    p = Path(arg)
    if p.exists():
        return p
    for cand in (shipped_dir / arg, shipped_dir / f"{arg}.yaml"):
        if cand.is_file():
            return cand
    raise UserError(f"{arg}: no such {what} file (and no shipped {what} of that name in {shipped_dir})")
