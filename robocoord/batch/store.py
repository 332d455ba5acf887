"""The results store of a sweep: one SQLite file, ``<out>/results.sqlite`` (stdlib ``sqlite3``).

WAL journal with ``synchronous=FULL``: each finished run is one committed transaction written by the
parent process only, so killing the sweep at any moment (SIGKILL, power loss) loses at most the runs
still in flight, and a report can read the store while the sweep is still writing it.

Tables::

    meta(key TEXT PRIMARY KEY, value TEXT)   -- JSON values: format, sweep, plan, command, machine...
    runs(run_id TEXT PRIMARY KEY, idx, sweep, group_json, group_label, seed, overrides_json,
         status 'done'|'failed', summary_json, timing_json, error, attempts, started, finished,
         worker, run_dir)

``meta.plan`` is the list of run ids of the latest ``robocoord batch`` on this store: a sweep that was
edited and resumed keeps its older results in ``runs``, and reports read only the planned ones.
"""
from __future__ import annotations

import json
import math
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

from robocoord.errors import UserError

STORE_NAME = "results.sqlite"
FORMAT = "robocoord-results"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    idx INTEGER NOT NULL,
    sweep TEXT NOT NULL,
    group_json TEXT NOT NULL,
    group_label TEXT NOT NULL,
    seed INTEGER NOT NULL,
    overrides_json TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('done', 'failed')),
    summary_json TEXT,
    timing_json TEXT,
    error TEXT,
    attempts INTEGER NOT NULL,
    started REAL,
    finished REAL,
    worker TEXT,
    run_dir TEXT
);
CREATE INDEX IF NOT EXISTS runs_status ON runs(status);
"""


@dataclass
class RunRecord:
    """One finished run as stored."""

    run_id: str
    idx: int
    sweep: str
    group: dict[str, Any]
    group_label: str
    seed: int
    overrides: dict[str, Any]
    status: str
    summary: dict[str, Any] = field(default_factory=dict)
    timing: dict[str, Any] = field(default_factory=dict)
    error: Optional[str] = None
    attempts: int = 1
    started: Optional[float] = None
    finished: Optional[float] = None
    worker: Optional[str] = None
    run_dir: Optional[str] = None


def _dumps(obj: Any) -> str:
    # Summaries may hold inf (e.g. min_distance of a lone robot): keep it, JSON-with-Infinity reads back.
    return json.dumps(obj, allow_nan=True, default=_default)


def _default(o: Any) -> Any:
    try:
        import numpy as np

        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(o, (set, tuple)):
        return list(o)
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def resolve_store_path(path: str | Path) -> Path:
    """A results folder (holding ``results.sqlite``) or the store file itself."""
    p = Path(path)
    return p / STORE_NAME if p.is_dir() else p


class ResultsStore:
    """Open with :meth:`create` (for ``robocoord batch``) or :meth:`open` (existing store, read/report)."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self.conn = conn

    # --- opening ---------------------------------------------------------------------------------
    @classmethod
    def create(cls, path: str | Path) -> "ResultsStore":
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not path.exists() or path.stat().st_size == 0
        store = cls(path, cls._connect(path))
        if fresh:  # DDL is transactional in SQLite: the schema and its format tag appear together
            with store._tx():
                for stmt in _SCHEMA.split(";"):
                    if stmt.strip():
                        store.conn.execute(stmt)
                store._set_meta_locked({"format": FORMAT, "schema_version": SCHEMA_VERSION, "created": time.time()})
        else:
            store._check_format()
        return store

    @classmethod
    def open(cls, path: str | Path) -> "ResultsStore":
        given = Path(path)
        p = resolve_store_path(given)
        if not p.exists():
            if given.is_dir():
                raise UserError(f"{given}: not a results folder (no {STORE_NAME} in it; "
                                "`robocoord batch SWEEP --out DIR` writes one)")
            raise UserError(f"{given}: no such results store")
        with open(p, "rb") as fh:
            head = fh.read(16)
        if head != b"SQLite format 3\x00":
            raise UserError(f"{given}: not a results store (expected the {STORE_NAME} written by `robocoord batch`, "
                            "or its folder)")
        store = cls(p, cls._connect(p))
        store._check_format()
        return store

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(str(path), timeout=30.0, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise UserError(f"{path}: not a results store ({exc})") from None
        return conn

    def _check_format(self) -> None:
        try:
            row = self.conn.execute("SELECT value FROM meta WHERE key='format'").fetchone()
        except sqlite3.DatabaseError:
            row = None
        if row is None or json.loads(row[0]) != FORMAT:
            self.conn.close()
            raise UserError(f"{self.path}: an SQLite file, but not a robocoord results store")
        ver = self.meta().get("schema_version")
        if ver != SCHEMA_VERSION:
            self.conn.close()
            raise UserError(f"{self.path}: results store schema {ver}; this robocoord reads schema {SCHEMA_VERSION}")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "ResultsStore":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # --- meta ------------------------------------------------------------------------------------
    def meta(self) -> dict[str, Any]:
        return {k: json.loads(v) for k, v in self.conn.execute("SELECT key, value FROM meta")}

    def set_meta(self, values: dict[str, Any]) -> None:
        with self._tx():
            self._set_meta_locked(values)

    def _set_meta_locked(self, values: dict[str, Any]) -> None:
        self.conn.executemany("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                              [(k, _dumps(v)) for k, v in values.items()])

    # --- runs ------------------------------------------------------------------------------------
    def _tx(self) -> Any:
        return _Transaction(self.conn)

    def record(self, rec: RunRecord) -> None:
        """Insert or replace one finished run, in its own committed transaction."""
        with self._tx():
            self.conn.execute(
                "INSERT OR REPLACE INTO runs(run_id, idx, sweep, group_json, group_label, seed, overrides_json, "
                "status, summary_json, timing_json, error, attempts, started, finished, worker, run_dir) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (rec.run_id, rec.idx, rec.sweep, _dumps(rec.group), rec.group_label, rec.seed, _dumps(rec.overrides),
                 rec.status, _dumps(rec.summary or {}), _dumps(rec.timing or {}), rec.error, rec.attempts,
                 rec.started, rec.finished, rec.worker, rec.run_dir))

    def statuses(self) -> dict[str, tuple[str, int]]:
        """run_id -> (status, attempts) of every stored run."""
        return {r: (s, a) for r, s, a in self.conn.execute("SELECT run_id, status, attempts FROM runs")}

    def count(self, status: Optional[str] = None) -> int:
        if status is None:
            return self.conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
        return self.conn.execute("SELECT COUNT(*) FROM runs WHERE status=?", (status,)).fetchone()[0]

    def runs(self, planned_only: bool = True) -> list[RunRecord]:
        """Stored runs in sweep order; by default only those of the latest plan (see module docstring)."""
        rows = self.conn.execute(
            "SELECT run_id, idx, sweep, group_json, group_label, seed, overrides_json, status, summary_json, "
            "timing_json, error, attempts, started, finished, worker, run_dir FROM runs ORDER BY idx, run_id").fetchall()
        plan = self.meta().get("plan") if planned_only else None
        keep = set(plan) if plan is not None else None
        out = []
        for r in rows:
            if keep is not None and r[0] not in keep:
                continue
            out.append(RunRecord(run_id=r[0], idx=r[1], sweep=r[2], group=json.loads(r[3]), group_label=r[4], seed=r[5],
                                 overrides=json.loads(r[6]), status=r[7], summary=json.loads(r[8] or "{}"),
                                 timing=json.loads(r[9] or "{}"), error=r[10], attempts=r[11], started=r[12],
                                 finished=r[13], worker=r[14], run_dir=r[15]))
        return out

    def clear(self) -> None:
        with self._tx():
            self.conn.execute("DELETE FROM runs")
            self.conn.execute("DELETE FROM meta WHERE key NOT IN ('format', 'schema_version', 'created')")


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error) on an autocommit connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type: Any, *rest: Any) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")


def finite_or_none(x: Any) -> Optional[float]:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def iter_numeric(d: dict[str, Any]) -> Iterable[tuple[str, float]]:
    """(key, value) of the numeric entries (bools count as 0/1) of a summary dict."""
    for k, v in d.items():
        if isinstance(v, bool):
            yield k, float(v)
        elif isinstance(v, (int, float)):
            yield k, float(v)
