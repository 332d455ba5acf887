"""Grid maps: MovingAI ``.map``/``.scen``, POGEMA ascii YAML, League of Robot Runners files.

Cells are ``(row, col)`` with row 0 at the top of the file. In a ``.scen`` file x is the column and
y the row (Sturtevant 2012; Stern et al. 2019). World coordinates of a cell centre:
``x = (col + 0.5) * s``, ``y = (height - row - 0.5) * s`` so the map reads upright in the world.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import yaml

MOVINGAI_FREE = set(".GSE")  # LoRR adds 'E' (emitter), free
MOVINGAI_BLOCKED = set("@OTW")


class MapError(ValueError):
    """A map, scenario or task file that does not parse; the message names file, line and problem."""


@dataclass
class GridMap:
    blocked: np.ndarray  # (H, W) bool
    name: str
    source: Optional[str] = None
    marks: dict[str, np.ndarray] = field(default_factory=dict)  # named (K, 2) cell sets
    _components: Optional[np.ndarray] = field(default=None, repr=False)

    @property
    def height(self) -> int:
        return int(self.blocked.shape[0])

    @property
    def width(self) -> int:
        return int(self.blocked.shape[1])

    def free_cells(self) -> np.ndarray:
        return np.argwhere(~self.blocked)

    def is_free(self, cells: np.ndarray) -> np.ndarray:
        cells = np.asarray(cells).reshape(-1, 2)
        r, c = cells[:, 0], cells[:, 1]
        inside = (r >= 0) & (r < self.height) & (c >= 0) & (c < self.width)
        ok = np.zeros(len(cells), dtype=bool)
        ok[inside] = ~self.blocked[r[inside], c[inside]]
        return ok

    def components(self) -> np.ndarray:
        """(H, W) label of each free cell's 4-connected component; -1 on blocked cells (cached)."""
        if self._components is None:
            H, W = self.blocked.shape
            free = ~self.blocked.ravel()
            label = np.full(H * W, -1, dtype=np.int64)
            nxt = 0
            for start in np.flatnonzero(free):
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
        return self._components


