"""Dotted overrides of a scenario (``assets.Curiosity.min_elevation_deg: 15``), checked first.

Variants of a comparison and the runs of a sweep are written as dotted
overrides of a base config (list items by name or index).  A path that does
not exist is a :class:`relay.errors.RelayInputError` listing the valid keys (or
item names) at the level where it goes wrong: :func:`check_override_path`
walks the scenario model (:class:`relay.config.Scenario`), :func:`resolve`
checks every path and then applies the overrides.
"""

from __future__ import annotations

import copy
import types
import typing
from pathlib import Path
from typing import Any, Mapping

from pydantic import BaseModel

from ..config import (Scenario, list_item_index, load_scenario, read_yaml, resolve_extends, scenario_from_dict,
                      set_dotted)
from ..errors import RelayInputError


def _unwrap(tp):
    """Strip Optional/Annotated; return (kind, inner) with kind in model|list|dict|union|leaf."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return _unwrap(args[0])
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        return ("union", models) if models else ("leaf", None)
    if origin in (list, tuple):
        args = typing.get_args(tp)
        return ("list", args[0] if args else None)
    if origin is dict:
        args = typing.get_args(tp)
        return ("dict", args[1] if len(args) > 1 else None)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return ("model", tp)
    return ("leaf", None)


def _model_keys(models) -> list[str]:
    keys: list[str] = []
    for m in models:
        for k in m.model_fields:
            if k not in keys and k != "path":
                keys.append(k)
    return keys


def check_override_path(dotted: str, data: dict | None = None, source: str = "override") -> None:
    """Raise :class:`RelayInputError` if ``dotted`` names no key of a scenario.

    The message lists the valid keys at the level where the path goes wrong
    (item names for lists, when ``data``, the raw config, is given).
    """
    parts = str(dotted).split(".")
    kinds = [("model", [Scenario])]
    node = data
    walked: list[str] = []
    for part in parts:
        kind, inner = kinds[-1]
        where = ".".join(walked) or "(top level)"
        if kind in ("model", "union"):
            models = inner if isinstance(inner, list) else [inner]
            # a discriminated union (orbit types): pick the member the data names, if any
            if len(models) > 1 and isinstance(node, dict) and "type" in node:
                typed = [m for m in models if "type" in m.model_fields and
                         node["type"] in (typing.get_args(m.model_fields["type"].annotation) or ())]
                models = typed or models
            fields = {}
            for m in models:
                fields.update({k: f for k, f in m.model_fields.items() if k != "path"})
            if part not in fields:
                raise RelayInputError(f"no key {part!r} under {where}; valid keys: "
                                      f"{', '.join(_model_keys(models))}", source=source, where=dotted)
            kinds.append(_unwrap(fields[part].annotation))
            node = node.get(part) if isinstance(node, dict) else None
        elif kind == "list":
            if isinstance(node, list):
                node = node[list_item_index(node, part, where, source, dotted)]
            else:
                node = None
            kinds.append(_unwrap(inner) if inner is not None else ("leaf", None))
        elif kind == "dict":
            node = node.get(part) if isinstance(node, dict) else None
            kinds.append(_unwrap(inner) if inner is not None else ("leaf", None))
        else:
            raise RelayInputError(f"{where} is a value, not a section; cannot set {part!r} in it",
                                  source=source, where=dotted)
        walked.append(part)


def raw_config(path: str | Path) -> dict:
    """The config file at ``path`` as a raw dict (its ``extends`` resolved), before validation."""
    p = Path(path)
    return resolve_extends(read_yaml(p), p.resolve())


def resolve(config: str | Path | Scenario, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """A scenario from a path or a Scenario, with dotted overrides (paths checked first)."""
    overrides = dict(overrides or {})
    if isinstance(config, Scenario):
        data = config.model_dump(mode="json")
        source = config.path or config.name
        for k in overrides:
            check_override_path(k, data, source=str(source))
        for k, v in overrides.items():
            set_dotted(data, k, copy.deepcopy(v), source=str(source))
        if not overrides:
            return config
        return scenario_from_dict(data, source=str(source))
    if overrides:
        data = raw_config(config)
        for k in overrides:
            check_override_path(k, data, source=str(config))
    return load_scenario(config, overrides=overrides or None)
