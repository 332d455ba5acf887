"""``--set a.b=value`` overrides applied to the raw scenario mapping before validation."""
from __future__ import annotations

from typing import Any

import yaml

from robocoord.errors import UserError


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split ``fleet.count=64`` into (["fleet", "count"], 64); the value is read as YAML."""
    if "=" not in text:
        raise UserError(f"--set {text!r}: expected KEY.PATH=VALUE, e.g. --set fleet.count=64")
    key, raw = text.split("=", 1)
    path = [p for p in key.strip().split(".")]
    if not key.strip() or any(not p for p in path):
        raise UserError(f"--set {text!r}: the key path {key!r} is empty or has an empty part")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        raise UserError(f"--set {text!r}: the value is not valid YAML ({exc.__class__.__name__})") from None
    return path, value


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """Return a copy of ``data`` with each override applied; list items are addressed by index."""
    import copy

    out = copy.deepcopy(data)
    for text in overrides:
        path, value = parse_override(text)
        node: Any = out
        for i, part in enumerate(path):
            last = i == len(path) - 1
            where = ".".join(path[: i + 1])
            if isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    raise UserError(f"--set {text!r}: {where!r} is a list of {len(node)} items; "
                                    f"expected an index 0..{len(node) - 1}")
                if last:
                    node[int(part)] = value
                else:
                    node = node[int(part)]
            elif isinstance(node, dict):
                if last:
                    node[part] = value
                else:
                    if node.get(part) is None:
                        node[part] = {}
                    node = node[part]
            else:
                raise UserError(f"--set {text!r}: {'.'.join(path[:i])!r} is a value, not a mapping")
    return out