# --- parsing --------------------------------------------------------------------------------------
def load_map(path: str | Path) -> GridMap:
    """Load a MovingAI/LoRR ``.map`` or a POGEMA ascii ``.yaml`` map."""
    path = Path(path)
    if not path.is_file():
        raise MapError(f"{path}: map file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise MapError(f"{path}: not a text map file") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        return _load_pogema_yaml(path, text)
    return _parse_movingai(text, path)


def _parse_movingai(text: str, path: Path) -> GridMap:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    header: dict[str, str] = {}
    i = 0
    while i < len(lines) and lines[i].strip().lower() != "map":
        line = lines[i].strip()
        if line:
            parts = line.split()
            if len(parts) != 2:
                raise MapError(f"{path}: line {i + 1}: expected a header line 'key value' or 'map', got {line!r}")
            header[parts[0].lower()] = parts[1]
        i += 1
    if i == len(lines):
        raise MapError(f"{path}: no 'map' line: not a MovingAI .map file (expected header 'type', 'height', 'width', 'map')")
    try:
        H, W = int(header["height"]), int(header["width"])
    except KeyError as exc:
        raise MapError(f"{path}: header has no {exc.args[0]!r} line") from None
    except ValueError:
        raise MapError(f"{path}: height/width in the header are not integers") from None
    if H <= 0 or W <= 0:
        raise MapError(f"{path}: height and width must be positive, got {H}x{W}")
    rows = lines[i + 1:]
    while rows and not rows[-1].strip():
        rows.pop()
    if len(rows) != H:
        raise MapError(f"{path}: header says height {H} but {len(rows)} map rows follow")
    blocked = np.zeros((H, W), dtype=bool)
    emitters = []
    for r, row in enumerate(rows):
        if len(row) != W:
            raise MapError(f"{path}: line {i + 2 + r}: row {r} has {len(row)} cells, header says width {W}")
        bad = set(row) - MOVINGAI_FREE - MOVINGAI_BLOCKED
        if bad:
            raise MapError(f"{path}: line {i + 2 + r}: unknown map character(s) {''.join(sorted(bad))!r} "
                           f"(free: . G S E; blocked: @ O T W)")
        blocked[r] = [ch in MOVINGAI_BLOCKED for ch in row]
        emitters += [(r, c) for c, ch in enumerate(row) if ch == "E"]
    marks = {"emitters": np.asarray(emitters, dtype=np.int64).reshape(-1, 2)} if emitters else {}
    return GridMap(blocked=blocked, name=path.stem, source=str(path), marks=marks)


def _load_pogema_yaml(path: Path, text: str) -> GridMap:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise MapError(f"{path}: not valid YAML: {exc}") from None
    if isinstance(data, dict) and len(data) == 1 and isinstance(next(iter(data.values())), str):
        name, grid = next(iter(data.items()))
    elif isinstance(data, dict) and isinstance(data.get("map"), str):
        name, grid = data.get("name", path.stem), data["map"]
    else:
        raise MapError(f"{path}: expected a POGEMA map: a mapping of one name to an ascii grid string")
    return parse_ascii(grid, name=str(name), source=str(path))


def parse_ascii(text: str, name: str = "ascii", source: Optional[str] = None) -> GridMap:
    """POGEMA-style ascii: '.' free, '#' blocked; '$' (start set) and '@' (goal set) are free marked cells."""
    rows = [r.strip() for r in text.strip().splitlines() if r.strip()]
    where = source or name
    if not rows:
        raise MapError(f"{where}: the map is empty")
    W = len(rows[0])
    for r, row in enumerate(rows):
        if len(row) != W:
            raise MapError(f"{where}: map row {r} has {len(row)} cells, row 0 has {W}: rows must be equally long")
        bad = set(row) - set(".#$@")
        if bad:
            raise MapError(f"{where}: map row {r}: unknown character(s) {''.join(sorted(bad))!r} (expected . # $ @)")
    arr = np.array([list(r) for r in rows])
    marks = {}
    for ch, mark in (("$", "starts"), ("@", "goals")):
        cells = np.argwhere(arr == ch)
        if len(cells):
            marks[mark] = cells.astype(np.int64)
    return GridMap(blocked=arr == "#", name=name, source=source, marks=marks)


def load_scen(path: str | Path, grid: Optional[GridMap] = None) -> tuple[np.ndarray, np.ndarray]:
    """MovingAI ``.scen`` v1 → (starts, goals) as (row, col); agent k of an instance = first k lines."""
    path = Path(path)
    if not path.is_file():
        raise MapError(f"{path}: scenario file not found")
    starts, goals = [], []
    for ln, line in enumerate(path.read_text().splitlines(), start=1):
        if ln == 1 and line.lower().startswith("version"):
            continue
        if not line.strip():
            continue
        parts = line.split("\t") if "\t" in line else line.split()
        if len(parts) != 9:
            raise MapError(f"{path}: line {ln}: expected 9 fields (bucket map width height sx sy gx gy length), got {len(parts)}")
        try:
            sx, sy, gx, gy = (int(p) for p in parts[4:8])
        except ValueError:
            raise MapError(f"{path}: line {ln}: start/goal coordinates are not integers") from None
        starts.append((sy, sx))  # x is the column, y the row
        goals.append((gy, gx))
    s, g = np.asarray(starts, dtype=np.int64).reshape(-1, 2), np.asarray(goals, dtype=np.int64).reshape(-1, 2)
    if grid is not None:
        for what, cells in (("start", s), ("goal", g)):
            ok = grid.is_free(cells)
            if not ok.all():
                k = int(np.flatnonzero(~ok)[0])
                raise MapError(f"{path}: agent {k} (line {k + 2}): {what} cell (row {cells[k, 0]}, col {cells[k, 1]}) "
                               f"is an obstacle or outside the {grid.height}x{grid.width} map")
    return s, g


def _load_linear_ids(path: str | Path, grid: GridMap, what: str) -> np.ndarray:
    path = Path(path)
    if not path.is_file():
        raise MapError(f"{path}: {what} file not found")
    lines = [l.strip() for l in path.read_text().splitlines()]
    lines = [l for l in lines if l]
    try:
        count = int(lines[0])
        ids = np.asarray([int(l) for l in lines[1:]], dtype=np.int64)
    except (ValueError, IndexError):
        raise MapError(f"{path}: expected a count line then one integer cell id per line") from None
    if len(ids) != count:
        raise MapError(f"{path}: first line says {count} {what} but {len(ids)} follow")
    cells = np.stack([ids // grid.width, ids % grid.width], axis=1)
    bad = (ids < 0) | (ids >= grid.height * grid.width)
    ok = ~bad
    ok[ok] = grid.is_free(cells[ok])
    if not ok.all():
        k = int(np.flatnonzero(~ok)[0])
        raise MapError(f"{path}: line {k + 2}: cell id {ids[k]} is an obstacle or outside the "
                       f"{grid.height}x{grid.width} map")
    return cells


def load_lorr_agents(path: str | Path, grid: GridMap) -> np.ndarray:
    """LoRR ``.agents``: count, then one linear cell id (row * width + col) per agent."""
    return _load_linear_ids(path, grid, "agents")


def load_lorr_tasks(path: str | Path, grid: GridMap) -> np.ndarray:
    """LoRR ``.tasks``: count, then one linear cell id per task (revealed round-robin)."""
    return _load_linear_ids(path, grid, "tasks")


# --- coordinates ----------------------------------------------------------------------------------
def cell_to_xy(cells: np.ndarray, height: int, cell_size: float) -> np.ndarray:
    cells = np.asarray(cells).reshape(-1, 2)
    return np.column_stack([(cells[:, 1] + 0.5) * cell_size, (height - cells[:, 0] - 0.5) * cell_size])


def xy_to_cell(xy: np.ndarray, height: int, cell_size: float) -> np.ndarray:
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    col = np.floor(xy[:, 0] / cell_size).astype(np.int64)
    row = height - 1 - np.floor(xy[:, 1] / cell_size).astype(np.int64)
    return np.column_stack([row, col])
