"""Grid maps: MovingAI ``.map``/``.scen``, POGEMA ascii YAML, League of Robot Runners files.

Cells are ``(row, col)`` with row 0 at the top of the file. In a ``.scen`` file x is the column and
y the row (Sturtevant, "Benchmarks for Grid-Based Pathfinding", IEEE TCIAIG 2012; Stern et al.,
"Multi-Agent Pathfinding: Definitions, Variants, and Benchmarks", SoCS 2019). World coordinates of a
cell centre: ``x = (col + 0.5) * s``, ``y = (height - row - 0.5) * s``, so the map reads upright.

POGEMA ascii (Skrynnik et al., "POGEMA: A Benchmark Platform for Cooperative Multi-Agent
Pathfinding", ICLR 2025): ``.`` free, ``#`` obstacle; ``$`` and ``@`` are free cells that carry a
mark. We store ``$`` cells as the mark ``"starts"`` and ``@`` cells as ``"goals"`` (the WFI
warehouse protocol: agents start in the side columns, goals are shelf-adjacent cells). Note that
the POGEMA source itself reads the marks the other way round (``@`` = possible agent cell, ``$`` =
possible target cell, ``.`` both); on ``wfi_warehouse`` that reading bounds throughput at 32 agents
by ~1.08 goals/step, below RHCR's published 1.22, so the published numbers use the reading here
(free-flow bound 1.40; see ``tests/sim/test_maps.py``).

League of Robot Runners 2023 (LoRR): ``.map`` as MovingAI plus ``E`` (emitter, free); ``.agents``
and ``.tasks`` are a count then one linear cell id ``row * width + col`` per line.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np
import yaml

MOVINGAI_FREE = frozenset(".GSE")  # LoRR adds 'E' (emitter), free
MOVINGAI_BLOCKED = frozenset("@OTW")
POGEMA_CHARS = {".": None, "#": None, "$": "starts", "@": "goals", "!": None}  # char -> mark name


class MapError(ValueError):
    """A map, scenario or task file that does not parse; the message names file, line and problem."""


@dataclass(eq=False)
class GridMap:
    """A 4-connected grid. ``blocked[r, c]`` is True on obstacles; row 0 is the top of the file.

    ``marks`` holds named cell sets as ``(K, 2)`` int arrays of ``(row, col)`` on free cells:
    ``"starts"``/``"goals"`` for POGEMA's ``$``/``@``, ``"emitters"`` for LoRR's ``E``.
    """

    blocked: np.ndarray
    name: str
    source: Optional[str] = None
    marks: dict[str, np.ndarray] = field(default_factory=dict)
    _components: Optional[np.ndarray] = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        b = np.asarray(self.blocked)
        if b.ndim != 2 or b.shape[0] < 1 or b.shape[1] < 1:
            raise ValueError(f"GridMap {self.name!r}: blocked must be a non-empty 2-D array, got shape {b.shape}")
        self.blocked = b.astype(bool, copy=False)
        marks = {}
        for key, cells in self.marks.items():
            cells = np.asarray(cells, dtype=np.int64).reshape(-1, 2)
            ok = self.is_free(cells)
            if not ok.all():
                k = int(np.flatnonzero(~ok)[0])
                raise ValueError(f"GridMap {self.name!r}: mark {key!r} cell {cells[k].tolist()} is blocked "
                                 f"or outside the {self.height}x{self.width} map")
            marks[key] = cells
        self.marks = marks

    @property
    def height(self) -> int:
        return int(self.blocked.shape[0])

    @property
    def width(self) -> int:
        return int(self.blocked.shape[1])

    def free_cells(self) -> np.ndarray:
        """``(K, 2)`` int64 ``(row, col)`` of every free cell, row-major order."""
        return np.argwhere(~self.blocked).astype(np.int64)

    def is_free(self, cells: np.ndarray) -> np.ndarray:
        """``(K,)`` bool: cell is inside the map and not blocked."""
        cells = np.asarray(cells, dtype=np.int64).reshape(-1, 2)
        r, c = cells[:, 0], cells[:, 1]
        inside = (r >= 0) & (r < self.height) & (c >= 0) & (c < self.width)
        ok = np.zeros(len(cells), dtype=bool)
        ok[inside] = ~self.blocked[r[inside], c[inside]]
        return ok

    def components(self) -> np.ndarray:
        """``(H, W)`` label of each free cell's 4-connected component (0, 1, ... in row-major order
        of their first cell); -1 on blocked cells. Computed once and cached."""
        if self._components is None:
            H, W = self.blocked.shape
            free = ~self.blocked.ravel()
            label = np.full(H * W, -1, dtype=np.int64)
            nxt = 0
            for start in np.flatnonzero(free).tolist():
                if label[start] >= 0:
                    continue
                label[start] = nxt
                q = deque([start])
                while q:
                    v = q.popleft()
                    r, c = divmod(v, W)
                    for u, ok in ((v - W, r > 0), (v + W, r < H - 1), (v - 1, c > 0), (v + 1, c < W - 1)):
                        if ok and free[u] and label[u] < 0:
                            label[u] = nxt
                            q.append(u)
                nxt += 1
            self._components = label.reshape(H, W)
            self._components.flags.writeable = False  # shared cache: callers must not edit it
        return self._components


# --- maps -----------------------------------------------------------------------------------------
def load_map(path: str | Path, name: Optional[str] = None) -> GridMap:
    """Load a MovingAI/LoRR ``.map`` or a POGEMA ascii ``.yaml`` map.

    Dispatch: ``.yaml``/``.yml`` → POGEMA; ``.map`` → MovingAI; any other extension is sniffed
    (a first line ``type ...`` means MovingAI, otherwise YAML). ``name`` picks one map out of a
    POGEMA file that holds several (``{name: ascii, ...}``).
    """
    path = Path(path)
    if not path.is_file():
        raise MapError(f"{path}: map file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise MapError(f"{path}: not a text map file (not UTF-8)") from None
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return _load_pogema_yaml(path, text, name)
    if suffix == ".map":
        return _parse_movingai(text, path)
    first = next((ln.strip().lower() for ln in text.splitlines() if ln.strip()), "")
    if first.startswith("type"):
        return _parse_movingai(text, path)
    return _load_pogema_yaml(path, text, name)


def _parse_movingai(text: str, path: Path) -> GridMap:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    header: dict[str, tuple[str, int]] = {}  # key -> (value, 1-based line)
    i = 0
    while i < len(lines) and lines[i].strip().lower() != "map":
        line = lines[i].strip()
        if line:
            parts = line.split()
            if len(parts) != 2:
                raise MapError(f"{path}: line {i + 1}: expected a header line 'key value' (type, height, width) "
                               f"or 'map', got {line!r}")
            header[parts[0].lower()] = (parts[1], i + 1)
        i += 1
    if i == len(lines):
        raise MapError(f"{path}: no 'map' line: not a MovingAI .map file "
                       f"(expected header lines 'type octile', 'height H', 'width W', then 'map')")
    dims = []
    for key in ("height", "width"):
        if key not in header:
            raise MapError(f"{path}: the header (lines 1-{i}) has no '{key}' line")
        value, ln = header[key]
        try:
            dims.append(int(value))
        except ValueError:
            raise MapError(f"{path}: line {ln}: {key} must be an integer, got {value!r}") from None
        if dims[-1] <= 0:
            raise MapError(f"{path}: line {ln}: {key} must be positive, got {dims[-1]}")
    H, W = dims
    first = i + 2  # 1-based line number of map row 0
    rows = [r.rstrip(" \t") for r in lines[i + 1:]]
    while rows and not rows[-1]:
        rows.pop()
    if len(rows) > H:
        raise MapError(f"{path}: line {first + H}: map row {H} is beyond the declared height {H} "
                       f"(line {header['height'][1]}); the file has {len(rows)} map rows")
    if len(rows) < H:
        raise MapError(f"{path}: the file ends after {len(rows)} map rows (last at line {first + len(rows) - 1}), "
                       f"but line {header['height'][1]} declares height {H}")
    allowed = MOVINGAI_FREE | MOVINGAI_BLOCKED
    for r, row in enumerate(rows):
        if len(row) != W:
            raise MapError(f"{path}: line {first + r}: map row {r} has {len(row)} cells, "
                           f"line {header['width'][1]} declares width {W}")
        bad = set(row) - allowed
        if bad:
            raise MapError(f"{path}: line {first + r}: unknown map character(s) {''.join(sorted(bad))!r} "
                           f"(free: . G S E; blocked: @ O T W)")
    chars = np.array([list(r) for r in rows])
    blocked = np.isin(chars, list(MOVINGAI_BLOCKED))
    marks = {}
    emitters = np.argwhere(chars == "E")
    if len(emitters):
        marks["emitters"] = emitters.astype(np.int64)
    return GridMap(blocked=blocked, name=path.stem, source=str(path), marks=marks)


def _load_pogema_yaml(path: Path, text: str, name: Optional[str]) -> GridMap:
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text, Loader=yaml.SafeLoader)  # node positions, for line numbers
    except yaml.YAMLError as exc:
        raise MapError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise MapError(f"{path}: expected a POGEMA map file: a mapping of a map name to an ascii grid "
                       f"('.' free, '#' obstacle), got {type(data).__name__}")
    if isinstance(data.get("map"), str):  # a config-style file: {map: ascii, name: ...}
        key, map_name = "map", str(data.get("name", path.stem))
    else:
        maps = [k for k, v in data.items() if isinstance(v, str)]
        if not maps:
            raise MapError(f"{path}: no ascii grid found: expected 'name: |' followed by the grid rows")
        if name is not None:
            if name not in maps:
                raise MapError(f"{path}: no map named {name!r}; the file has {_names(maps)}")
            key = name
        elif len(maps) == 1:
            key = maps[0]
        else:
            raise MapError(f"{path}: the file holds {len(maps)} maps ({_names(maps)}): say which one")
        map_name = str(key)
    first_line = None
    if isinstance(root, yaml.MappingNode):
        for knode, vnode in root.value:
            if knode.value == str(key) and isinstance(vnode, yaml.ScalarNode) and vnode.style in ("|", ">"):
                first_line = vnode.start_mark.line + 2  # block scalar: rows start on the next line
    return parse_ascii(data[key], name=map_name, source=str(path), first_line=first_line)


def _names(keys: list[Any]) -> str:
    shown = ", ".join(repr(k) for k in keys[:8])
    return shown + (f", ... ({len(keys)} in all)" if len(keys) > 8 else "")


def parse_ascii(text: str, name: str = "ascii", source: Optional[str] = None,
                first_line: Optional[int] = None) -> GridMap:
    """POGEMA-style ascii grid: ``.`` free, ``#`` obstacle, ``$`` free + mark ``"starts"``,
    ``@`` free + mark ``"goals"``, ``!`` free. Leading/trailing whitespace and blank lines are
    ignored. ``first_line`` (1-based line of the text's first line in ``source``) turns row
    numbers in error messages into file line numbers."""
    where = source or name
    if not isinstance(text, str):
        raise MapError(f"{where}: expected the map as an ascii string, got {type(text).__name__}")
    numbered = [(k, ln.strip()) for k, ln in enumerate(text.splitlines()) if ln.strip()]
    if not numbered:
        raise MapError(f"{where}: the map is empty")

    def at(k: int, r: int) -> str:
        return f"line {first_line + k}" if first_line is not None else f"map row {r}"

    W = len(numbered[0][1])
    for r, (k, row) in enumerate(numbered):
        bad = set(row) - set(POGEMA_CHARS)
        if bad:
            raise MapError(f"{where}: {at(k, r)}: unknown map character(s) {''.join(sorted(bad))!r} "
                           f"(expected '.' free, '#' obstacle, '$' start cell, '@' goal cell)")
        if len(row) != W:
            raise MapError(f"{where}: {at(k, r)}: map row {r} has {len(row)} cells but row 0 has {W}: "
                           f"rows must be equally long")
    arr = np.array([list(row) for _, row in numbered])
    marks = {}
    for ch, mark in POGEMA_CHARS.items():
        if mark is not None:
            cells = np.argwhere(arr == ch)
            if len(cells):
                marks[mark] = cells.astype(np.int64)
    return GridMap(blocked=arr == "#", name=name, source=source, marks=marks)


# --- scenarios and task files ---------------------------------------------------------------------
def load_scen(path: str | Path, grid: Optional[GridMap] = None) -> tuple[np.ndarray, np.ndarray]:
    """MovingAI ``.scen`` version 1 → ``(starts, goals)``, each ``(K, 2)`` int64 ``(row, col)``.

    Each line: ``bucket map width height start_x start_y goal_x goal_y optimal_length``, tab
    separated; **x is the column, y the row**. Agent k of an instance is the first k lines. With
    ``grid``, the declared width/height and every start/goal cell are checked against it.
    """
    path = Path(path)
    if not path.is_file():
        raise MapError(f"{path}: scenario file not found")
    starts, goals, line_of = [], [], []
    for ln, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        if ln == 1 and line.strip().lower().startswith("version"):
            if line.split()[-1] not in ("1", "1.0"):
                raise MapError(f"{path}: line 1: only .scen version 1 is supported, got {line.strip()!r}")
            continue
        parts = line.split("\t") if "\t" in line else line.split()
        if len(parts) != 9:
            raise MapError(f"{path}: line {ln}: expected 9 fields (bucket map width height start_x start_y "
                           f"goal_x goal_y optimal_length), got {len(parts)}")
        try:
            w, h, sx, sy, gx, gy = (int(p) for p in parts[2:8])
        except ValueError:
            raise MapError(f"{path}: line {ln}: width, height and start/goal coordinates must be integers") from None
        if grid is not None and (w, h) != (grid.width, grid.height):
            raise MapError(f"{path}: line {ln}: the scenario is for a {w} wide x {h} high map ({parts[1]}), "
                           f"but map {grid.name!r} is {grid.width} x {grid.height}")
        starts.append((sy, sx))  # x is the column, y the row
        goals.append((gy, gx))
        line_of.append(ln)
    s = np.asarray(starts, dtype=np.int64).reshape(-1, 2)
    g = np.asarray(goals, dtype=np.int64).reshape(-1, 2)
    if grid is not None:
        for what, cells in (("start", s), ("goal", g)):
            ok = grid.is_free(cells)
            if not ok.all():
                k = int(np.flatnonzero(~ok)[0])
                raise MapError(f"{path}: line {line_of[k]} (agent {k}): {what} (x={cells[k, 1]}, y={cells[k, 0]}) "
                               f"is an obstacle or outside the {grid.width}x{grid.height} map {grid.name!r}")
    return s, g


def _load_linear_ids(path: str | Path, grid: GridMap, what: str, n: Optional[int] = None) -> tuple[np.ndarray, list[int]]:
    path = Path(path)
    if not path.is_file():
        raise MapError(f"{path}: {what} file not found")
    numbered = [(k, ln.strip()) for k, ln in enumerate(path.read_text().splitlines(), start=1) if ln.strip()]
    if not numbered:
        raise MapError(f"{path}: empty {what} file: expected a count line, then one cell id per line")
    try:
        count = int(numbered[0][1])
    except ValueError:
        raise MapError(f"{path}: line {numbered[0][0]}: expected the number of {what}, got {numbered[0][1]!r}") from None
    body = numbered[1:]
    try:
        ids = np.array([t for _, t in body], dtype=np.str_).astype(np.int64)
    except ValueError:
        for ln, t in body:  # find the offending line for the message
            try:
                int(t)
            except ValueError:
                raise MapError(f"{path}: line {ln}: expected one integer cell id, got {t!r}") from None
        raise
    if len(ids) != count:
        raise MapError(f"{path}: line {numbered[0][0]} says {count} {what} but {len(ids)} follow")
    lines = [ln for ln, _ in body]
    if n is not None:
        if n > count:
            raise MapError(f"{path}: {n} {what} requested but the file lists only {count}")
        ids, lines = ids[:n], lines[:n]
    HW = grid.height * grid.width
    inside = (ids >= 0) & (ids < HW)
    cells = np.stack([ids // grid.width, ids % grid.width], axis=1)
    ok = inside.copy()
    ok[inside] = grid.is_free(cells[inside])
    if not ok.all():
        k = int(np.flatnonzero(~ok)[0])
        why = "an obstacle" if inside[k] else f"outside [0, {HW})"
        raise MapError(f"{path}: line {lines[k]}: cell id {ids[k]} (row {ids[k] // grid.width}, col "
                       f"{ids[k] % grid.width}) is {why} on the {grid.height}x{grid.width} map {grid.name!r}")
    return cells, lines


def load_lorr_agents(path: str | Path, grid: GridMap, n: Optional[int] = None) -> np.ndarray:
    """LoRR ``.agents``: count, then one linear cell id (``row * width + col``) per agent →
    ``(K, 2)`` starts. ``n`` keeps the first n (LoRR's ``teamSize``). Starts must be distinct."""
    cells, lines = _load_linear_ids(path, grid, "agents", n)
    ids = cells[:, 0] * grid.width + cells[:, 1]
    uniq, first, counts = np.unique(ids, return_index=True, return_counts=True)
    if (counts > 1).any():
        dup = uniq[counts > 1][0]
        a, b = np.flatnonzero(ids == dup)[:2]
        raise MapError(f"{path}: lines {lines[a]} and {lines[b]}: agents {a} and {b} start on the same cell id {dup}")
    return cells


def load_lorr_tasks(path: str | Path, grid: GridMap) -> np.ndarray:
    """LoRR ``.tasks``: count, then one linear cell id per task → ``(T, 2)`` cells in file order
    (handed out by `sim.goals.TaskListGoals`)."""
    return _load_linear_ids(path, grid, "tasks")[0]


# --- coordinates ----------------------------------------------------------------------------------
def cell_to_xy(cells: np.ndarray, height: int, cell_size: float) -> np.ndarray:
    """Cell centres in world metres: ``x = (col + 0.5) s``, ``y = (height - row - 0.5) s``."""
    cells = np.asarray(cells).reshape(-1, 2)
    return np.column_stack([(cells[:, 1] + 0.5) * cell_size, (height - cells[:, 0] - 0.5) * cell_size])


def xy_to_cell(xy: np.ndarray, height: int, cell_size: float) -> np.ndarray:
    """The cell ``(row, col)`` containing each world point (may lie outside the map: check
    `GridMap.is_free`)."""
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    col = np.floor(xy[:, 0] / cell_size).astype(np.int64)
    row = height - 1 - np.floor(xy[:, 1] / cell_size).astype(np.int64)
    return np.column_stack([row, col])
