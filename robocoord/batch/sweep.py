"""Sweep files: a base scenario, the overrides to vary, and the seeds (``robocoord batch SWEEP``).

Format (YAML, ``yaml.safe_load``; unknown keys are errors)::

    name: grid_goto_sweep             # optional; default: the file name without .yaml
    description: goto on the warehouse map at three fleet sizes
    base: ../grid_goto.yaml           # the base scenario: a path relative to this file, or an inline mapping
    set: {horizon: 64}                # overrides applied to every run (dotted keys allowed)
    grid:                             # cartesian product of these lists
      fleet.count: [16, 32, 64]
      controller: [{name: goto}, {name: goto, label: slow, params: {max_speed: 0.5}}]
    zip:                              # optional: lists of equal length advanced together
      horizon: [64, 128]
      dt: [1.0, 0.5]
    seeds: 10                         # seeds 0..9, or an explicit list such as [0, 1, 7]
    timeout_s: 600                    # per run (optional; default: no limit)
    metrics: [throughput, vertex_conflicts]   # optional: the metrics tables and plots show

Every run is ``base + set + one grid point (x one zip row) + seed``; ``grid`` and ``zip`` combine as a
product (each grid point with each zip row). Keys are dotted paths into the scenario
(``fleet.count``, ``controller.params.gain``, ``world.obstacles.0.radius``), applied parents first so
``controller`` and ``controller.params.gain`` may both be swept. A key may appear in only one of
``set``, ``grid`` and ``zip``. The *group* of a run is its grid/zip point (everything but the seed):
tables and plots aggregate over the seeds of a group.

A run's id is the first 16 hex digits of the SHA-256 of the canonical JSON of (base scenario data,
overrides, seed), so the same run gets the same id in every process, on every machine, in any order
of the sweep's keys; changing the base scenario or any override gives new ids, and ``--resume``
never reuses a result computed from a different scenario.

The whole sweep is validated before any run starts: each combination goes through
:func:`robocoord.scenario.scenario_from_dict`, and the first failure is reported with the sweep
file, the combination and the field.
"""
from __future__ import annotations

import copy
import hashlib
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from robocoord.errors import ScenarioError, UserError

MAX_RUNS = 1_000_000


class SweepFile(BaseModel):
    """The schema of a sweep file (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")
    name: Optional[str] = Field(default=None, pattern=r"^[A-Za-z0-9_.\-]+$")
    description: str = ""
    base: Union[str, dict[str, Any]] = Field(description="base scenario: path relative to the sweep file, or a mapping")
    set: dict[str, Any] = Field(default_factory=dict)
    grid: dict[str, list[Any]] = Field(default_factory=dict)
    zip: dict[str, list[Any]] = Field(default_factory=dict)
    seeds: Union[Annotated[int, Field(ge=1, le=MAX_RUNS)], list[Annotated[int, Field(ge=0)]]] = 1
    timeout_s: Optional[Annotated[float, Field(gt=0)]] = None
    metrics: list[str] = Field(default_factory=list)

    @field_validator("grid", "zip")
    @classmethod
    def _non_empty_lists(cls, v: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for k, vals in v.items():
            _check_key(k)
            if not vals:
                raise ValueError(f"{k!r}: empty list; give at least one value")
        return v

    @field_validator("set")
    @classmethod
    def _keys(cls, v: dict[str, Any]) -> dict[str, Any]:
        for k in v:
            _check_key(k)
        return v

    @field_validator("seeds")
    @classmethod
    def _unique_seeds(cls, v: Any) -> Any:
        if isinstance(v, list):
            if not v:
                raise ValueError("empty list; give at least one seed")
            dup = sorted({s for s in v if v.count(s) > 1})
            if dup:
                raise ValueError(f"seeds repeat: {dup}")
        return v


def _check_key(key: str) -> None:
    if not key or any(not part for part in key.split(".")):
        raise ValueError(f"{key!r}: a dotted key path with no empty parts is expected, e.g. fleet.count")
    if key == "seed":
        raise ValueError("'seed' is not swept here; use the top-level 'seeds' (a count or a list)")


@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep: the validated-later scenario data and where it sits in the sweep."""

    run_id: str
    index: int
    group: dict[str, Any]          # the grid/zip point, in the sweep's key order
    group_label: str
    seed: int
    overrides: dict[str, Any]      # set + point, dotted keys
    scenario_data: dict[str, Any] = field(repr=False)


