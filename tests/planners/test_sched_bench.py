"""The benchmark script runs end to end and prints a table."""
from __future__ import annotations

import json

from planners.scheduling.bench import main


def test_bench_smoke(tmp_path, capsys):
    out = tmp_path / "rows.json"
    assert main(["--kind", "intersection", "--n", "4", "--seeds", "2", "--milp-time", "5",
                 "--cma-evals", "20", "--random-k", "2", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "| 4 |" in text and "J_MILP/J FIFO" in text
    rows = json.loads(out.read_text())
    assert len(rows) == 2
    for r in rows:
        assert r["milp_status"] == "optimal" and not r["milp_suspect"]
        assert r["milp_J"] <= min(r["fifo_J"], r["random_J"], r["cma_J"]) + 1e-6
