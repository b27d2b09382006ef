"""REINFORCE (default) and PPO searchers: the RNN controller, updated on batches of completions."""

from __future__ import annotations

from typing import Any

import torch

from nas.controller import Controller, ControllerConfig, Sample
from nas.searchers.base import ArchSearcher, Completion, Proposal
from search_space.space import SearchSpace


class ControllerSearcher(ArchSearcher):
    """Samples from the controller; every `batch_size` completions apply one policy update.

    Each completion carries the log-probability recorded when its architecture was sampled, so
    results arriving out of order (asynchronous trials) update the policy correctly.
    """

    def __init__(self, space: SearchSpace, config: ControllerConfig, batch_size: int = 4, reuse: int = 0, **kwargs: Any) -> None:
        super().__init__(space, **kwargs)
        if batch_size < 1 or reuse < 0:
            raise ValueError(f"batch_size must be >= 1 and reuse >= 0, got {batch_size} and {reuse}")
        self.name = config.algorithm
        self.controller = Controller(space, config, seed=self.seed)
        self.batch_size, self.reuse = batch_size, reuse
        self.buffer: list[tuple[Sample, float]] = []
        self.recent: list[tuple[Sample, float]] = []  # (sample, advantage) of the last `reuse` completions learnt
        self.history: list[dict[str, float]] = []

    def propose(self) -> Proposal:
        s = self.controller.sample()
        return Proposal(s.actions, "", s.log_prob, s.entropy)

    def learn(self, completion: Completion) -> None:
        p = completion.proposal
        self.buffer.append((Sample(p.actions, p.log_prob, p.entropy), completion.reward))
        if len(self.buffer) >= self.batch_size:
            stats = self.controller.update(self.buffer, self.recent)
            if self.reuse:
                learnt = [(s, a) for (s, _), a in zip(self.buffer, stats["advantages"])]
                self.recent = (self.recent + learnt)[-self.reuse :]
            stats.pop("advantages", None)
            self.history.append(stats)
            self.buffer = []

    def algorithm_state(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        meta, tensors = self.controller.state()
        meta["buffer"] = [{"actions": s.actions, "log_prob": s.log_prob, "entropy": s.entropy, "reward": r} for s, r in self.buffer]
        meta["recent"] = [{"actions": s.actions, "log_prob": s.log_prob, "entropy": s.entropy, "advantage": a} for s, a in self.recent]
        meta["batch_size"] = self.batch_size
        return meta, tensors

    def load_algorithm_state(self, meta: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
        self.controller.load_state(meta, tensors)
        self.buffer = [(Sample(b["actions"], b["log_prob"], b["entropy"]), b["reward"]) for b in meta["buffer"]]
        self.recent = [(Sample(b["actions"], b["log_prob"], b["entropy"]), b["advantage"]) for b in meta.get("recent", [])]
