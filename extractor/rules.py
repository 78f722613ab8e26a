"""Load the rule and schema data files once, validate them, and fingerprint them for caching."""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from extractor import __version__
from extractor.errors import RulesError

PACKAGE_DIR = Path(__file__).resolve().parent
RULES_DIR = PACKAGE_DIR / "rules"


@functools.cache
def schemas_dir() -> Path:
    """Return the schemas/ folder: the repository's in a checkout, the bundled copy in a wheel."""
    for candidate in (PACKAGE_DIR.parent / "schemas", PACKAGE_DIR / "_schemas"):
        if (candidate / "document.schema.json").is_file():
            return candidate
    raise RulesError("schemas/ folder not found next to the package nor bundled inside it")


def _read_yaml(path: Path, raw: bytes | None = None) -> Any:
    """Parse a YAML file (or its bytes, already read) safely; RulesError when it cannot be read."""
    import yaml

    # libyaml's parser when PyYAML was built with it: the same safe loading, ten times faster,
    # which every worker process pays at start.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        text = (path.read_bytes() if raw is None else raw).decode("utf-8")
        return yaml.load(text, Loader=loader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise RulesError(f"cannot read rules file {path}: {exc}") from exc


def _validate(data: Any, schema: dict[str, Any], where: Path) -> None:
    import jsonschema

    # What jsonschema.validate does, less checking the schema itself on every load (half the
    # cost, paid by every worker at start): the schemas are checked once, by the test suite.
    validator = jsonschema.validators.validator_for(schema)(schema)
    try:
        error = jsonschema.exceptions.best_match(validator.iter_errors(data))
        if error is not None:
            raise error
    except jsonschema.ValidationError as exc:
        loc = "/".join(str(p) for p in exc.absolute_path)
        raise RulesError(f"{where}: {loc or '(top)'}: {exc.message}") from exc


def cache_dir() -> Path:
    """Where per-user caches go: $EXTRACTOR_CACHE_DIR, else the user's cache folder."""
    if os.environ.get("EXTRACTOR_CACHE_DIR"):
        return Path(os.environ["EXTRACTOR_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "extractor"


def _load_validated(path: Path, schema_path: Path) -> Any:
    """Parse a YAML file and validate it against a JSON schema, unless these exact bytes passed before.

    Validating the catalog takes a noticeable part of a worker's start. The same file against
    the same schema always gives the same answer, so a pass is remembered as an empty stamp file
    named by the hash of both; any edit to either makes a new name, and validation runs again.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RulesError(f"cannot read rules file {path}: {exc}") from exc
    data = _read_yaml(path, raw)
    if not schema_path.is_file():
        return data
    schema_bytes = schema_path.read_bytes()
    digest = hashlib.sha256(__version__.encode() + b"\0" + raw + b"\0" + schema_bytes)
    stamp = cache_dir() / "validated" / digest.hexdigest()[:32]
    if stamp.is_file():
        return data
    _validate(data, json.loads(schema_bytes.decode("utf-8")), path)
    try:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.touch()
    except OSError:  # a read-only home: validate again next time
        pass
    return data


@functools.cache
def load_rules(name: str) -> Any:
    """Load extractor/rules/<name>.yaml, validated against its `<name>.schema.json` when present."""
    return _load_validated(RULES_DIR / f"{name}.yaml", RULES_DIR / f"{name}.schema.json")


@functools.cache
def load_schema_yaml(name: str) -> Any:
    """Load schemas/<name>.yaml, validated against schemas/<name>.schema.json when present."""
    return _load_validated(schemas_dir() / f"{name}.yaml", schemas_dir() / f"{name}.schema.json")


@functools.cache
def load_json_schema(name: str) -> dict[str, Any]:
    """Load schemas/<name>.schema.json."""
    return json.loads((schemas_dir() / f"{name}.schema.json").read_text(encoding="utf-8"))


@functools.cache
def schema_version() -> str:
    """The version of the output schema, from schemas/document.schema.json."""
    return str(load_json_schema("document").get("version", "0"))


@functools.cache
def rules_fingerprint() -> str:
    """A hash over every rules and schema file, so cached results go stale when any rule changes."""
    digest = hashlib.sha256()
    files = sorted(RULES_DIR.rglob("*.yaml")) + sorted(RULES_DIR.rglob("*.json"))
    files += sorted(schemas_dir().rglob("*.yaml")) + sorted(schemas_dir().rglob("*.json"))
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
