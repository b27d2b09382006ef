"""REINFORCE (default) and PPO searchers: the RNN controller, updated on batches of completions."""

from __future__ import annotations

import math
from typing import Any

import torch

from nas.searchers.controller import Controller, ControllerConfig, Sample
from nas.searchers.base import ArchSearcher, Completion, Proposal
from search_space.space import SearchSpace


class ControllerSearcher(ArchSearcher):
    """Samples from the controller; every `batch_size` completions apply one policy update.

    Each completion carries the log-probability recorded when its architecture was sampled, so
    results arriving out of order (asynchronous trials) update the policy correctly. With
    `concurrency` trials in flight, an update waits for at least `ceil(concurrency / 2)`
    completions: with 8 or 32 workers and updates every 2 completions, each result came from a
    policy 4 to 16 updates old, and REINFORCE fell to random search's level on the surrogate
    (benchmarks/sample_efficiency.py --concurrency; that run's output was not kept).
    """

    def __init__(
        self,
        space: SearchSpace,
        config: ControllerConfig,
        batch_size: int = 4,
        reuse: int = 0,
        concurrency: int = 1,
        late_batch_size: int | None = None,
        late_after: int = 0,
        algorithm: str = "reinforce",
        **kwargs: Any,
    ) -> None:
        super().__init__(space, **kwargs)
        late_batch_size = late_batch_size or batch_size  # values checked by ControllerOptions.validate
        self.name = algorithm
        self.controller = Controller(space, config, seed=self.seed, algorithm=algorithm)
        self.reuse, self.late_after = reuse, late_after
        floor = math.ceil(concurrency / 2)
        self.early_batch, self.late_batch = max(batch_size, floor), max(late_batch_size, floor)
        self.learnt = 0  # completions learnt from so far (update batches)
        self.buffer: list[tuple[Sample, float]] = []
        self.taught: list[tuple[Sample, float]] = []  # proposals a screen passed over, with its predicted reward (screen.teach=all)
        self.recent: list[tuple[Sample, float]] = []  # (sample, advantage) of the last `reuse` completions learnt

    def propose(self) -> Proposal:
        s = self.controller.sample()
        return Proposal(s.actions, "", s.log_prob, s.entropy)

    @property
    def batch_size(self) -> int:
        """Completions per update now: small while the policy knows little, larger after
        `late_after` completions (fast early learning without committing too early)."""
        return self.late_batch if self.learnt >= self.late_after else self.early_batch

    def learn(self, completion: Completion) -> None:
        """Buffer the completion (and what its screen passed over, with the predictions); every
        `batch_size` completions, one update on the buffer."""
        p = completion.proposal
        self.buffer.append((Sample(p.actions, p.log_prob, p.entropy), completion.reward))
        self.taught.extend((Sample(list(a), lp, ent), predicted) for a, lp, ent, predicted in p.screened_out)
        if len(self.buffer) >= self.batch_size:
            self.learnt += len(self.buffer)
            stats = self.controller.update([*self.buffer, *self.taught], self.recent)
            if self.reuse:
                arrived = [(s, a) for (s, _), a in zip(self.buffer, stats["advantages"])]
                self.recent = (self.recent + arrived)[-self.reuse :]
            stats.pop("advantages", None)
            stats["batch"], stats["taught"] = len(self.buffer), len(self.taught)  # completions learnt, and predicted rewards beside them
            stats["mean_reward"] = sum(r for _, r in self.buffer) / len(self.buffer)  # of the trained ones only
            stats["completions"] = self.learnt
            self.history.append(stats)
            self.buffer, self.taught = [], []

    def algorithm_state(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        meta, tensors = self.controller.state()
        meta["buffer"] = [_entry(s, "reward", r) for s, r in self.buffer]
        meta["taught"] = [_entry(s, "reward", r) for s, r in self.taught]
        meta["recent"] = [_entry(s, "advantage", a) for s, a in self.recent]
        meta["batch_size"], meta["learnt"] = self.batch_size, self.learnt
        meta["history"] = self.history  # per update: mean reward, entropy, loss, baseline (the report plots it)
        return meta, tensors

    def load_algorithm_state(self, meta: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
        self.controller.load_state(meta, tensors)
        self.buffer = [_from_entry(b, "reward") for b in meta["buffer"]]
        self.taught = [_from_entry(b, "reward") for b in meta.get("taught", [])]
        self.recent = [_from_entry(b, "advantage") for b in meta.get("recent", [])]
        self.learnt = int(meta.get("learnt", 0))
        self.history = list(meta.get("history", []))


def _entry(sample: Sample, key: str, value: float) -> dict[str, Any]:
    """A (sample, value) pair as JSON for the searcher state."""
    return {"actions": sample.actions, "log_prob": sample.log_prob, "entropy": sample.entropy, key: value}


def _from_entry(entry: dict[str, Any], key: str) -> tuple[Sample, float]:
    """Inverse of `_entry`."""
    return Sample(entry["actions"], entry["log_prob"], entry["entropy"]), entry[key]
