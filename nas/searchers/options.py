"""The searchers' settings as plain dataclasses (the Hydra `searcher` group's schemas): no torch,
no Ray, so a config is checked before either loads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass
class ControllerConfig:
    """Policy size and the learning rule's settings."""

    hidden: int = 64
    lr: float = 0.015
    entropy_weight: float = 0.002  # keeps a little exploration late in a search (a 2026-11 sweep whose output was not kept)
    baseline_decay: float = 0.9
    tanh_constant: float | None = 5.0  # logits = c * tanh(logits / c) bounds how sure a choice can get
    temperature: float = 1.0
    grad_clip: float = 5.0
    ppo_clip: float = 0.2
    ppo_epochs: int = 4
    max_importance_weight: float = 2.0  # REINFORCE: truncated ratio new/old policy of late rewards
    normalize_advantage: bool = False  # divide advantages by a running std of the rewards


@dataclass
class ControllerOptions(ControllerConfig):
    """`searcher=reinforce|ppo`: the controller's settings and how completions are batched into
    policy updates (`batch_size` per update, `late_batch_size` after `late_after` completions, each
    update also re-learning the last `reuse` completions). Defaults: REINFORCE's (docs/searchers.md)."""

    name: str = "reinforce"
    batch_size: int = 2
    late_batch_size: Optional[int] = 8  # None: batch_size throughout
    late_after: int = 64
    reuse: int = 16

    def validate(self) -> None:
        """Raise `ValueError` naming the key for values no controller can use."""
        late = self.late_batch_size or self.batch_size
        if min(self.batch_size, late) < 1 or self.reuse < 0 or self.late_after < 0:
            raise ValueError(
                f"searcher.batch_size and searcher.late_batch_size must be >= 1, searcher.reuse and searcher.late_after >= 0; "
                f"got {self.batch_size}, {self.late_batch_size}, {self.reuse}, {self.late_after}"
            )


@dataclass
class PPOOptions(ControllerOptions):
    """`searcher=ppo`: the same controller trained with clipped PPO on each batch of completions;
    a smaller learning rate, a small entropy bonus, a fixed batch and no re-use."""

    name: str = "ppo"
    batch_size: int = 4
    late_batch_size: Optional[int] = None
    late_after: int = 0
    reuse: int = 0
    lr: float = 0.001
    entropy_weight: float = 0.001
    tanh_constant: Optional[float] = 2.5


@dataclass
class EvolutionOptions:
    """`searcher=evolution`: regularized evolution's population and tournament size."""

    name: str = "evolution"
    population: int = 20
    sample_size: int = 5

    def validate(self) -> None:
        if not 1 <= self.sample_size <= self.population:
            raise ValueError(f"searcher.sample_size must be between 1 and searcher.population, got {self.sample_size} and {self.population}")


@dataclass
class RandomOptions:
    """`searcher=random`: no options."""

    name: str = "random"

    def validate(self) -> None:
        pass


@dataclass
class ParetoSearcherOptions:
    """`searcher=pareto`: non-dominated sorting evolution over (`metric`, `cost`) of each trial's
    result (use with reward=pareto): its population and tournament size."""

    name: str = "pareto"
    population: int = 10  # 10 and 4 gave the largest fronts of the settings tried (a 2026-11 sweep, output not kept)
    sample_size: int = 4
    metric: str = "AP"
    cost: str = "latency_ms"

    def validate(self) -> None:
        if not 1 <= self.sample_size <= self.population:
            raise ValueError(f"searcher.sample_size must be between 1 and searcher.population, got {self.sample_size} and {self.population}")
