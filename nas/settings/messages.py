"""One-line messages for what the config schemas refuse: Hydra's and OmegaConf's errors rewritten to
name the key in full, the kind it belongs to, and the key it was probably meant to be."""

from __future__ import annotations

import dataclasses
import difflib
import re
from typing import Any

from omegaconf.errors import ConfigAttributeError, ConfigKeyError

from nas.settings.kinds import KIND_GROUPS, KIND_KEY


def one_line(e: Exception, group: str = "", top: type | None = None, kind: str | None = None) -> str:
    """One line for a Hydra/OmegaConf error; keys are written in full (`group.key`). `top` is the
    group's schema, and `kind` the kind it belongs to (searcher reinforce, proxy training, ...)."""

    def full(key: str) -> str:
        return f"{group}.{key}" if group else key

    text = " ".join(str(e).split()).split(" Config search path:")[0]
    text = re.sub(r"^In '\w+': ", "", text)
    if "Available options in '" in text:  # a wrong choice: list the choices, not the schemas they start from
        text = re.sub(r" base_\w+", "", text).replace(" Available options in '", ". Available options in '")
    typed = re.match(r"Value '(.*)' of type '\w+' could not be converted to (\w+) .*?full_key: (\S+)", text)
    if typed:
        value, kind, key = typed.groups()
        return f"{full(key)}: {value!r} is not {'an' if kind[0] in 'AEIOU' else 'a'} {kind.lower()}"
    if text.startswith("Could not override '"):
        key = text.split("'")[1]
        return f"unknown config key '{key}' (no such setting; see conf/ for the valid keys)"
    schema = getattr(e, "object_type", None)
    if isinstance(e, (ConfigAttributeError, ConfigKeyError)) and getattr(e, "full_key", None) and dataclasses.is_dataclass(schema):
        return unknown_key(full(str(e.full_key)), schema, kind if schema is top else None)
    text = text.replace("full_key: ", "key: ").split(" object_type=")[0].split(" reference_type=")[0]
    return f"{group}: {text}" if group else text


def field_names(cls: Any) -> set[str]:
    """The field names of a dataclass (a nested part's default factory)."""
    return {f.name for f in dataclasses.fields(cls)}


def unknown_key(key: str, schema: Any, kind: str | None) -> str:
    """A key the schema does not have: the key it was probably meant to be, and the valid keys."""
    kind = kind or kind_label(schema)
    names = [f.name for f in dataclasses.fields(schema) if kind is None or f.name != KIND_KEY]
    prefix, _, last = key.rpartition(".")
    moved = [  # a key that lives one level down (proxy.lr is proxy.optim.lr)
        f"{prefix}.{f.name}.{last}".lstrip(".")
        for f in dataclasses.fields(schema)
        if dataclasses.is_dataclass(f.default_factory if callable(f.default_factory) else None)
        and last in field_names(f.default_factory)
    ]
    close = [f"{prefix}.{n}".lstrip(".") for n in difflib.get_close_matches(last, names, n=1)]
    hint = f": did you mean {(moved or close)[0]}?" if moved or close else ""
    owner = kind or schema.__name__
    return f"unknown config key '{key}'{hint} ({owner}'s keys: {', '.join(names) or 'none'})"


def kind_label(schema: type) -> str | None:
    """`searcher reinforce`, `proxy training`, ...: how messages name a kind's schema (None for others)."""
    for group, registry in KIND_GROUPS.items():
        for name in registry:
            if registry.get(name).options is schema:
                return f"{group} {name}"
    return None