@dataclass
class Sweep:
    name: str
    description: str
    source: str                    # the sweep file (or "<sweep>") for messages
    base_source: str               # the base scenario file (or "<inline base>")
    base_dir: Path                 # folder the scenario's relative paths are resolved against
    base_data: dict[str, Any]
    set: dict[str, Any]
    grid: dict[str, list[Any]]
    zip: dict[str, list[Any]]
    seeds: list[int]
    timeout_s: Optional[float]
    metrics: list[str]
    path: Optional[Path] = None

    @property
    def group_keys(self) -> list[str]:
        return list(self.grid) + list(self.zip)

    def points(self) -> list[dict[str, Any]]:
        """The grid/zip points (groups), grid keys varying slowest-first in file order."""
        grid_pts = [dict(zip(self.grid, vals)) for vals in itertools.product(*self.grid.values())]
        n_zip = len(next(iter(self.zip.values()))) if self.zip else 1
        zip_rows = [{k: v[i] for k, v in self.zip.items()} for i in range(n_zip)]
        return [{**g, **z} for g in grid_pts for z in zip_rows]

    def value_labels(self) -> dict[str, dict[str, str]]:
        """Per swept key: canonical JSON of each value -> a label unique among that key's values."""
        return {k: distinct_labels(list(v)) for k, v in {**self.grid, **self.zip}.items()}

    def runs(self) -> list[RunSpec]:
        out = []
        labels = self.value_labels()
        for point in self.points():
            overrides = {**self.set, **point}
            label = group_label(point, labels)
            for seed in self.seeds:
                data = merged_data(self.base_data, overrides, self.source)
                data["seed"] = seed
                out.append(RunSpec(run_id=run_id(self.base_data, overrides, seed), index=len(out), group=point,
                                   group_label=label, seed=seed, overrides=overrides, scenario_data=data))
        return out

    def validate(self) -> None:
        """Every combination through the scenario schema; the first bad one raises :class:`UserError`."""
        from robocoord.scenario import scenario_from_dict

        points = self.points()
        bad: list[tuple[int, dict[str, Any], ScenarioError]] = []
        for i, point in enumerate(points):
            data = merged_data(self.base_data, {**self.set, **point}, self.source)
            data["seed"] = self.seeds[0]
            try:
                scenario_from_dict(data, source=self.base_source, base_dir=self.base_dir)
            except ScenarioError as exc:
                bad.append((i, point, exc))
        if not bad:
            return
        i, point, exc = bad[0]
        what = f"combination {i + 1} of {len(points)} ({group_label(point, self.value_labels()) or 'no swept keys'})"
        lines = [f"{self.source}: {what} does not give a valid scenario (base {self.base_source}):"]
        lines += [f"  {loc or '<top level>'}: {msg}" for loc, msg in exc.problems]
        if len(bad) > 1:
            lines.append(f"  ({len(bad) - 1} more of the {len(points)} combinations are invalid too: "
                         + ", ".join(str(j + 1) for j, _, _ in bad[1:6]) + (", ..." if len(bad) > 6 else "") + ")")
        raise UserError("\n".join(lines))


# --- helpers ---------------------------------------------------------------------------------------
def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)


def run_id(base_data: dict[str, Any], overrides: dict[str, Any], seed: int) -> str:
    payload = canonical_json({"base": base_data, "overrides": overrides, "seed": int(seed)})
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def value_label(v: Any) -> str:
    """How a swept value reads in tables: a controller mapping by its label or name, else compact."""
    if isinstance(v, dict):
        if "name" in v and isinstance(v["name"], str):
            return str(v.get("label") or v["name"])
        return json.dumps(v, sort_keys=True, separators=(",", ":"))
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def full_value_label(v: Any) -> str:
    """A longer label that shows a controller's parameters: ``goto(gain=2)``."""
    if isinstance(v, dict) and isinstance(v.get("name"), str):
        params = v.get("params") or {}
        inner = ", ".join(f"{k}={value_label(x)}" for k, x in sorted(params.items()))
        return f"{v.get('label') or v['name']}({inner})"
    return value_label(v)


def distinct_labels(values: list[Any]) -> dict[str, str]:
    """canonical JSON of each value -> its label; where short labels collide, longer ones, then JSON."""
    uniq = {canonical_json(v): v for v in values}

    def collide(labels: dict[str, str]) -> set[str]:
        seen: dict[str, int] = {}
        for lab in labels.values():
            seen[lab] = seen.get(lab, 0) + 1
        return {lab for lab, n in seen.items() if n > 1}

    labels = {k: value_label(v) for k, v in uniq.items()}
    dup = collide(labels)
    labels = {k: full_value_label(uniq[k]) if lab in dup else lab for k, lab in labels.items()}
    dup = collide(labels)
    return {k: k if lab in dup else lab for k, lab in labels.items()}


def group_label(point: dict[str, Any], labels: Optional[dict[str, dict[str, str]]] = None) -> str:
    """``fleet.count=16, controller=slow``; ``labels`` (key -> distinct_labels) disambiguates values."""
    parts = []
    for k, v in point.items():
        lab = (labels or {}).get(k, {}).get(canonical_json(v)) or value_label(v)
        parts.append(f"{k}={lab}")
    return ", ".join(parts)


