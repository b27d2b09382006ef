"""Command options declared once: a field of a command's options dataclass made with `option` is
its flag, default, help, whether config.yaml records it and whether a resume must keep it.

The parser is generated from the dataclass (`add_options`), the dataclass is read back from the
parsed arguments (`from_args`), the run folder's config.yaml records it (`recorded`) and a resume
compares the fields declared fixed (`fixed_keys`). Nothing here imports torch, Ray or Hydra.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, Callable, Literal

KEY = "spinenas.option"
Resume = Literal["fixed", "free"]


def option(
    default: Any = dataclasses.MISSING,
    help: str = "",
    *,
    flag: str | None = None,
    parse: Callable[[str], Any] | None = None,
    metavar: str | None = None,
    choices: tuple[str, ...] | None = None,
    positional: bool = False,
    required: bool = False,
    resume: Resume = "fixed",
    record: bool = True,
    show_default: bool = True,
) -> Any:
    """A dataclass field that is also a command-line option.

    `flag`: the option's spelling (default `--` + the field name with dashes); `parse`: the argparse
    type (default from the field's annotation: int, float, str, Path, bool as a switch); `positional`:
    an argument without a flag (a tuple field takes any number); `required`: the command line must
    give it (a field without a default is required too); `resume`: "fixed" if a resumed run
    must have the same value, "free" if it may change (e.g. a table's --archs grows); `record`:
    written into the run folder's config.yaml; `show_default`: the help ends with the default."""
    meta = {"help": help, "flag": flag, "parse": parse, "metavar": metavar, "choices": choices, "positional": positional,
            "required": required, "resume": resume, "record": record, "show_default": show_default}  # fmt: skip
    return dataclasses.field(default=default, metadata={KEY: meta})


def declared(cls: type) -> list[tuple[dataclasses.Field, dict[str, Any], Any]]:
    """The option fields of `cls` with their declarations and resolved annotations, in order."""
    hints = typing.get_type_hints(cls)
    return [(f, f.metadata[KEY], hints[f.name]) for f in dataclasses.fields(cls) if KEY in f.metadata]


def names(text: str) -> tuple[str, ...]:
    """A comma-separated list of names (empty entries dropped)."""
    return tuple(n.strip() for n in text.split(",") if n.strip())


def _listed(convert: Callable[[str], Any], what: str) -> Callable[[str], tuple[Any, ...]]:
    """A parser of comma-separated values, each read by `convert` (`what`: their name in a refusal)."""

    def parse(text: str) -> tuple[Any, ...]:
        try:
            return tuple(convert(v) for v in text.split(",") if v.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated {what}, got {text!r}") from None

    return parse


numbers = _listed(float, "numbers")  # a comma-separated list of numbers
whole_numbers = _listed(int, "whole numbers")  # a comma-separated list of whole numbers


def _parser_of(hint: Any) -> Callable[[str], Any] | None:
    """The argparse type for an annotation: `X | None` reads as X; tuples as comma-separated."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and len(args) == 1:
        return _parser_of(args[0])
    if typing.get_origin(hint) is tuple:
        return whole_numbers if args and args[0] is int else numbers if args and args[0] is float else names
    return hint if hint in (int, float, str, Path) else None


def _shown(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)


def _flag(f: dataclasses.Field, meta: dict[str, Any]) -> str:
    return meta["flag"] or "--" + f.name.replace("_", "-")


def _required(f: dataclasses.Field, meta: dict[str, Any]) -> bool:
    return meta["required"] or (f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)


def _default(f: dataclasses.Field) -> Any:
    """The field's default (None where it has none)."""
    if f.default is not dataclasses.MISSING:
        return f.default
    return None if f.default_factory is dataclasses.MISSING else f.default_factory()


def _field(cls: type, name: str) -> tuple[dataclasses.Field, dict[str, Any], Any]:
    """Option `name` of `cls`; KeyError when it has none."""
    for f, meta, hint in declared(cls):
        if f.name == name:
            return f, meta, hint
    raise KeyError(name)


def flag_of(cls: type, name: str) -> str:
    """The flag spelling of option `name` of `cls` (`--budget-s`, `--format`)."""
    f, meta, _ = _field(cls, name)
    return _flag(f, meta)


def add_options(parser: argparse.ArgumentParser, cls: type) -> None:
    """Add every option field of `cls` to `parser` (dest = the field name)."""
    for f, meta, hint in declared(cls):
        required = _required(f, meta)
        default = _default(f)
        text = meta["help"]
        if meta["show_default"] and default not in (None, False, (), "") and not meta["positional"] and not required:
            text += f" (default {_shown(default)})"
        kwargs: dict[str, Any] = {"help": text}
        if meta["metavar"]:
            kwargs["metavar"] = meta["metavar"]
        if hint is bool:
            parser.add_argument(_flag(f, meta), dest=f.name, action="store_true", **kwargs)
            continue
        if meta["choices"]:
            kwargs["choices"] = list(meta["choices"])
        if meta["positional"]:
            if typing.get_origin(hint) is tuple:
                kwargs["nargs"] = "*"
            elif not required:
                kwargs["nargs"] = "?"
            parser.add_argument(f.name, default=default, **kwargs)
            continue
        parse = meta["parse"] or _parser_of(hint)
        if parse is not None:
            kwargs["type"] = parse
        # A required option is checked after parsing (`missing`): its key=value spelling may give it.
        parser.add_argument(_flag(f, meta), dest=f.name, default=None if required else default, **kwargs)


def missing(cls: type, args: argparse.Namespace) -> list[str]:
    """The names of required (flag) options that `args` does not give."""
    return [f.name for f, meta, _ in declared(cls) if not meta["positional"] and _required(f, meta) and getattr(args, f.name) is None]


def parse_value(cls: type, name: str, text: str) -> Any:
    """`text` read as option `name` of `cls` would be from its flag (a switch: true/false);
    raises KeyError for no such option, ValueError for a value it does not take."""
    _, meta, hint = _field(cls, name)
    if hint is bool:
        if text.lower() not in ("true", "false"):
            raise ValueError(f"expected true or false, got {text!r}")
        return text.lower() == "true"
    if meta["choices"] and text not in meta["choices"]:
        raise ValueError(f"expected one of {', '.join(meta['choices'])}, got {text!r}")
    parse = meta["parse"] or _parser_of(hint) or str
    try:
        return parse(text)
    except argparse.ArgumentTypeError as e:
        raise ValueError(str(e)) from None
    except (TypeError, ValueError):
        raise ValueError(f"expected {'an integer' if parse is int else 'a number' if parse is float else parse.__name__}, got {text!r}") from None


def parser_default(cls: type, name: str) -> Any:
    """The value option `name` of `cls` has when the command line does not give it."""
    f, meta, _ = _field(cls, name)
    return None if _required(f, meta) else _default(f)


def option_names(cls: type) -> list[str]:
    """The fields of `cls` that are options."""
    return [f.name for f, _, _ in declared(cls)]


def from_args(cls: type, args: argparse.Namespace) -> Any:
    """The options dataclass from parsed arguments (positional tuples as tuples)."""
    values = {}
    for f, _, hint in declared(cls):
        value = getattr(args, f.name)
        values[f.name] = tuple(value) if typing.get_origin(hint) is tuple and isinstance(value, list) else value
    return cls(**values)


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return str(value) if isinstance(value, Path) else value


def recorded(options: Any) -> dict[str, Any]:
    """The recorded options as plain data (config.yaml's section of the command)."""
    return {f.name: _plain(getattr(options, f.name)) for f, meta, _ in declared(type(options)) if meta["record"]}


def fixed_keys(cls: type, section: str) -> tuple[str, ...]:
    """The dotted config.yaml keys of the options a resume must keep (`section.field`)."""
    return tuple(f"{section}.{f.name}" for f, meta, _ in declared(cls) if meta["record"] and meta["resume"] == "fixed")
