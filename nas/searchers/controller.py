"""The RNN controller (Zoph & Le 2017): an LSTM policy over a search space's decisions.

At each step the LSTM reads the embedding of the previous choice (plus a step embedding), and
the softmax head of the current decision's kind scores its categories; choices the space marks
invalid are masked out. Trained by REINFORCE with an exponential-moving-average baseline and an
entropy bonus, or by clipped PPO; both use the log-probabilities recorded at sampling time.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nas.searchers.options import ControllerConfig
from search_space.space import SearchSpace

NEG_INF = -1e9


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run the controller's tiny ops on one thread.

    Intra-op threads cannot speed up 64-wide LSTM steps, and when the cores are busy (trials on
    the same machine) their spin-waiting made one update 100x slower: 8 s instead of 64 ms.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@dataclass
class Sample:
    """One sampled architecture's actions with the policy's log-probability and entropy at sampling."""

    actions: list[int]
    log_prob: float
    entropy: float


def masked_log_softmax(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Log-probabilities over the last axis with the choices `mask` forbids at probability 0."""
    return F.log_softmax(logits.masked_fill(~mask, NEG_INF), dim=-1)


def entropy_terms(logp: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """-p log p of every allowed choice (0 for forbidden ones); summed, a decision's entropy."""
    return -(logp.exp() * logp).masked_fill(~mask, 0.0)


class Policy(nn.Module):
    """LSTM over the decision sequence with one softmax head per decision kind."""

    def __init__(self, space: SearchSpace, hidden: int) -> None:
        super().__init__()
        self.space = space
        self.kinds = sorted(space.kind_sizes)
        self.kind_index = {k: i for i, k in enumerate(self.kinds)}
        # One embedding row per (kind, category), plus a start token at row 0.
        self.offsets: dict[str, int] = {}
        rows = 1
        for k in self.kinds:
            self.offsets[k] = rows
            rows += space.kind_sizes[k]
        self.action_embedding = nn.Embedding(rows, hidden)
        self.step_embedding = nn.Embedding(len(space.decisions), hidden)
        self.lstm = nn.LSTM(hidden, hidden, batch_first=True)
        self.heads = nn.ModuleDict({k: nn.Linear(hidden, space.kind_sizes[k]) for k in self.kinds})
        for p in self.parameters():
            nn.init.uniform_(p, -0.1, 0.1)

    def embed(self, tokens: torch.Tensor, steps: int | slice) -> torch.Tensor:
        """LSTM inputs: the previous decision's token plus the embedding of the step(s) `steps`."""
        return self.action_embedding(tokens) + self.step_embedding.weight[steps]

    def step(self, tokens: torch.Tensor, t: int, state: Any) -> tuple[torch.Tensor, Any]:
        """One decision while sampling: the LSTM output (B, H) at step `t` and the new state."""
        out, state = self.lstm(self.embed(tokens, t)[:, None, :], state)
        return out[:, 0], state

    def run(self, tokens: torch.Tensor) -> torch.Tensor:
        """All decisions at once for known tokens (B, T) (teacher forcing): LSTM outputs (B, T, H)."""
        hidden, _ = self.lstm(self.embed(tokens, slice(0, tokens.shape[1])))
        return hidden

    def logits(self, hidden: torch.Tensor, kind: str, temperature: float, tanh_constant: float | None) -> torch.Tensor:
        """Logits of a decision of `kind` from LSTM outputs `hidden` (..., H): tempered, then
        squashed to (-c, c) by c * tanh(x / c) when `tanh_constant` c is set."""
        logits = self.heads[kind](hidden) / temperature
        return tanh_constant * torch.tanh(logits / tanh_constant) if tanh_constant else logits


class Controller:
    """Samples architectures and learns from their rewards.

    Args:
        space: the search space (decisions, masks).
        config: policy and learning-rule settings.
        seed: seeds the weights and the sampling generator.
        algorithm: the learning rule, reinforce or ppo.
    """

    def __init__(self, space: SearchSpace, config: ControllerConfig = ControllerConfig(), seed: int = 0, *, algorithm: str = "reinforce") -> None:
        if algorithm not in ("reinforce", "ppo"):
            raise ValueError(f"controller algorithm must be reinforce or ppo, got {algorithm!r}")
        self.space, self.config, self.algorithm = space, config, algorithm
        with torch.random.fork_rng(devices=[]):  # seeded weights; the caller's global RNG is left alone
            torch.manual_seed(seed)
            self.policy = Policy(space, config.hidden)
        self.optimizer = torch.optim.Adam(self.policy.parameters(), lr=config.lr)
        self.generator = torch.Generator().manual_seed(seed)
        self.baseline: float | None = None
        self.reward_var: float | None = None  # EMA of (reward - baseline)^2, for normalize_advantage
        self.updates = 0

    def _logits(self, h: torch.Tensor, step: int) -> torch.Tensor:
        return self.policy.logits(h, self.space.decisions[step].kind, self.config.temperature, self.config.tanh_constant)

    def _sample(self, batch: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Sample `batch` sequences step by step; returns actions (B, T), log-probs (B,), entropies (B,)."""
        walks = [self.space.walk() for _ in range(batch)]
        state = None
        tokens = torch.zeros(batch, dtype=torch.long)  # start token
        taken, log_prob, entropy = [], torch.zeros(batch), torch.zeros(batch)
        for t, decision in enumerate(self.space.decisions):
            out, state = self.policy.step(tokens, t, state)
            mask = torch.from_numpy(np.stack([w.mask() for w in walks]))
            logp = masked_log_softmax(self._logits(out, t), mask)
            a = torch.multinomial(logp.exp(), 1, generator=self.generator).squeeze(1)
            log_prob += logp.gather(1, a[:, None]).squeeze(1)
            entropy += entropy_terms(logp, mask).sum(1)
            for w, ai in zip(walks, a.tolist()):
                w.step(ai)
            taken.append(a)
            tokens = a + self.policy.offsets[decision.kind]
        return torch.stack(taken, 1), log_prob, entropy

    def _score(self, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-probs (B,) and entropies (B,) of known actions (B, T): one LSTM pass, one head call per kind."""
        batch, steps = actions.shape
        decisions = self.space.decisions
        offsets = torch.tensor([self.policy.offsets[d.kind] for d in decisions])
        tokens = torch.cat([torch.zeros(batch, 1, dtype=torch.long), actions[:, :-1] + offsets[:-1]], 1)
        hidden = self.policy.run(tokens)  # (B, T, H)
        masks = _replay_masks(self.space, actions)  # kind -> (B, n_kind_steps, size)
        log_prob, entropy = torch.zeros(batch), torch.zeros(batch)
        for kind, idx in self._kind_steps().items():
            logits = self.policy.logits(hidden[:, idx], kind, self.config.temperature, self.config.tanh_constant)
            mask = masks[kind]
            logp = masked_log_softmax(logits, mask)
            log_prob = log_prob + logp.gather(2, actions[:, idx, None]).squeeze(2).sum(1)
            entropy = entropy + entropy_terms(logp, mask).sum((1, 2))
        return log_prob, entropy

    def _kind_steps(self) -> dict[str, torch.Tensor]:
        if not hasattr(self, "_kind_steps_cache"):
            steps: dict[str, list[int]] = {}
            for t, d in enumerate(self.space.decisions):
                steps.setdefault(d.kind, []).append(t)
            self._kind_steps_cache = {k: torch.tensor(v) for k, v in steps.items()}
        return self._kind_steps_cache

    @torch.no_grad()
    def sample(self) -> Sample:
        """Sample one valid action sequence (uses and advances the controller's generator)."""
        with one_thread():
            actions, log_prob, entropy = self._sample(1)
        return Sample(actions[0].tolist(), float(log_prob[0]), float(entropy[0]))

    def evaluate(self, actions: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-probabilities (B,) and entropies (B,) of action sequences under the current policy."""
        return self._score(torch.tensor([list(a) for a in actions], dtype=torch.long))

    def advantages(self, rewards: Sequence[float]) -> list[float]:
        """Advantages of rewards in completion order; the baseline (and reward scale) move with each."""
        out = []
        decay = self.config.baseline_decay
        for r in rewards:
            self.baseline = r if self.baseline is None else self.baseline
            adv = r - self.baseline
            if self.config.normalize_advantage:
                self.reward_var = adv * adv if self.reward_var is None else decay * self.reward_var + (1 - decay) * adv * adv
                adv = adv / max(self.reward_var**0.5, 1e-8)
            out.append(adv)
            self.baseline = decay * self.baseline + (1 - decay) * r
        return out

    def update(self, batch: Sequence[tuple[Sample, float]], replay: Sequence[tuple[Sample, float]] = ()) -> dict[str, Any]:
        """One learning step from (sample, reward) pairs; returns diagnostics.

        `replay` holds earlier (sample, advantage) pairs to learn from again; their advantages were
        fixed when they arrived, and the truncated importance ratio weighs them like late results.
        """
        if not batch:
            return {}
        with one_thread():
            rewards = [r for _, r in batch]
            items = [(s, a) for (s, _), a in zip(batch, self.advantages(rewards))]
            stats = self._update([*items, *replay])
        stats["mean_reward"] = sum(rewards) / len(rewards)
        stats["batch"], stats["replayed"] = len(items), len(replay)
        stats["advantages"] = [a for _, a in items]
        return stats

    def _update(self, items: Sequence[tuple[Sample, float]]) -> dict[str, Any]:
        epochs = self.config.ppo_epochs if self.algorithm == "ppo" else 1
        adv = torch.tensor([a for _, a in items])
        old_logp = torch.tensor([sample.log_prob for sample, _ in items])
        loss_value = 0.0
        for _ in range(epochs):
            logp, ent = self.evaluate([sample.actions for sample, _ in items])
            ratio = torch.exp(logp - old_logp)
            if self.algorithm == "ppo":
                clip = self.config.ppo_clip
                objective = torch.minimum(ratio * adv, ratio.clamp(1 - clip, 1 + clip) * adv)
            else:
                objective = ratio.detach().clamp(max=self.config.max_importance_weight) * logp * adv
            loss = -(objective + self.config.entropy_weight * ent).mean()
            self.optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(self.policy.parameters(), self.config.grad_clip)
            self.optimizer.step()
            loss_value = float(loss.detach())
        self.updates += 1
        return {"loss": loss_value, "baseline": float(self.baseline or 0.0), "entropy": float(ent.detach().mean())}

    # -- state --------------------------------------------------------------------------------

    def state(self) -> tuple[dict, dict[str, torch.Tensor]]:
        """(JSON-able scalars, tensors) that restore this controller exactly, sampling stream included."""
        meta = {"baseline": self.baseline, "reward_var": self.reward_var, "updates": self.updates}
        tensors = {f"policy.{k}": v.detach().clone() for k, v in self.policy.state_dict().items()}
        tensors["generator"] = self.generator.get_state()
        opt = self.optimizer.state_dict()
        for pid, st in opt["state"].items():
            for name, value in st.items():  # copies: later steps must not change a saved state
                tensors[f"adam.{pid}.{name}"] = value.detach().clone() if torch.is_tensor(value) else torch.tensor(value)
        return meta, tensors

    def load_state(self, meta: dict, tensors: dict[str, torch.Tensor]) -> None:
        """Inverse of `state`."""
        self.baseline, self.updates = meta["baseline"], int(meta["updates"])
        self.reward_var = meta.get("reward_var")
        self.policy.load_state_dict({k[len("policy.") :]: v for k, v in tensors.items() if k.startswith("policy.")})
        self.generator.set_state(tensors["generator"])
        opt = self.optimizer.state_dict()
        state: dict[int, dict[str, torch.Tensor]] = {}
        for key, value in tensors.items():
            if key.startswith("adam."):
                _, pid, name = key.split(".", 2)
                state.setdefault(int(pid), {})[name] = value.clone()
        opt["state"] = state
        self.optimizer.load_state_dict(opt)

    @torch.no_grad()
    def choice_probability(self, prefix: Sequence[int]) -> torch.Tensor:
        """Probabilities of the categories of decision `len(prefix)` after the actions `prefix`."""
        with one_thread():
            return self._choice_probability(prefix)

    def _choice_probability(self, prefix: Sequence[int]) -> torch.Tensor:
        walk = self.space.walk()
        state = None
        token = torch.zeros(1, dtype=torch.long)
        for t in range(len(prefix) + 1):
            x = self.policy.action_embedding(token) + self.policy.step_embedding.weight[t]
            out, state = self.policy.lstm(x[:, None, :], state)
            if t == len(prefix):
                mask = torch.from_numpy(walk.mask())[None]
                return F.softmax(self._logits(out[:, 0], t).masked_fill(~mask, NEG_INF), dim=-1)[0]
            walk.step(prefix[t])
            token = torch.tensor([prefix[t] + self.policy.offsets[self.space.decisions[t].kind]])
        raise AssertionError("unreachable")


def _replay_masks(space: SearchSpace, actions: torch.Tensor) -> dict[str, torch.Tensor]:
    """Validity masks of every decision along known action sequences, grouped by decision kind."""
    per_kind: dict[str, list[np.ndarray]] = {}
    for row in actions.tolist():
        walk = space.walk()
        rows: dict[str, list[np.ndarray]] = {}
        for d, a in zip(space.decisions, row):
            rows.setdefault(d.kind, []).append(walk.mask())
            walk.step(a)
        for kind, masks in rows.items():
            per_kind.setdefault(kind, []).append(np.stack(masks))
    return {kind: torch.from_numpy(np.stack(m)) for kind, m in per_kind.items()}
