"""One config path for every benchmark: frozen dataclasses → CLI flags, ``--set``, records.

A benchmark's config is a frozen dataclass that validates itself in ``__post_init__`` (a bad
value cannot exist) and documents each field with a docstring below it. From the class alone
this module derives

* the command-line flags (:func:`add_config_arguments`: one ``--field-name`` per field,
  typed from its annotation, its docstring as help; aliases for flags that predate it) and
  ``--set FIELD=VALUE`` (:func:`parse_overrides`), merged by :func:`collect_overrides`, which
  refuses a field given both ways;
* the record side: :func:`with_defaults` (a stored config with the fields that older records
  lack set to their defaults), :func:`comparable` (without the execution-only fields, which
  change how a run executes but not what it computes), :func:`differences` (the fields where a
  record departs from a preset).

The same derivation serves sweep specs, tuning trials and config files
(:func:`config_toml` writes one, :func:`load_config_file` reads it: ``train --config``).
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import functools
import inspect
import json
import math
import textwrap
import tomllib
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

_TRUE = ("true", "1", "yes")
_FALSE = ("false", "0", "no")


@functools.cache
def field_docs(config_class: type) -> dict[str, str]:
    """The docstring under each field of a dataclass (``{}`` where the source is unavailable),
    first sentence-ish line joined into one line."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(config_class)))
    except (OSError, TypeError):
        return {}
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs: dict[str, str] = {}
    for node, after in zip(body, body[1:], strict=False):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            docs[node.target.id] = " ".join(after.value.value.split())
    return docs


def convert(config_class: type, name: str, text: str) -> Any:
    """``text`` as the annotated type of field ``name`` (bool: true/false/1/0/yes/no; int;
    float, finite; str; Literal choices). Raises ``ValueError`` naming the field."""
    kind = typing.get_type_hints(config_class)[name]
    if typing.get_origin(kind) is typing.Literal:
        choices = typing.get_args(kind)
        if text not in choices:
            raise ValueError(f"{name} must be one of {list(choices)}, got {text!r}")
        return text
    if kind is bool:
        lowered = text.lower()
        if lowered not in _TRUE + _FALSE:
            raise ValueError(f"{name} takes true or false, got {text!r}")
        return lowered in _TRUE
    if kind in (int, float, str):
        try:
            value = kind(text)
        except ValueError:
            raise ValueError(f"{name} takes {kind.__name__}, got {text!r}") from None
        if kind is float and not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {text!r}")
        return value
    raise ValueError(f"field {name!r} ({kind}) cannot be set from the command line")


def parse_overrides(items: Iterable[str] | None, config_class: type) -> dict[str, Any]:
    """``["alpha=5", "rand_conv=true"]`` → ``{"alpha": 5.0, "rand_conv": True}``.

    Each item is ``FIELD=VALUE`` for a field of the dataclass ``config_class``, converted by
    :func:`convert`; the config's own validation then checks ranges and combinations.

    Raises:
        ValueError: naming the item, for a missing ``=``, an unknown field (the message lists
            the fields), a field given twice or a value that does not convert.
    """
    fields = {f.name for f in dataclasses.fields(config_class)}
    out: dict[str, Any] = {}
    for item in items or []:
        name, eq, text = item.partition("=")
        name, text = name.strip(), text.strip()
        if not eq or not name:
            raise ValueError(f"override {item!r} is not FIELD=VALUE")
        if name not in fields:
            raise ValueError(f"unknown field {name!r} in {item!r}; fields: {sorted(fields)}")
        if name in out:
            raise ValueError(f"field {name!r} is set twice with --set")
        out[name] = convert(config_class, name, text)
    return out


def flag(name: str, aliases: Mapping[str, str] | None = None) -> str:
    """The command-line flag of field ``name``: its alias, or ``--`` + name with dashes."""
    if aliases and name in aliases:
        return aliases[name]
    return "--" + name.replace("_", "-")


def add_config_arguments(
    parser: argparse.ArgumentParser,
    config_class: type,
    *,
    exclude: Iterable[str] = (),
    aliases: Mapping[str, str] | None = None,
    help_extra: Mapping[str, str] | None = None,
    set_option: bool = True,
) -> None:
    """One flag per field of ``config_class`` (except ``exclude``), default None (= the
    preset's value), typed by :func:`convert`; bools take ``--flag`` / ``--no-flag``.
    With ``set_option``, also ``--set FIELD=VALUE`` (repeatable). Read them back with
    :func:`collect_overrides`."""
    docs = field_docs(config_class)
    hints = typing.get_type_hints(config_class)
    group = parser.add_argument_group(
        f"{config_class.__name__} fields (default: the preset's value)"
    )
    skip = set(exclude)
    for f in dataclasses.fields(config_class):
        if f.name in skip:
            continue
        text = docs.get(f.name, "")
        if help_extra and f.name in help_extra:
            text = f"{help_extra[f.name]} {text}".strip()
        text = text.replace("%", "%%")
        name = flag(f.name, aliases)
        if hints[f.name] is bool:
            group.add_argument(
                name,
                dest=f.name,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=text,
            )
            continue
        kind = hints[f.name]
        choices = typing.get_args(kind) if typing.get_origin(kind) is typing.Literal else None

        def parse(value: str, _name: str = f.name) -> Any:
            try:
                return convert(config_class, _name, value)
            except ValueError as exc:
                raise argparse.ArgumentTypeError(str(exc)) from None

        group.add_argument(
            name,
            dest=f.name,
            type=parse,
            default=None,
            metavar=getattr(kind, "__name__", "VALUE").upper()
            if choices is None
            else "{" + ",".join(choices) + "}",
            help=text,
        )
    if set_option:
        parser.add_argument(
            "--set",
            action="append",
            metavar="FIELD=VALUE",
            help=f"override any {config_class.__name__} field (repeatable; recorded in each "
            "seed's config)",
        )