def set_path(data: dict[str, Any], key: str, value: Any, where: str) -> None:
    """Set a dotted key in raw scenario data (the same rules as ``--set``: list items by index)."""
    path = key.split(".")
    node: Any = data
    for i, part in enumerate(path):
        last = i == len(path) - 1
        here = ".".join(path[: i + 1])
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise UserError(f"{where}: key {key!r}: {here!r} is a list of {len(node)} items; "
                                f"expected an index 0..{len(node) - 1}")
            if last:
                node[int(part)] = copy.deepcopy(value)
            else:
                node = node[int(part)]
        elif isinstance(node, dict):
            if last:
                node[part] = copy.deepcopy(value)
            else:
                if node.get(part) is None:
                    node[part] = {}
                node = node[part]
        else:
            raise UserError(f"{where}: key {key!r}: {'.'.join(path[:i])!r} is a value, not a mapping")


def merged_data(base: dict[str, Any], overrides: dict[str, Any], where: str) -> dict[str, Any]:
    """Base data with the overrides applied, parents before children (``controller`` before ``controller.params.x``)."""
    data = copy.deepcopy(base)
    for key in sorted(overrides, key=lambda k: k.count(".")):
        set_path(data, key, overrides[key], where)
    return data


def _problems(exc: ValidationError) -> list[tuple[str, str]]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith(("int", "list[", "function-")))
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key; a sweep file has: " + ", ".join(SweepFile.model_fields)
        elif err["type"] == "missing":
            msg = "required field is missing"
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        inp = err.get("input")
        if err["type"] not in {"missing", "extra_forbidden"} and inp is not None and not isinstance(inp, (dict, list)):
            msg += f" (got {inp!r})"
        out.append((loc, msg))
    return out


def sweep_from_dict(data: Any, *, source: str = "<sweep>", base_dir: Path | str = ".",
                    extra_set: Optional[dict[str, Any]] = None, default_name: str = "sweep") -> Sweep:
    """Parse and check a sweep mapping (not yet the scenarios: call :meth:`Sweep.validate`)."""
    from robocoord.scenario import load_yaml

    if not isinstance(data, dict):
        raise UserError(f"{source}: expected a mapping of sweep fields, got {type(data).__name__}")
    try:
        sf = SweepFile.model_validate(data)
    except ValidationError as exc:
        lines = [f"{source}: invalid sweep"] + [f"  {loc or '<top level>'}: {msg}" for loc, msg in _problems(exc)]
        raise UserError("\n".join(lines)) from None
    base_dir = Path(base_dir)
    if isinstance(sf.base, str):
        base_path = Path(sf.base).expanduser()
        base_path = base_path if base_path.is_absolute() else base_dir / base_path
        if not base_path.is_file():
            raise UserError(f"{source}: base: scenario file not found: {base_path}")
        base_data = load_yaml(base_path)
        base_source, scen_dir = str(base_path.resolve()), base_path.resolve().parent
    else:
        base_data, base_source, scen_dir = dict(sf.base), f"{source} (inline base)", base_dir.resolve()
    zip_lens = {k: len(v) for k, v in sf.zip.items()}
    if len(set(zip_lens.values())) > 1:
        raise UserError(f"{source}: zip: lists must have the same length, got "
                        + ", ".join(f"{k}: {n}" for k, n in zip_lens.items()))
    for k in extra_set or {}:
        try:
            _check_key(k)
        except ValueError as exc:
            raise UserError(f"--set: {exc}") from None
    set_ = {**sf.set, **(extra_set or {})}
    seen: dict[str, str] = {}
    for part, keys in (("set", set_), ("grid", sf.grid), ("zip", sf.zip)):
        for k in keys:
            if k in seen:
                raise UserError(f"{source}: key {k!r} is in both '{seen[k]}' and '{part}'; give it in one place")
            seen[k] = part
    seeds = list(range(sf.seeds)) if isinstance(sf.seeds, int) else list(sf.seeds)
    n_points = 1
    for v in sf.grid.values():
        n_points *= len(v)
    n_points *= max(zip_lens.values(), default=1)
    if n_points * len(seeds) > MAX_RUNS:
        raise UserError(f"{source}: {n_points} combinations x {len(seeds)} seeds is more than {MAX_RUNS} runs")
    return Sweep(name=sf.name or default_name, description=sf.description, source=source, base_source=base_source,
                 base_dir=scen_dir, base_data=base_data, set=set_, grid=dict(sf.grid), zip=dict(sf.zip),
                 seeds=seeds, timeout_s=sf.timeout_s, metrics=list(sf.metrics))


def load_sweep(path: str | Path, overrides: Optional[list[str]] = None, validate: bool = True) -> Sweep:
    """Read, check and (by default) validate every combination of a sweep file.

    ``overrides`` are ``KEY.PATH=VALUE`` strings (``--set``) added to the sweep's ``set``.
    """
    from robocoord.overrides import parse_override
    from robocoord.scenario import load_yaml

    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such sweep file")
    data = load_yaml(path)
    extra = {}
    for text in overrides or []:
        keys, value = parse_override(text)
        extra[".".join(keys)] = value
    sweep = sweep_from_dict(data, source=str(path), base_dir=path.resolve().parent, extra_set=extra,
                            default_name=path.stem)
    sweep.path = path
    if validate:
        sweep.validate()
    return sweep
