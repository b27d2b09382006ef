"""Rules that turn a dataset's statistics and this machine's measured step times into candidate
proxies, cheapest first (what `spinenas proxy-design` then measures).

What is fixed by rule, from the built-in proxy's ablations (docs/proxy.md) and the data:
- group norm and AdamW: batch norm at CPU batch sizes estimates the coarse levels'
  statistics from a handful of values (seed noise), and AdamW leaves the focal-loss plateau
  sooner than SGD at a few hundred steps;
- batch 8 (4 when the training split is tiny);
- the anchor size that covers the most boxes at the chosen input size (2 on ties: P3..P6 share
  the objects rather than leaving P6/P7 idle);
- the data share: the steps that fit are spread over whole epochs; where they end mid-epoch, each
  epoch takes the share of the images that fills it (never more steps than the budget allows).
What is measured, because no rule predicts it: the input size (the smallest that shows the
objects, and the next one up), the number of steps (what fits the budget, and half of it), and the
learning rate (0.001 and 0.003; the reference trains at 0.001: on BCCD's blood cells at 200 steps
both take 11 of 14 runs off the prior, at mean AP 0.088 against 0.065, and on the crowded scenes
0.006 was worse than 0.003: benchmarks/runs/bccd-lottery-2026-12-07). A user who has seen which
sizes and rates learn their data (an earlier design) narrows both (`narrowed`: --sizes, --lrs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Sequence

from search_space.errors import ConfigError

SIZES = (128, 256, 384, 512)
ANCHOR_SIZES = (2.0, 3.0, 4.0)
LEARNING_RATES = (0.001, 0.003)
REFERENCE_LR = 0.001  # the reference's: the lower of the two, which left the prior as often and scored higher on BCCD
# Fewer steps than this leave learnable architectures on the focal-loss plateau on dense data: on the
# crowded scenes (128 px, batch 8, AdamW 0.003) 76 steps left 7 of 14 runs there (an architecture
# that 228 steps take out among them; the 74-step proxies of an earlier design left R50-FPN there),
# 228 steps only the two architectures the 950-step reference leaves there too
# (benchmarks/recipe_breakout.py, RESULTS.md). One large object per image (raccoon) is out at 60
# steps already; a floor of 100 costs such data 40 steps, not a lottery.
MIN_STEPS = 100
MIN_MEDIAN_PX = 16.0  # the median box's side at the input size: P3's smallest anchor (2 x stride 8)
MAX_SMALL_SHARE = 0.10  # share of boxes under 8 px (P3's stride) a size may leave


@dataclass(frozen=True)
class StepTiming:
    """What one input size costs on this machine: seconds per training step, the fixed cost of a
    trial (building the model, the first step's extra, evaluation), and the resident memory a
    trial's process peaked at (None: not measured)."""

    image_size: int
    step_s: float
    fixed_s: float
    peak_mb: float | None = None

    def steps_within(self, budget_s: float) -> int:
        # The 1e-9 keeps `steps_within(seconds(n)) == n`: the division alone lands just under n
        # for about half of all timings, and int() then drops a whole step.
        return max(0, int((budget_s - self.fixed_s) / self.step_s + 1e-9))

    def seconds(self, steps: int) -> float:
        return self.fixed_s + steps * self.step_s


@dataclass(frozen=True)
class ProxyCandidate:
    """One proxy under test: a name, the proxy fields it sets, its steps and predicted trial time."""

    name: str
    overrides: dict[str, Any]
    steps: int
    est_trial_s: float

    def describe(self) -> str:
        o = self.overrides
        share = f", {o['data.max_train_images']} images" if o.get("data.max_train_images") else ""
        return (
            f"{o['image_size']} px, {self.steps} steps ({o['epochs']} ep{share}), batch {o['batch_size']}, "
            f"lr {o['optim.lr']:g}, anchor {o['model.anchor_size']:g}, {o['model.norm']} norm"
        )


@dataclass
class DesignRules:
    """The rule-fixed choices and the sizes worth measuring, with the reasons (for the report)."""

    sizes: list[int]
    anchor_size: float
    batch_size: int
    reasons: list[str] = field(default_factory=list)
    learning_rates: tuple[float, ...] = LEARNING_RATES


def narrowed(rules: DesignRules, sizes: Sequence[int] = (), learning_rates: Sequence[float] = ()) -> DesignRules:
    """The rules with the user's choice of input sizes and learning rates in place of the derived
    ones (an earlier design may have shown which learn this data); a size outside SIZES is refused."""
    if bad := [s for s in sizes if s not in SIZES]:
        raise ConfigError(f"--sizes {','.join(map(str, bad))}: a design measures {', '.join(map(str, SIZES))} px only")
    if bad_lr := [lr for lr in learning_rates if not 0 < lr < 1]:
        raise ConfigError(f"--lrs {','.join(f'{lr:g}' for lr in bad_lr)}: a learning rate must be in (0, 1)")
    reasons = list(rules.reasons)
    if sizes:
        reasons.append(f"input sizes as given (--sizes): {', '.join(f'{s} px' for s in sorted(set(sizes)))}, where the data's rule says {', '.join(f'{s} px' for s in rules.sizes)}")
    if learning_rates:
        reasons.append(f"learning rates as given (--lrs): {', '.join(f'{lr:g}' for lr in sorted(set(learning_rates)))}")
    return replace(
        rules, sizes=sorted(set(sizes)) if sizes else rules.sizes, learning_rates=tuple(sorted(set(learning_rates))) if learning_rates else rules.learning_rates, reasons=reasons
    )


def rules_from_stats(stats: Mapping[str, Any]) -> DesignRules:
    """Input sizes to measure, anchor size and batch from `proxy_tasks.stats` numbers (train split)."""
    train = stats["train"]
    at = {int(k): v for k, v in train["at_input_size"].items()}
    first = next((s for s in SIZES if at.get(s) and at[s]["median_px"] >= MIN_MEDIAN_PX and at[s]["share_under_small"] <= MAX_SMALL_SHARE), SIZES[-1])
    sizes = [first] + ([SIZES[SIZES.index(first) + 1]] if first != SIZES[-1] else [])
    reasons = [
        f"input {first} px: the smallest size where the median box is >= {MIN_MEDIAN_PX:g} px ({at[first]['median_px']:.0f} px) "
        f"and <= {MAX_SMALL_SHARE:.0%} of boxes are under 8 px ({at[first]['share_under_small']:.1%}); {sizes[-1]} px is measured too"
    ]
    anchor, coverage = best_anchor(train, first)
    reasons.append(f"anchor size {anchor:g} x stride: covers {coverage:.0%} of training boxes at {first} px")
    batch = 8 if train["images"] >= 64 else 4
    reasons.append(f"batch {batch}, group norm, AdamW (the built-in proxy's lessons: docs/proxy.md)")
    return DesignRules(sizes, anchor, batch, reasons)


def best_anchor(train: Mapping[str, Any], size: int) -> tuple[float, float]:
    """The anchor size (x stride) whose P3..P7 anchors cover the most boxes at `size`, from the
    relative-size percentiles: a box is covered when its side lies between half the smallest
    anchor and 1.5 times the largest (IoU 0.5 is reachable). Ties go to the smaller anchor."""
    rel = train["relative_size"]
    # Three percentiles stand in for the distribution (10th, median, 90th); the histogram would be finer,
    # but anchors this coarse (octaves) do not need it.
    px = [rel[k] * size for k in ("p10", "median", "p90")]
    best = (ANCHOR_SIZES[0], -1.0)
    for a in ANCHOR_SIZES:
        lo, hi = a * 8 / 2, a * 128 * 2 ** (2 / 3) * 1.5
        cover = sum(lo <= p <= hi for p in px) / len(px)
        if cover > best[1] + 1e-9:
            best = (a, cover)
    return best


def candidates(
    rules: DesignRules, timings: Mapping[int, StepTiming], budget_s: float, num_train: int, memory_mb: float | None = None
) -> tuple[list[ProxyCandidate], list[str]]:
    """Candidate proxies that fit `budget_s` per trial and (when given) `memory_mb` per trial,
    cheapest first, and notes on what did not fit."""
    out: list[ProxyCandidate] = []
    notes = []
    for size in rules.sizes:
        timing = timings[size]
        if memory_mb is not None and timing.peak_mb is not None and timing.peak_mb > memory_mb:
            notes.append(f"{size} px does not fit the memory: a trial peaked at {timing.peak_mb / 1024:.1f} GB, {memory_mb / 1024:.1f} GB is each trial's share here")
            continue
        most = timing.steps_within(budget_s)
        if most < MIN_STEPS:
            notes.append(
                f"{size} px does not fit {budget_s:.0f} s: {most} steps (needs {MIN_STEPS}, about {math.ceil(timing.seconds(MIN_STEPS))} s; "
                f"{timing.step_s * 1000:.0f} ms/step + {timing.fixed_s:.0f} s fixed)"
            )
            continue
        for steps in sorted({max(MIN_STEPS, most // 2), most}):
            for lr in rules.learning_rates:
                out.append(_candidate(rules, timing, steps, lr, num_train))
    unique = {repr(sorted(c.overrides.items())): c for c in out}  # steps rounded to whole epochs may coincide
    out = sorted(unique.values(), key=lambda c: (c.est_trial_s, c.overrides["optim.lr"]))
    return [ProxyCandidate(f"p{k}", c.overrides, c.steps, c.est_trial_s) for k, c in enumerate(out)], notes


def _candidate(rules: DesignRules, timing: StepTiming, steps: int, lr: float, num_train: int) -> ProxyCandidate:
    batch = rules.batch_size
    per_epoch = max(1, num_train // batch)
    if steps >= per_epoch:  # whole epochs over a share of the images where the steps end mid-epoch
        epochs = math.ceil(steps / per_epoch)
        images = (steps // epochs) * batch
        share = images if images < num_train else None
        steps = epochs * (images // batch)
    else:  # fewer steps than an epoch: train one epoch on the images the steps reach
        epochs, share = 1, steps * batch
    overrides: dict[str, Any] = {
        "image_size": timing.image_size,
        "epochs": epochs,
        "batch_size": batch,
        "model.norm": "group",
        "model.anchor_size": rules.anchor_size,
        "optim.optimizer": "adamw",
        "optim.lr": lr,
        "optim.warmup_steps": min(30, max(1, steps // 10)),
    }
    if share is not None:  # else the configured data (and any share the user set) stays as it is
        overrides["data.max_train_images"] = share
    return ProxyCandidate("", overrides, steps, timing.seconds(steps))


def reference_overrides(rules: DesignRules, timings: Mapping[int, StepTiming], longest: ProxyCandidate, budget_s: float, num_train: int) -> tuple[dict[str, Any], int, float]:
    """The reference training: longer and, where it is affordable, larger than any candidate. It
    trains at the next input size up when `budget_s` (the reference's own budget) gives it at least
    twice the longest candidate's steps there, else at the candidate's size for as many steps as
    the budget allows (at least 3x the longest candidate's). Returns overrides, steps, predicted s."""
    size = longest.overrides["image_size"]
    larger = next((s for s in SIZES if s > size and s in timings), None)
    if larger is not None and timings[larger].steps_within(budget_s) >= 2 * longest.steps:
        size = larger
    steps = max(3 * longest.steps, timings[size].steps_within(budget_s)) if size == longest.overrides["image_size"] else timings[size].steps_within(budget_s)
    ref = _candidate(rules, timings[size], steps, REFERENCE_LR, num_train)
    return ref.overrides, ref.steps, ref.est_trial_s


def score(seed_tau: float | None, snr: float | None, ref_tau: float | None, thresholds: Mapping[str, float]) -> float:
    """How close a proxy comes to ranking: the smallest of its numbers as a share of their
    thresholds (>= 1: every threshold met); a missing number counts as 0."""
    parts = []
    for value, key in ((seed_tau, "seed_tau"), (snr, "snr"), (ref_tau, "reference_tau")):
        parts.append(0.0 if value is None or (isinstance(value, float) and math.isnan(value)) else value / thresholds[key])
    return min(parts)
