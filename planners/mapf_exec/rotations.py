"""Rotation-free plans for action dependency graphs.

A synchronous grid plan may contain a *rotation*: agents that each move, in the same step, into
the cell another agent of the group is leaving, round a cycle (e.g. four agents turning round a
2x2 block). Standard MAPF allows it (PIBT produces it), but an action dependency graph cannot
execute it: each of those moves waits for the next agent to have *left* its cell (type-2 edges,
Hönig et al., RA-L 2019), so the dependencies form a cycle and the robots wait for ever. Nor can
real robots perform it safely with arbitrary delays. Plans fed to `build_adg` must therefore be
rotation-free: `RotationFreePIBT` plans so, `rotation_cycles` finds rotations in a joint move and
`dependency_cycle` checks a built ADG.
"""
from __future__ import annotations

import numpy as np

from planners.mapf.pibt import PIBT, pibt_step


def _follows(pos: np.ndarray, nxt: np.ndarray) -> np.ndarray:
    """``f[i] = j`` when agent i moves into the cell agent j occupies now (j != i), else -1."""
    where = {(int(r), int(c)): i for i, (r, c) in enumerate(pos)}
    f = np.full(len(pos), -1, dtype=np.int64)
    for i in np.flatnonzero((nxt != pos).any(axis=1)):
        j = where.get((int(nxt[i, 0]), int(nxt[i, 1])), -1)
        if j != i:
            f[i] = j
    return f


def rotation_cycles(pos: np.ndarray, nxt: np.ndarray) -> list[list[int]]:
    """The groups of agents that rotate in the joint move ``pos -> nxt`` (each a cycle of >= 3
    agents in following order; a 2-cycle would be a swap, which a valid plan never has)."""
    pos, nxt = np.asarray(pos, np.int64), np.asarray(nxt, np.int64)
    f = _follows(pos, nxt)
    state = np.zeros(len(pos), np.int8)            # 0 unseen, 1 on the current walk, 2 finished
    cycles: list[list[int]] = []
    for s in range(len(pos)):
        walk, v = [], s
        while v != -1 and state[v] == 0:
            state[v] = 1
            walk.append(v)
            v = int(f[v])
        if v != -1 and state[v] == 1:              # the walk closed on itself: a cycle
            cycles.append(walk[walk.index(v):])
        state[walk] = 2
    return cycles


def dependency_cycle(adg) -> list[tuple[int, int]] | None:  # noqa: ANN001 - planners.mapf_exec.adg.ADG
    """A cycle of moves ``(agent, move)`` in the ADG (type-1 and type-2 edges), or None if acyclic:
    an ADG with a cycle would stop its robots for ever."""
    nodes = [(i, k) for i in range(adg.n) for k in range(adg.n_moves(i))]

    def preds(u: tuple[int, int]) -> list[tuple[int, int]]:
        i, k = u
        return ([(i, k - 1)] if k > 0 else []) + list(adg.deps.get(u, ()))

    colour: dict[tuple[int, int], int] = {}
    for s in nodes:
        if s in colour:
            continue
        colour[s] = 1
        stack = [(s, iter(preds(s)))]
        path = [s]
        while stack:
            u, it = stack[-1]
            v = next(it, None)
            if v is None:
                colour[u] = 2
                stack.pop()
                path.pop()
            elif colour.get(v, 0) == 1:
                return path[path.index(v):]
            elif v not in colour:
                colour[v] = 1
                stack.append((v, iter(preds(v))))
                path.append(v)
    return None


class RotationFreePIBT(PIBT):
    """PIBT (Okumura et al. 2022) that never rotates, for plans executed through an ADG.

    After each PIBT step, for every rotation found, the lowest-priority agent of the cycle loses the
    candidate that closed it (it becomes the blocked sentinel) and the step is solved again, until
    the joint move is rotation-free. Candidate lists only shrink, so this ends; an agent keeps
    "stay" unless pushed, so the step stays conflict-free. Unlike `break_rotations` applied to
    plain PIBT's output (which PIBT would then propose again step after step), the next best moves
    are searched, so the agents get round each other.
    """

    def _joint_move(self, Q_from: np.ndarray, goal: np.ndarray, priority: np.ndarray | None = None) -> np.ndarray:
        G = self.graph
        prio = self.priority if priority is None else priority
        C = self._candidates(Q_from, goal)
        order = np.argsort(-prio, kind="stable").tolist()
        while True:
            Q_to = np.array(pibt_step(Q_from.tolist(), C.tolist(), order, G.F), dtype=np.int64)
            cycles = rotation_cycles(G.cells(Q_from), G.cells(Q_to))
            if not cycles:
                return Q_to
            for cyc in cycles:
                i = min(cyc, key=lambda a: prio[a])
                C[i, C[i] == Q_to[i]] = G.F
