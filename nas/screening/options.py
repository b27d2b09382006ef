"""The `screen` config group's schema: light (no torch, no scikit-learn), so a config is checked
before anything heavy loads; `build` makes the screen itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SCREENS = ("none", "predictor")


@dataclass
class ScreenConfig:
    """`screen=none|predictor` (conf/screen/): proposals scored per trial, unscreened trials first,
    the exploration weight of the acquisition, the predictor's kind."""

    name: str = "none"
    candidates: int = 256
    warmup: int = 8
    kappa: float = 1.0
    kind: str = "gbr"

    def validate(self) -> None:
        if self.name not in SCREENS:
            raise ValueError(f"screen must be one of {', '.join(SCREENS)}, got {self.name!r}")
        if self.candidates < 1 or self.warmup < 2:
            raise ValueError(f"screen.candidates must be >= 1 and screen.warmup >= 2 (a predictor needs two rows), got {self.candidates} and {self.warmup}")
        if self.kind not in ("gbr", "mlp"):
            raise ValueError(f"screen.kind must be gbr or mlp, got {self.kind!r}")

    def build(self, space: Any, seed: int) -> Any:
        """The screen this config asks for (`nas.screening.screen.PredictorScreen`; None for `none`)."""
        if self.name == "none":
            return None
        from nas.screening.screen import PredictorScreen

        return PredictorScreen(space, self.candidates, self.warmup, self.kappa, self.kind, seed)
