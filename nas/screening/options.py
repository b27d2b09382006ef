"""The `screen` config group: one kind per screen, each its options schema registered where it is
declared (`@screen_kind`), with its own checks and the builder of its screen. Light (no torch, no
scikit-learn), so a config is checked before anything heavy loads.

Adding a screen: a class with `choose(propose) -> Choice` and `observe(actions, arch_id, reward)`
(`nas/screening/screen.py` has two), an options dataclass here decorated with `@screen_kind("name")`
whose `build` makes it, and `conf/screen/<name>.yaml` starting from `base_<name>`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Callable, ClassVar

from search_space.registry import Registry


@dataclass(frozen=True)
class ScreenKind:
    """A screen kind's options schema (what `nas.settings.kinds.KIND_GROUPS` reads)."""

    options: type


SCREEN_KINDS: Registry[ScreenKind] = Registry("screen")


def screen_kind(name: str) -> Callable[[type], type]:
    """Class decorator: register an options dataclass as the screen kind `name`."""

    def register(cls: type) -> type:
        SCREEN_KINDS.register(name, lambda: ScreenKind(cls))
        return cls

    return register


@dataclass
class ScreenOptions:
    """What every screen kind has: its name. `needs_data`: it scores untrained detectors on the
    proxy's data (an evaluator with none cannot serve it)."""

    name: str = "none"
    needs_data: ClassVar[bool] = False

    def validate(self) -> None:
        pass

    def build(self, space: Any, seed: int, evaluator: Any = None, preset: Any = None) -> Any:
        """The screen (None: every proposal is trained)."""
        return None


@screen_kind("none")
@dataclass
class NoScreenOptions(ScreenOptions):
    """`screen=none`: every proposal of the searcher is trained."""

    name: str = "none"


@screen_kind("predictor")
@dataclass
class PredictorScreenOptions(ScreenOptions):
    """`screen=predictor`: proposals scored per trial, unscreened trials first, the exploration weight
    of the acquisition, the predictor's kind and encoding, and what a policy searcher learns from."""

    name: str = "predictor"
    candidates: int = 256
    warmup: int = 8
    kappa: float = 1.0
    kind: str = "gbr"
    encoding: str = "structure"  # the predictor's input: structure (the graph's features) or adjacency (the decisions one-hot)
    # What a policy searcher (reinforce, ppo) learns from: `trained`, the trained proposal with its
    # real reward only (a best-of-K pick, so the update is off-policy); `all`, also every proposal
    # passed over with the predictor's estimate as its reward (all K are draws from the policy).
    teach: str = "trained"

    def validate(self) -> None:
        if self.candidates < 1 or self.warmup < 2:
            raise ValueError(f"screen.candidates must be >= 1 and screen.warmup >= 2 (a predictor needs two rows), got {self.candidates} and {self.warmup}")
        if self.kind not in ("gbr", "mlp"):
            raise ValueError(f"screen.kind must be gbr or mlp, got {self.kind!r}")
        if self.encoding not in ("structure", "adjacency"):
            raise ValueError(f"screen.encoding must be structure or adjacency, got {self.encoding!r}")
        if self.teach not in ("trained", "all"):
            raise ValueError(f"screen.teach must be trained or all, got {self.teach!r}")

    def build(self, space: Any, seed: int, evaluator: Any = None, preset: Any = None) -> Any:
        from nas.screening.screen import PredictorScreen

        return PredictorScreen(space, self.candidates, self.warmup, self.kappa, self.kind, seed, encoding=self.encoding, teach=self.teach)


@screen_kind("zero_cost")
@dataclass
class ZeroCostScreenOptions(ScreenOptions):
    """`screen=zero_cost`: proposals scored per trial by a zero-cost score of the untrained proxy
    detector (`proxy_tasks/zero_cost.py`'s names; the best pick on the benchmark table by default)."""

    name: str = "zero_cost"
    candidates: int = 16
    score: str = "grad_norm"  # the best pick of the zero-cost scores on the benchmark table (benchmarks/table/screen_gain.json)
    needs_data: ClassVar[bool] = True

    def validate(self) -> None:
        if self.candidates < 1:
            raise ValueError(f"screen.candidates must be >= 1, got {self.candidates}")

    def build(self, space: Any, seed: int, evaluator: Any = None, preset: Any = None) -> Any:
        """On the training `evaluator`'s data at `preset`."""
        from nas.screening.screen import ZeroCostScreen

        return ZeroCostScreen(space, evaluator, preset, self.score, self.candidates, seed)


def current_screen_layout(node: dict[str, Any]) -> dict[str, Any]:
    """A `screen` node in this version's layout. Legacy reader: run folders written before the
    screen kinds (2026-12-07) hold every kind's keys in one flat node; the keys of other kinds
    changed nothing and are dropped."""
    name = node.get("name", "none")
    if name not in SCREEN_KINDS or not LEGACY_FLAT_KEYS <= set(node):
        return node  # this version's layout (a stray key is refused where the node is typed), or a name refused there
    declared = {f.name for f in fields(SCREEN_KINDS.get(name).options)}
    return {k: v for k, v in node.items() if k in declared}


LEGACY_FLAT_KEYS = {"candidates", "warmup", "kappa", "kind", "score"}  # every flat node had them all (its schema's defaults filled in)
