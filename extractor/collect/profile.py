"""Site profiles: YAML files that say where the reports are and how to read a site's pages."""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

from extractor.errors import RulesError
from extractor.rules import _read_yaml, _validate

PROFILES_DIR = Path(__file__).resolve().parent / "profiles"


@functools.cache
def _schema() -> dict[str, Any]:
    return json.loads((PROFILES_DIR / "profile.schema.json").read_text(encoding="utf-8"))


@functools.cache
def _defaults() -> dict[str, Any]:
    return _read_yaml(PROFILES_DIR / "_defaults.yaml")


def profile_names() -> list[str]:
    """The profiles shipped with the package."""
    return sorted(p.stem for p in PROFILES_DIR.glob("*.yaml") if not p.name.startswith("_"))


def _resolve(ref: str, relative_to: Path | None) -> Path:
    """A profile name (shipped) or a path to a YAML file."""
    candidates = []
    if relative_to is not None:
        candidates.append(relative_to / ref)
    candidates.append(Path(ref))
    if "/" not in ref and not ref.endswith((".yaml", ".yml")):
        candidates.append(PROFILES_DIR / f"{ref}.yaml")
    for path in candidates:
        if path.is_file():
            return path.resolve()
    raise RulesError(f"profile {ref!r} not found (shipped profiles: {', '.join(profile_names())})")


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge two profile mappings: mappings key by key, everything else replaced."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _load_raw(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    if path in seen:
        raise RulesError(f"profile {path} extends itself through {' -> '.join(map(str, seen))}")
    data = _read_yaml(path)
    if not isinstance(data, dict):
        raise RulesError(f"{path}: a profile is a YAML mapping")
    parent = data.get("extends")
    if parent:
        return merge(_load_raw(_resolve(parent, path.parent), (*seen, path)), data)
    return data


def load_profile(ref: str | Path, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Load a profile by name or path, merged over the defaults and its `extends` chain, validated."""
    path = _resolve(str(ref), None)
    data = merge(_defaults(), _load_raw(path))
    if overrides:
        data = merge(data, overrides)
    _validate(data, _schema(), path)
    return data
