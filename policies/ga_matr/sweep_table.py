"""Per-method table of a ``uav_bs_layouts*`` sweep, pooled over layouts and seeds (the robocoord report
groups by every swept key, i.e. one row per layout), with paired ratios against a reference method.

    python -m policies.ga_matr.sweep_table results/uav_bs_layouts_small --ref uav_kmeans_milp
"""
from __future__ import annotations

import argparse
import json
import sqlite3
from pathlib import Path

import numpy as np

METRICS = ("jain_weighted_mbps", "mean_sum_rate_mbps", "jain_avg", "p5_rate_kbps", "energy_kj", "sep_violations",
           "collisions")
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 9: 2.262, 19: 2.093, 29: 2.045, 49: 2.010, 149: 1.976}


def _ci(x: np.ndarray) -> tuple[float, float]:
    n = len(x)
    if n < 2:
        return float(x.mean()), float("nan")
    t = T95.get(n - 1) or T95[min(T95, key=lambda k: abs(k - (n - 1)))]
    return float(x.mean()), float(t * x.std(ddof=1) / np.sqrt(n))


def table(results: Path, ref: str) -> str:
    db = results / "results.sqlite" if results.is_dir() else results
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    rows: dict[str, dict[tuple, dict]] = {}
    for group, seed, summ, timing in con.execute("select group_json, seed, summary_json, timing_json from runs "
                                                  "where status='done'"):
        g = json.loads(group)
        c = g["controller"]
        label = c.get("label") or c["name"]
        key = tuple((k, json.dumps(v)) for k, v in g.items() if k != "controller") + (("seed", seed),)
        rows.setdefault(label, {})[key] = {**json.loads(summ), "controller_ms": json.loads(timing)["controller_ms_mean"]}
    out = ["| method | runs | " + " | ".join(METRICS) + " | controller ms/step | Jain-w. vs ref (paired) |",
           "|---" * (len(METRICS) + 4) + "|"]
    refrows = rows.get(ref, {})
    for label, runs in rows.items():
        cells = []
        for m in METRICS + ("controller_ms",):
            mu, ci = _ci(np.array([r[m] for r in runs.values()], dtype=float))
            cells.append(f"{mu:.4g} ± {ci:.2g}" if np.isfinite(ci) else f"{mu:.4g}")
        common = [k for k in runs if k in refrows]
        if common and label != ref:
            ratio = np.array([runs[k]["jain_weighted_mbps"] / refrows[k]["jain_weighted_mbps"] for k in common])
            mu, ci = _ci(ratio - 1)
            cells.append(f"{100 * mu:+.1f}% ± {100 * ci:.1f}")
        else:
            cells.append("—")
        out.append(f"| {label} | {len(runs)} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", type=Path)
    ap.add_argument("--ref", default="uav_kmeans_milp")
    a = ap.parse_args()
    print(table(a.results, a.ref))


if __name__ == "__main__":
    main()
