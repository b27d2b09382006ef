"""A learned predictor of an architecture's proxy score, with a spread from an ensemble.

Input: the architecture as numbers, by one of two encodings: `structure` (the default: the graph's
own features, `search_space.structure`: blocks and compute per level, parents' level gaps, each
output's depth, ancestors and route from the stem) or `adjacency` (the controller's decisions
one-hot, `search_space.encoding`), optionally followed by extra numbers per architecture (log10
FLOPs and params, zero-cost scores). On the benchmark table the structural encoding ranks held-out
architectures far better at every training size (benchmarks/table/predictor_curve.json). Output: the
ensemble's mean and standard deviation. Two model kinds, chosen by measurement on the benchmark
table (benchmarks/table/README.md):

- `gbr`: scikit-learn gradient-boosted trees, `MEMBERS` of them on different subsamples and seeds;
- `mlp`: `MEMBERS` small torch MLPs (two hidden layers) each on a bootstrap resample of the rows.

A predictor is saved as a `.npz` of plain arrays (`numpy.load(allow_pickle=False)` reads it back)
holding its training rows and settings; loading refits it, which is deterministic (fixed seeds, one
thread) and takes well under a second at table sizes. Nothing is pickled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from search_space.encoding import encode_architecture
from search_space.errors import ConfigError
from search_space.fileio import atomic_write_bytes
from search_space.space import SearchSpace, get_space
from search_space.structure import structural_features
from search_space.spec import Architecture

KINDS = ("gbr", "mlp")
ENCODINGS = ("structure", "adjacency")
MEMBERS = 5
FORMAT = "spinenas-predictor-1"


@dataclass
class Predictor:
    """Fit on (architecture, extras, score) rows of one space; `predict` gives mean and spread."""

    space: SearchSpace
    kind: str = "gbr"
    extras: tuple[str, ...] = ()  # names of the extra numbers that follow the encoding
    seed: int = 0
    encoding: str = "structure"
    actions: np.ndarray = field(default_factory=lambda: np.empty((0, 0), dtype=np.int64))
    extra_values: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))
    targets: np.ndarray = field(default_factory=lambda: np.empty(0))
    _members: list = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"predictor kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.encoding not in ENCODINGS:
            raise ConfigError(f"predictor encoding must be one of {', '.join(ENCODINGS)}, got {self.encoding!r}")

    def features(self, archs: Sequence[Architecture], extras: np.ndarray | None = None) -> np.ndarray:
        """The rows' feature matrix; an architecture outside the space raises `SpecError`."""
        for a in archs:
            self.space.encode(a)  # in the space, whatever the encoding: the screen and the table rely on it
        encode = encode_architecture if self.encoding == "adjacency" else lambda _space, a: structural_features(a)
        x = np.stack([encode(self.space, a) for a in archs]).astype(np.float64)
        return self._with_extras(x, extras)

    def _with_extras(self, x: np.ndarray, extras: np.ndarray | None) -> np.ndarray:
        if self.extras:
            if extras is None or np.shape(extras) != (len(x), len(self.extras)):
                raise ValueError(f"the predictor needs {len(self.extras)} extra values per architecture ({', '.join(self.extras)})")
            x = np.concatenate([x, np.asarray(extras, dtype=np.float64)], axis=1)
        return x

    def fit(self, archs: Sequence[Architecture], scores: Sequence[float], extras: np.ndarray | None = None) -> "Predictor":
        """Fit on `archs` and their `scores` (NaN scores left out)."""
        y = np.asarray(scores, dtype=np.float64)
        keep = np.isfinite(y)
        archs = [a for a, k in zip(archs, keep) if k]
        self.actions = np.array([self.space.encode(a) for a in archs], dtype=np.int64).reshape(len(archs), -1)
        self.extra_values = (np.asarray(extras, dtype=np.float64)[keep] if self.extras else np.empty((len(archs), 0)))
        self.targets = y[keep]
        return self._refit()

    def _refit(self) -> "Predictor":
        if len(self.targets) < 2:
            raise ConfigError(f"the predictor needs at least 2 scored architectures to fit, has {len(self.targets)}")
        archs = [self.space.decode(a) for a in self.actions]
        x = self.features(archs, self.extra_values if self.extras else None)
        fit = _fit_gbr if self.kind == "gbr" else _fit_mlp
        self._members = [fit(x, self.targets, self.seed + k) for k in range(MEMBERS)]
        return self

    def predict(self, archs: Sequence[Architecture], extras: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of the members' predictions per architecture."""
        if not self._members:
            raise ConfigError("the predictor has not been fitted")
        x = self.features(archs, extras)
        preds = np.stack([m(x) for m in self._members])
        return preds.mean(axis=0), preds.std(axis=0)

    @property
    def rows(self) -> int:
        return int(len(self.targets))

    def save(self, path: str | Path) -> Path:
        """The training rows and settings as a `.npz` of plain arrays, written atomically."""
        import io

        header = {"format": FORMAT, "space": self.space.name, "block_adjustments": self.space.block_adjustments,
                  "kind": self.kind, "extras": list(self.extras), "seed": self.seed, "encoding": self.encoding}  # fmt: skip
        buf = io.BytesIO()
        np.savez(buf, header=np.array(json.dumps(header)), actions=self.actions, extra_values=self.extra_values, targets=self.targets)
        path = Path(path)
        atomic_write_bytes(path, buf.getvalue())
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Predictor":
        """A saved predictor, refitted; `ConfigError` naming the file when it is not one."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                header = json.loads(str(data["header"]))
                actions, extra_values, targets = data["actions"], data["extra_values"], data["targets"]
        except FileNotFoundError:
            raise ConfigError(f"{path}: no such predictor file") from None
        except (OSError, ValueError, KeyError) as e:
            raise ConfigError(f"{path}: not a SpineNAS predictor ({e})") from None
        if header.get("format") != FORMAT:
            raise ConfigError(f"{path}: not a SpineNAS predictor (format {header.get('format')!r}, expected {FORMAT})")
        space = get_space(header["space"], block_adjustments=bool(header["block_adjustments"]))
        encoding = header.get("encoding", "adjacency")  # files written before the structural encoding used the adjacency one
        p = cls(space, header["kind"], tuple(header["extras"]), int(header["seed"]), encoding, actions, extra_values, targets)
        return p._refit()


def _fit_gbr(x: np.ndarray, y: np.ndarray, seed: int) -> Callable[[np.ndarray], np.ndarray]:  # a predict function
    from sklearn.ensemble import GradientBoostingRegressor

    model = GradientBoostingRegressor(n_estimators=200, learning_rate=0.05, max_depth=3, subsample=0.8, random_state=seed)
    model.fit(x, y)
    return model.predict


def _fit_mlp(x: np.ndarray, y: np.ndarray, seed: int, epochs: int = 300) -> Callable[[np.ndarray], np.ndarray]:  # a predict function
    import torch

    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(x), len(x))  # a bootstrap resample: the members disagree where data is thin
    mu, sd = x.mean(axis=0), x.std(axis=0)
    sd = np.where(sd > 1e-6, sd, 1.0)  # a feature constant in training (an unseen one-hot) stays unscaled
    ym, ys = float(y.mean()), float(y.std() + 1e-9)
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], 64), torch.nn.ReLU(), torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1))
    for p in net.parameters():
        with torch.no_grad():
            p.uniform_(-1, 1, generator=g).mul_(1 / np.sqrt(max(1, p.shape[-1])))
    xt = torch.tensor((x[idx] - mu) / sd, dtype=torch.float32)
    yt = torch.tensor((y[idx] - ym) / ys, dtype=torch.float32).unsqueeze(1)
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-2)
    for _ in range(epochs):
        opt.zero_grad()
        torch.nn.functional.mse_loss(net(xt), yt).backward()
        opt.step()
    net.eval()

    def predict(z: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return net(torch.tensor((z - mu) / sd, dtype=torch.float32)).squeeze(1).numpy() * ys + ym

    return predict
