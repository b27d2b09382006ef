"""The searchers' shared contract: Ray Tune's `Searcher`, over a SpineNAS search space.

A searcher searches and nothing else: it proposes action sequences (`suggest` decodes them into
architecture configs for the trial), learns from completions (`complete` turns a result into a
`Completion` and learns from it; Tune's `on_trial_complete` calls it), and saves and restores its
state. What a completion writes (trials.csv, the report, TensorBoard, when the state is saved) is
the runner's and its recorder's business. Errors, repeats and results without a reward are logged
and given the failure reward, never raised. State is saved
as explicit JSON plus a tensor file named by its content hash (`<path>.<sha>.pt`, loaded with
weights_only), each written atomically: the tensors first, then the JSON that names them, then older
tensor files are removed, so a process killed at any point leaves a JSON whose tensors exist.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from ray.tune.search import Searcher

from nas.core.proposal import Completion, Proposal
from nas.core.status import FINISHED, TrialStatus
from search_space.errors import InputError
from search_space.fileio import atomic_write_bytes, atomic_write_text
from search_space.space import SearchSpace

log = logging.getLogger("spinenas.searcher")
STATE_FORMAT = 1


class ArchSearcher(Searcher):
    """Base of every SpineNAS searcher.

    Args:
        space: the search space.
        seed: seeds every random choice of the searcher.
        failure_reward: reward given for failed trials (errors, NaN, missing metric).
        dedup: re-use the result of an architecture already trained instead of training it again.
        stopped_reward: what a trial stopped early by the scheduler teaches: "rung" learns from the
            reward at the rung where it was stopped, "skip" learns nothing (see nas/core/schedule.py).
    """

    name = "base"

    def __init__(
        self,
        space: SearchSpace,
        seed: int = 0,
        failure_reward: float = 0.0,
        dedup: bool = True,
        stopped_reward: str = "rung",
    ) -> None:
        super().__init__(metric="reward", mode="max")
        self.space, self.seed, self.stopped_reward = space, seed, stopped_reward
        self.failure_reward, self.dedup = failure_reward, dedup
        self.pending: dict[str, Proposal] = {}
        self.completed: list[str] = []
        self.cache: dict[str, dict[str, Any]] = {}  # arch id -> result of its first successful training
        self.history: list[dict[str, float]] = []  # per policy update: mean reward, entropy, ... (none without a policy)

    # -- what subclasses provide ------------------------------------------------------------------

    def propose(self) -> Proposal:
        """The next proposal."""
        raise NotImplementedError

    def learn(self, completion: Completion) -> None:
        """Update from a finished trial."""
        raise NotImplementedError

    def algorithm_state(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        """(JSON-able scalars, tensors) of the algorithm."""
        raise NotImplementedError

    def load_algorithm_state(self, meta: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
        raise NotImplementedError

    # -- Tune's Searcher contract ------------------------------------------------------------------

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict, **spec: Any) -> bool:
        return True  # metric and mode are fixed: reward, max

    def suggest(self, trial_id: str, proposal: Proposal | None = None) -> dict[str, Any] | None:
        """The trial's config from `proposal` (one of this searcher's own, chosen by a screen,
        `nas.runner.screened`), or from a fresh one."""
        proposal = proposal if proposal is not None else self.propose()
        arch = self.space.decode(proposal.actions)
        proposal.arch_id = arch.id
        config: dict[str, Any] = {"actions": list(proposal.actions), "arch": arch.to_dict(), "arch_id": arch.id}
        if self.dedup and arch.id in self.cache:
            proposal.cached = True
            config["cached_result"] = self.cache[arch.id]
        self.pending[trial_id] = proposal
        return config

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        self.complete(trial_id, result, error)

    def complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> Completion | None:
        """Classify a finished trial (ok, cached, stopped, failed), learn from it and return it; None
        for a trial this searcher has no proposal for (unknown, or completed already)."""
        proposal = self.pending.pop(trial_id, None)
        if proposal is None:
            log.warning("completion of unknown or already completed trial %s ignored", trial_id)
            return None
        result = dict(result or {})
        reward = result.get("reward")
        ok = not error and result.get("status", TrialStatus.OK) in (*FINISHED, TrialStatus.PARTIAL)
        if not ok or not isinstance(reward, (int, float)) or not math.isfinite(reward):
            if ok:
                result["error"] = result.get("error") or f"trial reported no finite reward (reward={reward!r})"
            elif result.get("status") == TrialStatus.CURVE:  # Tune stopped it mid-training (the search was ending)
                result["error"] = "trial ended before its final result (stopped by Tune)"
            elif error:
                result["error"] = result.get("error") or "trial failed in Ray (raised, or its worker was lost)"
            status, reward = TrialStatus.FAILED, self.failure_reward
        elif result.get("status") == TrialStatus.PARTIAL:
            status = TrialStatus.STOPPED  # ended by the scheduler at a rung; `reward` is that rung's
        else:
            status = TrialStatus.CACHED if proposal.cached else TrialStatus.OK
        completion = Completion(trial_id, proposal, float(reward), status, result)
        self._record(completion)
        return completion

    def replay(self, trial_id: str, proposal: Proposal, reward: float, status: str, result: dict[str, Any]) -> None:
        """Feed a trial finished in an earlier run that the saved state has not seen."""
        self._record(Completion(trial_id, proposal, reward, status, result))

    def _record(self, completion: Completion) -> None:
        """Cache a trained result, learn from the completion (a stopped trial by `stopped_reward`),
        and mark the trial completed."""
        if completion.status == TrialStatus.OK and self.dedup:
            self.cache.setdefault(completion.proposal.arch_id, _cacheable(completion.result))
        if completion.status != TrialStatus.STOPPED or self.stopped_reward == "rung":
            self.learn(completion)
        self.completed.append(completion.trial_id)

    def _space_key(self) -> dict[str, Any]:
        """What identifies the search space in a saved state."""
        return {"name": self.space.name, "block_adjustments": self.space.block_adjustments, "parent_window": self.space.parent_window}

    # -- state --------------------------------------------------------------------------------------

    def save(self, checkpoint_path: str) -> None:
        meta, tensors = self.algorithm_state()
        buf = io.BytesIO()
        torch.save(tensors, buf)
        blob = buf.getvalue()
        digest = hashlib.sha256(blob).hexdigest()
        path = Path(checkpoint_path)
        tensor_file = f"{path.name}.{digest[:16]}.pt"
        state = {
            "format": STATE_FORMAT,
            "searcher": self.name,
            "space": self._space_key(),
            "seed": self.seed,
            "completed": self.completed,
            "pending": {k: asdict(p) for k, p in self.pending.items()},
            "cache": self.cache,
            "algorithm": meta,
            "tensors_file": tensor_file,
            "tensors_sha256": digest,
        }
        atomic_write_bytes(path.with_name(tensor_file), blob)
        atomic_write_text(path, json.dumps(state, separators=(",", ":")))
        for old in path.parent.iterdir():  # earlier saves' tensors, and `<path>.pt` of format-1 saves before hashed names
            if old.name != tensor_file and old.name.startswith(path.name + ".") and old.name.endswith(".pt"):
                old.unlink(missing_ok=True)

    def restore(self, checkpoint_path: str) -> None:
        path = Path(checkpoint_path)
        try:
            state = json.loads(path.read_text())
            tensor_name = str(state.get("tensors_file", path.name + ".pt"))  # older saves: <path>.pt
            if Path(tensor_name).name != tensor_name:
                raise InputError(f"{path}: tensors_file {tensor_name!r} must be a file name beside it")
            tensor_path = path.with_name(tensor_name)
            blob = tensor_path.read_bytes()
        except (OSError, json.JSONDecodeError) as e:
            raise InputError(f"{path}: cannot read searcher state ({e})") from None
        if state.get("format") != STATE_FORMAT or state.get("searcher") != self.name:
            raise InputError(f"{path}: state of searcher {state.get('searcher')!r}, this is {self.name!r}")
        if state["space"] != self._space_key():
            raise InputError(f"{path}: saved for space {state['space']}, this search uses {self._space_key()}")
        if hashlib.sha256(blob).hexdigest() != state["tensors_sha256"]:
            raise InputError(f"{tensor_path} does not match {path} (changed or truncated after the save)")
        tensors = torch.load(io.BytesIO(blob), weights_only=True)
        self.completed = list(state["completed"])
        self.pending = {k: Proposal(**p) for k, p in state["pending"].items()}
        self.cache = dict(state["cache"])
        self.load_algorithm_state(state["algorithm"], tensors)


def _cacheable(result: dict[str, Any]) -> dict[str, Any]:
    """The part of a result worth re-using for a duplicate architecture (plain scalars)."""
    skip = {"trial_id", "node", "wall_s", "cpu_s", "gpu_s", "rungs", "status", "error", "timestamp", "date", "hostname", "pid"}
    return {k: v for k, v in result.items() if k not in skip and isinstance(v, (int, float, str, bool)) and not k.startswith("time_")}
