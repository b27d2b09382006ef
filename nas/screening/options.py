"""The `screen` config group's schema: light (no torch, no scikit-learn), so a config is checked
before anything heavy loads; `build` makes the screen itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SCREENS = ("none", "predictor", "zero_cost")


@dataclass
class ScreenConfig:
    """`screen=none|predictor|zero_cost` (conf/screen/): proposals scored per trial, unscreened
    trials first, the exploration weight of the acquisition and the predictor's kind (predictor),
    its encoding, the zero-cost score (zero_cost: `proxy_tasks/zero_cost.py`'s names)."""

    name: str = "none"
    candidates: int = 256
    warmup: int = 8
    kappa: float = 1.0
    kind: str = "gbr"
    encoding: str = "structure"  # the predictor's input: structure (the graph's features) or adjacency (the decisions one-hot)
    score: str = "grad_norm"  # the best pick of the zero-cost scores on the benchmark table (benchmarks/table/screen_gain.json)
    # What a policy searcher (reinforce, ppo) learns from: `trained`, the trained proposal with its
    # real reward only (a best-of-K pick, so the update is off-policy); `all`, also every proposal
    # passed over with the predictor's estimate as its reward (all K are draws from the policy).
    teach: str = "trained"

    def validate(self) -> None:
        if self.name not in SCREENS:
            raise ValueError(f"screen must be one of {', '.join(SCREENS)}, got {self.name!r}")
        if self.candidates < 1 or self.warmup < 2:
            raise ValueError(f"screen.candidates must be >= 1 and screen.warmup >= 2 (a predictor needs two rows), got {self.candidates} and {self.warmup}")
        if self.kind not in ("gbr", "mlp"):
            raise ValueError(f"screen.kind must be gbr or mlp, got {self.kind!r}")
        if self.encoding not in ("structure", "adjacency"):
            raise ValueError(f"screen.encoding must be structure or adjacency, got {self.encoding!r}")
        if self.teach not in ("trained", "all"):
            raise ValueError(f"screen.teach must be trained or all, got {self.teach!r}")
        if self.teach == "all" and self.name != "predictor":
            raise ValueError("screen.teach=all needs screen=predictor (its estimates are on the reward's scale; zero-cost scores are not)")

    @property
    def needs_data(self) -> bool:
        """The screen scores untrained detectors on the proxy's data (an evaluator with none cannot serve it)."""
        return self.name == "zero_cost"

    def build(self, space: Any, seed: int, evaluator: Any = None, preset: Any = None) -> Any:
        """The screen this config asks for (`nas.screening.screen.PredictorScreen` or `ZeroCostScreen`,
        the latter on the training `evaluator`'s data at `preset`; None for `none`)."""
        if self.name == "none":
            return None
        if self.name == "zero_cost":
            from nas.screening.screen import ZeroCostScreen

            return ZeroCostScreen(space, evaluator, preset, self.score, self.candidates, seed)
        from nas.screening.screen import PredictorScreen

        return PredictorScreen(space, self.candidates, self.warmup, self.kappa, self.kind, seed, encoding=self.encoding, teach=self.teach)