def collect_overrides(
    args: argparse.Namespace, config_class: type, *, exclude: Iterable[str] = ()
) -> dict[str, Any]:
    """The fields given on the command line (flags of :func:`add_config_arguments` and
    ``--set``). Raises ``ValueError`` naming a field given both ways."""
    skip = set(exclude)
    named = {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(config_class)
        if f.name not in skip and getattr(args, f.name, None) is not None
    }
    generic = parse_overrides(getattr(args, "set", None), config_class)
    both = sorted(set(named) & set(generic))
    if both:
        raise ValueError(f"{both} given both as an option and with --set")
    return {**named, **generic}


def defaults(config_class: type) -> dict[str, Any]:
    """Every field's default value (fields without one are left out)."""
    return {
        f.name: f.default
        for f in dataclasses.fields(config_class)
        if f.default is not dataclasses.MISSING
    }


def with_defaults(config_class: type, stored: Mapping[str, Any]) -> dict[str, Any]:
    """A stored config with the fields that records written before they existed lack, at
    their defaults (so that old results still resume and compare)."""
    return defaults(config_class) | dict(stored)


def comparable(
    config_class: type, stored: Mapping[str, Any], execution: Iterable[str] = ()
) -> dict[str, Any]:
    """:func:`with_defaults` without the ``execution`` fields: what defines a result."""
    skip = set(execution)
    return {k: v for k, v in with_defaults(config_class, stored).items() if k not in skip}


def differences(
    config_class: type,
    stored: Mapping[str, Any],
    reference: Mapping[str, Any],
    ignore: Iterable[str] = (),
) -> list[tuple[str, Any, Any]]:
    """``(field, stored value, reference value)`` for each field (not in ``ignore``) where a
    record departs from ``reference`` (e.g. its preset today), fields sorted by name."""
    got = with_defaults(config_class, stored)
    ref = with_defaults(config_class, reference)
    skip = set(ignore)
    return [(k, got[k], ref.get(k)) for k in sorted(got) if k not in skip and got[k] != ref.get(k)]


def describe_differences(
    stored: Mapping[str, Any], wanted: Mapping[str, Any], limit: int = 4
) -> str | None:
    """``"lr 0.001 here, 0.002 requested; ..."`` for the keys where two comparable configs
    differ (at most ``limit`` listed), or None when they are equal."""
    keys = sorted(k for k in {*stored, *wanted} if stored.get(k) != wanted.get(k))
    if not keys:
        return None
    parts = [f"{k} {stored.get(k)!r} there, {wanted.get(k)!r} requested" for k in keys[:limit]]
    more = f"; and {len(keys) - limit} more" if len(keys) > limit else ""
    return "; ".join(parts) + more


def check_finite(**values: float) -> list[str]:
    """Error messages for the non-finite values among ``values`` (config validation)."""
    return [
        f"{name} must be finite, got {value}"
        for name, value in values.items()
        if isinstance(value, int | float) and not math.isfinite(value)
    ]


# ------------------------------------------------------------------------- config files


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot write the non-finite value {value} to a config file")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a valid TOML basic string
    raise TypeError(f"no TOML form for {value!r}")


def config_toml(config: Any, header: Iterable[str] = ()) -> str:
    """Every field of the dataclass ``config`` as a flat TOML table, ``header`` lines first as
    comments; :func:`load_config_file` reads it back to an equal config."""
    lines = [f"# {h}" for h in header]
    lines += [f"{k} = {_toml_value(v)}" for k, v in dataclasses.asdict(config).items()]
    return "\n".join(lines) + "\n"


def load_config_file(
    path: str | Path, config_class: type, presets: Mapping[str, Any] | None = None
) -> Any:
    """A ``config_class`` from a file (``train --config FILE``): TOML (what
    :func:`config_toml` writes, or any flat ``FIELD = VALUE`` table) or JSON (a table of
    fields, or a per-seed record, whose ``config`` is used).

    Fields the file leaves out take the values of its ``preset`` when that names one of
    ``presets`` (so ``preset = "pse"`` plus two lines is a valid file), else the dataclass
    defaults. Values are typed and checked like ``--set``.

    Raises:
        UsageError: one line naming the file, and the key or the invalid value.
    """
    from pisces.errors import UsageError

    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise UsageError(f"--config {path}: cannot read it ({exc.strerror or exc})") from None
    try:
        if path.suffix == ".json":
            data = json.loads(text)
            if isinstance(data, dict) and isinstance(data.get("config"), dict):
                data = data["config"]
        else:
            data = tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        kind = "JSON" if path.suffix == ".json" else "TOML"
        raise UsageError(f"--config {path}: not valid {kind} ({exc})") from None
    if not isinstance(data, dict):
        raise UsageError(f"--config {path}: not a table of {config_class.__name__} fields")
    fields = {f.name for f in dataclasses.fields(config_class)}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in fields:
            raise UsageError(f"--config {path}: unknown field {key!r}; fields: {sorted(fields)}")
        if isinstance(value, list | dict) or value is None:
            raise UsageError(f"--config {path}: {key} takes a single value, got {value!r}")
        text_value = ("true" if value else "false") if isinstance(value, bool) else str(value)
        try:
            values[key] = convert(config_class, key, text_value)
        except ValueError as exc:
            raise UsageError(f"--config {path}: {exc}") from None
    base = (presets or {}).get(str(values.get("preset", "")))
    try:
        return dataclasses.replace(base, **values) if base is not None else config_class(**values)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"--config {path}: {exc}") from None
