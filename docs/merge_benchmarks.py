"""Copy the per-domain benchmark write-ups (docs/benchmarks/*.md) into BENCHMARKS.md, between
markers, with headings one level down; rerun after editing any of them:

    python docs/merge_benchmarks.py
"""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ORDER = ["mapf.md", "mapf_learned.md", "scheduling.md", "cbf.md", "uav.md", "cpguard.md"]
BEGIN, END = "<!-- domain-benchmarks:begin -->", "<!-- domain-benchmarks:end -->"


def demote(text: str) -> str:
    out, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        out.append("#" + line if not fenced and line.startswith("#") else line)
    return "\n".join(out).strip() + "\n"


def main() -> None:
    docs = ROOT / "docs" / "benchmarks"
    names = [n for n in ORDER if (docs / n).is_file()] + sorted(
        p.name for p in docs.glob("*.md") if p.name not in ORDER)
    parts = [f"<!-- copied from docs/benchmarks/{n} by docs/merge_benchmarks.py -->\n" + demote((docs / n).read_text())
             for n in names]
    block = BEGIN + "\n" + "\n".join(parts) + END
    bench = ROOT / "BENCHMARKS.md"
    text = bench.read_text()
    if BEGIN in text:
        a, b = text.index(BEGIN), text.index(END) + len(END)
        text = text[:a] + block + text[b:]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    bench.write_text(text)
    print(f"BENCHMARKS.md: {len(names)} domain sections ({', '.join(names)})")


if __name__ == "__main__":
    main()
