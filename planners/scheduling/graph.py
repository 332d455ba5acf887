"""Coordination graph for passing-order scheduling on fixed reference paths.

Model (after Meng et al., "Reliable and Efficient Multi-Agent Coordination via Graph Neural
Network Variational Autoencoders", ICRA 2025, Sec. III):

* A **critical section** between robots i < j is a pair of maximal arc-length intervals
  ``[L_i, U_i]`` on path i and ``[L_j, U_j]`` on path j such that the robots' discs can only touch
  while *both* centres are inside their intervals (centre distance < ``2 r + margin``). Each
  interval is a **node**; the pair is a **joint-action edge** ``(u, v)`` with ``u`` on the
  lower-index robot.
* **Precedence edges** link consecutive nodes of the same robot (sorted by ``L``).
* A joint edge gets a **direction** (who goes first) and a **type**: *exclusive* (the second
  enters only after the first has left its interval) or *following* (the second may enter
  ``headway`` seconds behind the first and must leave ``headway`` behind it; only allowed when
  both travel the same direction along the overlap, ``edge_follow_ok``).
* **Regions** are connected groups of interfering intervals (joint edges plus overlap of
  intervals on the same robot); each has a **density cap**: at most ``region_cap[r]`` following
  edges, ``floor(follow_cap_ratio * robots in the region)``. Following lets several robots be
  inside a region at once; the cap bounds that congestion.

Intervals of one robot may overlap (it passes a crossing with j while still near k). Maximal
runs of overlapping intervals on a robot form a **block**. If every joint edge is oriented along
one total order of blocks that respects each robot's own block order, the timing graph is
acyclic (deadlock-free); `block_order` builds such orders and the rank decoder uses it. Plain
acyclicity of the node graph is not sufficient when intervals overlap, so the evaluator checks
the exact event-level timing graph.

**Forced orders.** A robot stands on its start from t = 0 until it moves, so if robot j's path
passes within ``2r`` of robot i's start point (inside their section), i must go first. With
``park_at_goal`` a robot stays on its goal, so if j's path passes within ``2r`` of i's goal, i
must go second. (A standing robot only gets the collision clearance ``2r``, not the margin.)
Contradictions (e.g. two robots each standing in the other's way) raise
`InfeasibleInstanceError` (a ``ValueError``) naming the robots.

Everything is plain numpy (``edge_index``-style ``(2, E)`` arrays) so it converts to
torch-geometric without copies of logic.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import shapely

from planners.scheduling.geometry import resample

if TYPE_CHECKING:  # pragma: no cover
    from planners.scheduling.instances import SchedulingInstance

_EPS = 1e-9


class InfeasibleInstanceError(ValueError):
    """Forced passing orders (robots standing on their start / parked on their goal inside
    another robot's path) contradict each other; ``robots`` lists the robots involved."""

    def __init__(self, message: str, robots: tuple[int, ...],
                 pairs: list[tuple[int, int]] | None = None):
        super().__init__(message)
        self.robots = tuple(int(r) for r in robots)
        # every conflicting robot pair found (the message names the first)
        self.pairs = [tuple(map(int, p)) for p in pairs] if pairs else [tuple(self.robots)]


@dataclass(frozen=True)
class Sections:
    """Critical sections, one row per interfering interval pair (robot ``i < j``)."""

    i: np.ndarray
    j: np.ndarray
    Li: np.ndarray
    Ui: np.ndarray
    Lj: np.ndarray
    Uj: np.ndarray
    follow_ok: np.ndarray
    i_start: np.ndarray  # j's interval passes within 2r of i's start point: i must go first
    j_start: np.ndarray
    i_goal: np.ndarray   # j's interval passes within 2r of i's goal point (matters when parked)
    j_goal: np.ndarray

    def __len__(self) -> int:
        return len(self.i)

    @staticmethod
    def from_rows(rows: list[tuple]) -> "Sections":
        """Rows of ``(i, j, Li, Ui, Lj, Uj, follow_ok[, i_start, j_start, i_goal, j_goal])``
        (missing flags are False)."""
        rows = [tuple(r) + (False,) * (11 - len(r)) for r in rows]
        if not rows:
            z = np.zeros(0)
            b = z.astype(bool)
            return Sections(z.astype(np.int64), z.astype(np.int64), z, z, z, z, b, b, b, b, b)
        a = list(zip(*rows))
        return Sections(np.asarray(a[0], np.int64), np.asarray(a[1], np.int64),
                        *(np.asarray(a[k], float) for k in range(2, 6)),
                        *(np.asarray(a[k], bool) for k in range(6, 11)))


# --------------------------------------------------------------------------- geometry -> sections
def _runs(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split sorted integer indices into runs of consecutive values: returns (run id per index,
    start/end index of each run as a (n_runs, 2) array)."""
    brk = np.concatenate([[True], np.diff(idx) > 1])
    rid = np.cumsum(brk) - 1
    starts = idx[brk]
    ends = idx[np.concatenate([brk[1:], [True]])]
    return rid, np.stack([starts, ends], axis=1)


def _find(parent: list[int], a: int) -> int:
    while parent[a] != a:
        parent[a] = parent[parent[a]]
        a = parent[a]
    return a


def _pair_sections(si, pi, ti, sj, pj, tj, thr, touch, ds, cos_follow, mi, mj):
    """Critical sections of one robot pair from their samples (see `find_sections`); ``mi`` /
    ``mj`` are the samples of either path within ``thr`` of the other path."""
    if len(mi) == 0 or len(mj) == 0:
        return []
    d2 = ((pi[mi, None, :] - pj[None, mj, :]) ** 2).sum(-1)
    hit = d2 < thr * thr
    if not hit.any():
        return []
    r, c = np.nonzero(hit)
    gi, gj = mi[r], mj[c]  # full sample indices of every interfering cell
    dcell = d2[r, c]
    ui, inv_i = np.unique(gi, return_inverse=True)
    uj, inv_j = np.unique(gj, return_inverse=True)
    rid_i, _ = _runs(ui)
    rid_j, _ = _runs(uj)
    ci, cj = rid_i[inv_i], rid_j[inv_j]  # run of each cell on either side
    n_i = int(ci.max()) + 1
    parent = list(range(n_i + int(cj.max()) + 1))
    for a, b in set(zip(ci.tolist(), (cj + n_i).tolist())):
        ra, rb = _find(parent, a), _find(parent, b)
        if ra != rb:
            parent[ra] = rb
    comp_of_run = np.array([_find(parent, a) for a in range(n_i)])
    comp_of_cell = comp_of_run[ci]
    dots = (ti[gi] * tj[gj]).sum(1)
    last_i, last_j = len(si) - 1, len(sj) - 1
    touch2 = touch * touch
    comps = []
    for comp in np.unique(comp_of_cell):
        sel = comp_of_cell == comp
        a, b, d = gi[sel], gj[sel], dcell[sel]
        # a standing robot (on its start, or parked on its goal) blocks the other robot when
        # the other's path passes within 2r (+ sampling slack) of that point
        flags = [bool(np.any(d[a == 0] < touch2)), bool(np.any(d[b == 0] < touch2)),
                 bool(np.any(d[a == last_i] < touch2)), bool(np.any(d[b == last_j] < touch2))]
        comps.append([si[a].min() - ds, si[a].max() + ds, sj[b].min() - ds, sj[b].max() + ds,
                      [dots[sel]], flags])
    # Merge components whose (padded) intervals overlap on either path until none do:
    # afterwards, outside [Li, Ui] robot i cannot touch robot j inside [Lj, Uj] and vice versa.
    merged = True
    while merged and len(comps) > 1:
        merged = False
        for x in range(len(comps)):
            for y in range(x + 1, len(comps)):
                A, B = comps[x], comps[y]
                if (A[0] < B[1] and B[0] < A[1]) or (A[2] < B[3] and B[2] < A[3]):
                    comps[x] = [min(A[0], B[0]), max(A[1], B[1]), min(A[2], B[2]),
                                max(A[3], B[3]), A[4] + B[4],
                                [p or q for p, q in zip(A[5], B[5])]]
                    del comps[y]
                    merged = True
                    break
            if merged:
                break
    out = []
    for Li, Ui, Lj, Uj, dl, flags in comps:
        d = np.concatenate(dl)
        out.append((max(0.0, Li), min(si[-1], Ui), max(0.0, Lj), min(sj[-1], Uj),
                    bool(np.median(d) >= cos_follow), *flags))
    return out


def find_sections(paths: list[np.ndarray], radius: float, margin: float, *,
                  ds: float | None = None, follow_angle_deg: float = 30.0) -> Sections:
    """Critical sections of all robot pairs.

    Paths are sampled every ``ds`` metres (default ``min(r/2, (2r+margin)/4)``); sample pairs
    closer than ``2r + margin`` interfere. Runs of interfering samples on both paths that touch
    form one section; its intervals are padded by ``ds`` (conservative against the sampling) and
    sections of a pair whose intervals overlap are merged. A section allows *following* when the
    median cosine between the two paths' tangents over its interfering sample pairs is at least
    ``cos(follow_angle_deg)`` (same direction of travel along the overlap).
    """
    thr = 2.0 * radius + margin
    if ds is None:
        ds = min(radius / 2.0, thr / 4.0)
    samples = [resample(p, ds) for p in paths]
    sample_geoms = [shapely.points(smp[1]) for smp in samples]
    # candidate pairs: polylines within thr of each other (exact, via an STRtree)
    lines = [shapely.LineString(p) for p in paths]
    a, b = shapely.STRtree(lines).query(lines, predicate="dwithin", distance=thr)
    keep = a < b
    ii, jj = a[keep], b[keep]
    order = np.lexsort((jj, ii))
    ii, jj = ii[order], jj[order]
    cos_follow = float(np.cos(np.deg2rad(follow_angle_deg)))
    rows = []
    for i, j in zip(ii.tolist(), jj.tolist()):
        si, pi, ti = samples[i]
        sj, pj, tj = samples[j]
        mi = np.nonzero(shapely.dwithin(sample_geoms[i], lines[j], thr))[0]
        mj = np.nonzero(shapely.dwithin(sample_geoms[j], lines[i], thr))[0]
        rows.extend((i, j, *sec) for sec in _pair_sections(
            si, pi, ti, sj, pj, tj, thr, 2.0 * radius + ds / 2.0, ds, cos_follow, mi, mj))
    return Sections.from_rows(rows)


# --------------------------------------------------------------------------- the graph
@dataclass(frozen=True, eq=False)
class CoordGraph:
    """Coordination graph; all arrays are numpy. ``V`` nodes, ``E`` joint edges, ``B`` blocks,
    ``R`` regions. Nodes are sorted by (robot, L, U); node ``v`` of robot ``i`` lies in
    ``robot_ptr[i] <= v < robot_ptr[i+1]``. Timing events: ``entry(v) = v``, ``exit(v) = V + v``,
    ``goal(i) = 2V + i``."""

    n_robots: int
    length: np.ndarray          # (N,) path length [m]
    speed: np.ndarray           # (N,) [m/s]
    release: np.ndarray         # (N,) earliest departure [s]
    headway: float              # following time headway [s]
    park_at_goal: bool
    node_robot: np.ndarray      # (V,)
    node_L: np.ndarray          # (V,) arc length where the interval starts
    node_U: np.ndarray          # (V,)
    node_t_in: np.ndarray       # (V,) nominal (unhindered) entry time
    node_t_out: np.ndarray      # (V,) nominal exit time
    node_edge: np.ndarray       # (V,) joint edge of this node
    node_block: np.ndarray      # (V,)
    node_region: np.ndarray     # (V,)
    robot_ptr: np.ndarray       # (N+1,)
    prec_edges: np.ndarray      # (2, P) consecutive nodes along each robot
    joint_edges: np.ndarray     # (2, E) u (robot i) -- v (robot j), i < j
    edge_follow_ok: np.ndarray  # (E,) bool
    edge_forced: np.ndarray     # (E,) int8: +1 u must go first, -1 v must go first, 0 free
    edge_region: np.ndarray     # (E,)
    edge_gain: np.ndarray       # (E,) shorter overlap length [m]: default following score
    block_robot: np.ndarray     # (B,)
    robot_block_ptr: np.ndarray  # (N+1,) blocks of robot i: robot_block_ptr[i] .. [i+1]-1
    forced_block_edges: np.ndarray  # (2, F) block that must come first -> block after it
    region_cap: np.ndarray      # (R,) max following edges
    region_n_robots: np.ndarray  # (R,)
    follow_cap_ratio: float
    event_base: np.ndarray      # (2V+N,) release + s / v: earliest time of every event
    chain_src: np.ndarray       # (C,) consecutive events along each robot
    chain_dst: np.ndarray
    chain_w: np.ndarray         # travel time between them

    @property
    def n_nodes(self) -> int:
        return len(self.node_robot)

    @property
    def n_edges(self) -> int:
        return self.joint_edges.shape[1]

    @property
    def n_blocks(self) -> int:
        return len(self.block_robot)

    @property
    def n_regions(self) -> int:
        return len(self.region_cap)

    @property
    def nominal_completion(self) -> np.ndarray:
        """Completion time of every robot if nobody waits."""
        return self.release + self.length / self.speed

    def edge_index(self) -> tuple[np.ndarray, np.ndarray]:
        """``(edge_index (2, P + 2E), edge_kind (P + 2E,))`` for torch-geometric: precedence
        edges (kind 0) then every joint edge in both directions (kind 1 for u->v, 2 for v->u)."""
        je = self.joint_edges
        ei = np.concatenate([self.prec_edges, je, je[::-1]], axis=1)
        kind = np.concatenate([np.zeros(self.prec_edges.shape[1], np.int64),
                               np.ones(je.shape[1], np.int64), np.full(je.shape[1], 2, np.int64)])
        return ei, kind

    def node_features(self) -> np.ndarray:
        """Per-node features ``(V, 6)``: L, U, U-L [m], nominal entry, exit [s], normalised
        position along the path (handy GNN input; units kept, normalise downstream)."""
        r = self.node_robot
        return np.stack([self.node_L, self.node_U, self.node_U - self.node_L, self.node_t_in,
                         self.node_t_out, self.node_L / self.length[r]], axis=1)


def _union_find_labels(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    parent = list(range(n))
    for x, y in zip(a.tolist(), b.tolist()):
        rx, ry = _find(parent, x), _find(parent, y)
        if rx != ry:
            parent[rx] = ry
    roots = np.array([_find(parent, x) for x in range(n)], dtype=np.int64)
    _, labels = np.unique(roots, return_inverse=True)
    return labels.astype(np.int64)


def graph_from_sections(length: np.ndarray, speed: np.ndarray, release: np.ndarray,
                        sections: Sections, *, headway: float, park_at_goal: bool = False,
                        follow_cap_ratio: float = 0.5) -> CoordGraph:
    """Assemble a `CoordGraph` from critical sections (geometry-free, used by the property
    tests with random sections). Raises `InfeasibleInstanceError` on contradictory forced
    orders."""
    length = np.asarray(length, float)
    speed = np.asarray(speed, float)
    release = np.asarray(release, float)
    n = len(length)
    m = len(sections)
    if m and (sections.i >= sections.j).any():
        raise ValueError("sections: every row needs robot i < robot j")
    if m and ((sections.Li >= sections.Ui).any() or (sections.Lj >= sections.Uj).any()):
        raise ValueError("sections: every interval needs L < U")
    # raw nodes: 2k on robot i, 2k+1 on robot j, then sort by (robot, L, U)
    rob = np.empty(2 * m, np.int64)
    rob[0::2], rob[1::2] = sections.i, sections.j
    L = np.empty(2 * m)
    L[0::2], L[1::2] = sections.Li, sections.Lj
    U = np.empty(2 * m)
    U[0::2], U[1::2] = sections.Ui, sections.Uj
    order = np.lexsort((U, L, rob))
    new_id = np.empty(2 * m, np.int64)
    new_id[order] = np.arange(2 * m)
    rob, L, U = rob[order], L[order], U[order]
    joint = np.stack([new_id[0::2], new_id[1::2]]) if m else np.zeros((2, 0), np.int64)
    V = 2 * m
    node_edge = np.empty(V, np.int64)
    node_edge[joint[0]] = np.arange(m)
    node_edge[joint[1]] = np.arange(m)
    robot_ptr = np.searchsorted(rob, np.arange(n + 1)).astype(np.int64)
    same = rob[1:] == rob[:-1] if V else np.zeros(0, bool)
    prec = np.stack([np.nonzero(same)[0], np.nonzero(same)[0] + 1]).astype(np.int64)

    # blocks: maximal runs of (strictly) overlapping intervals on one robot
    node_block = np.empty(V, np.int64)
    b = -1
    for i in range(n):
        cur_u = -np.inf
        for v in range(robot_ptr[i], robot_ptr[i + 1]):
            if L[v] >= cur_u:
                b += 1
                cur_u = U[v]
            else:
                cur_u = max(cur_u, U[v])
            node_block[v] = b
    n_blocks = b + 1
    block_robot = np.empty(n_blocks, np.int64)
    block_robot[node_block] = rob
    robot_block_ptr = np.searchsorted(block_robot, np.arange(n + 1)).astype(np.int64)

    # forced orders
    u, v = joint
    ru, rv = rob[u], rob[v]
    # u is robot i's node of section k (new_id[2k]); flags are per section = per edge
    u_start, v_start = sections.i_start, sections.j_start
    if park_at_goal:
        u_goal, v_goal = sections.i_goal, sections.j_goal
    else:
        u_goal = v_goal = np.zeros(m, bool)
    want_u = u_start | v_goal
    want_v = v_start | u_goal
    bad = np.nonzero(want_u & want_v)[0]
    if len(bad):
        e = int(bad[0])
        i, j = int(ru[e]), int(rv[e])
        reasons = [f"robot {i} stands on its start in robot {j}'s way" if u_start[e] else "",
                   f"robot {j} stands on its start in robot {i}'s way" if v_start[e] else "",
                   f"robot {i} parks on its goal in robot {j}'s way" if u_goal[e] else "",
                   f"robot {j} parks on its goal in robot {i}'s way" if v_goal[e] else ""]
        more = f" and {len(bad) - 1} more conflicting section(s)" if len(bad) > 1 else ""
        raise InfeasibleInstanceError(
            f"robots {i} and {j}: no passing order is possible ("
            + "; ".join(r for r in reasons if r) + ")" + more, (i, j),
            list(zip(ru[bad].tolist(), rv[bad].tolist())))
    forced = np.where(want_u, 1, np.where(want_v, -1, 0)).astype(np.int8)
    fu = forced != 0
    first_node = np.where(forced > 0, u, v)[fu]
    second_node = np.where(forced > 0, v, u)[fu]
    forced_block_edges = np.stack([node_block[first_node], node_block[second_node]]) \
        if fu.any() else np.zeros((2, 0), np.int64)

    # regions: blocks connected by joint edges
    block_region = _union_find_labels(n_blocks, node_block[u], node_block[v])
    n_regions = int(block_region.max()) + 1 if n_blocks else 0
    node_region = block_region[node_block] if V else np.zeros(0, np.int64)
    edge_region = node_region[u] if m else np.zeros(0, np.int64)
    region_n_robots = np.zeros(n_regions, np.int64)
    if n_blocks:
        pairs = np.unique(np.stack([block_region, block_robot], 1), axis=0)
        region_n_robots = np.bincount(pairs[:, 0], minlength=n_regions)
    region_cap = np.floor(follow_cap_ratio * region_n_robots + 1e-9).astype(np.int64)

    # timing events along each robot: (s, kind) with exit=0 < entry=1 < goal=2 at equal s, so
    # touching intervals are left before the next is entered
    ev_robot = np.concatenate([rob, rob, np.arange(n)])
    ev_s = np.concatenate([L, U, length])
    ev_kind = np.concatenate([np.ones(V), np.zeros(V), np.full(n, 2.0)])
    ev_order = np.lexsort((ev_kind, ev_s, ev_robot))
    same_r = ev_robot[ev_order][1:] == ev_robot[ev_order][:-1]
    chain_src = ev_order[:-1][same_r]
    chain_dst = ev_order[1:][same_r]
    chain_w = (ev_s[chain_dst] - ev_s[chain_src]) / speed[ev_robot[chain_src]]
    event_base = release[ev_robot] + ev_s / speed[ev_robot]

    g = CoordGraph(
        n_robots=n, length=length, speed=speed, release=release, headway=float(headway),
        park_at_goal=bool(park_at_goal), node_robot=rob, node_L=L, node_U=U,
        node_t_in=release[rob] + L / speed[rob], node_t_out=release[rob] + U / speed[rob],
        node_edge=node_edge, node_block=node_block, node_region=node_region,
        robot_ptr=robot_ptr, prec_edges=prec, joint_edges=joint,
        edge_follow_ok=np.asarray(sections.follow_ok, bool)[: m].copy() if m else
        np.zeros(0, bool),
        edge_forced=forced, edge_region=edge_region,
        edge_gain=np.minimum(U[u] - L[u], U[v] - L[v]) if m else np.zeros(0),
        block_robot=block_robot, robot_block_ptr=robot_block_ptr,
        forced_block_edges=forced_block_edges.astype(np.int64), region_cap=region_cap,
        region_n_robots=region_n_robots, follow_cap_ratio=float(follow_cap_ratio),
        event_base=event_base, chain_src=chain_src.astype(np.int64),
        chain_dst=chain_dst.astype(np.int64), chain_w=chain_w)
    # feasibility of the forced orders at block level (rank-independent): fails only if they
    # form a cycle together with the robots' own orders
    block_order(g, np.zeros(n_blocks))
    return g


def list_schedule(n_robots: int, unit_robot: np.ndarray, robot_unit_ptr: np.ndarray,
                  forced_units: np.ndarray, key: np.ndarray) -> np.ndarray:
    """List scheduling of robot-chained units (blocks, or finer runs of nodes): repeatedly take,
    among every robot's next unit whose forced predecessors are all placed, the one with the
    smallest key (ties by unit id). Returns the position of every unit in the resulting total
    order (it respects each robot's own order and every forced order); units that could not be
    placed because the forced orders cannot all be met get -1."""
    n_units = len(unit_robot)
    keyl = np.asarray(key, float).tolist()
    indeg = np.bincount(forced_units[1], minlength=n_units).tolist() if n_units else []
    succ: list[list[int]] = [[] for _ in range(n_units)]
    for a, b in zip(forced_units[0].tolist(), forced_units[1].tolist()):
        succ[a].append(b)
    urob = unit_robot.tolist()
    cur = robot_unit_ptr[:-1].tolist()
    end = robot_unit_ptr[1:].tolist()
    heap = [(keyl[cur[i]], cur[i]) for i in range(n_robots) if cur[i] < end[i] and
            indeg[cur[i]] == 0]
    heapq.heapify(heap)
    pos = np.full(n_units, -1, np.int64)
    k = 0
    while heap:
        _, b = heapq.heappop(heap)
        pos[b] = k
        k += 1
        for s in succ[b]:
            indeg[s] -= 1
            if indeg[s] == 0 and cur[urob[s]] == s:
                heapq.heappush(heap, (keyl[s], s))
        i = urob[b]
        cur[i] += 1
        nb = cur[i]
        if nb < end[i] and indeg[nb] == 0:
            heapq.heappush(heap, (keyl[nb], nb))
    return pos


def block_order(g: CoordGraph, block_key: np.ndarray) -> np.ndarray:
    """`list_schedule` over blocks. Orienting every joint edge along the returned block order is
    deadlock-free. Raises `InfeasibleInstanceError` when the forced orders cannot all be met."""
    pos = list_schedule(g.n_robots, g.block_robot, g.robot_block_ptr, g.forced_block_edges,
                        block_key)
    if (pos < 0).any():
        # robots whose next block could not be placed (the cycle and those queued behind it)
        unplaced = np.nonzero(pos < 0)[0]
        first = unplaced[np.unique(g.block_robot[unplaced], return_index=True)[1]]
        stuck = sorted(int(g.block_robot[b]) for b in first)
        raise InfeasibleInstanceError(
            f"robots {stuck[:10]}{'...' if len(stuck) > 10 else ''}: forced passing orders "
            f"(robots standing on their start / parked on their goal in others' way) form a "
            f"cycle; no deadlock-free order exists", tuple(stuck))
    return pos


def build_graph(instance: "SchedulingInstance", *, ds: float | None = None,
                follow_angle_deg: float = 30.0, follow_cap_ratio: float = 0.5) -> CoordGraph:
    """Coordination graph of a `SchedulingInstance` (see module docstring)."""
    sections = find_sections(list(instance.paths), instance.radius, instance.margin, ds=ds,
                             follow_angle_deg=follow_angle_deg)
    return graph_from_sections(instance.lengths, instance.speed, instance.release, sections,
                               headway=instance.headway, park_at_goal=instance.park_at_goal,
                               follow_cap_ratio=follow_cap_ratio)
