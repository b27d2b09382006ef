"""A small name registry whose unknown-name error lists the valid names."""

from __future__ import annotations

from typing import Callable, Generic, Iterator, TypeVar

from search_space.errors import UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to factories; `get` raises `UnknownNameError` (a `KeyError`) listing the valid names.

    The one registry of the project: architectures, presets, search spaces and searchers.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, Callable[[], T]] = {}

    def register(self, name: str, factory: Callable[[], T]) -> None:
        """Add `factory` under `name`; a name can be registered once."""
        if name in self._factories:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._factories[name] = factory

    def register_value(self, name: str, value: T) -> None:
        """Add `value` itself under `name` (`get` returns that object each time)."""
        self.register(name, lambda: value)

    def get(self, name: str) -> T:
        """Build the entry called `name`."""
        try:
            factory = self._factories[name]
        except KeyError:
            raise UnknownNameError(f"unknown {self.kind} {name!r}; valid: {', '.join(self.names())}") from None
        return factory()

    def names(self) -> list[str]:
        """Registered names in registration order."""
        return list(self._factories)

    def __contains__(self, name: object) -> bool:
        return name in self._factories

    def __iter__(self) -> Iterator[str]:
        return iter(self._factories)
