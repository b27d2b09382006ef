"""New kinds registered at run time (here, not in nas/), run through search, fidelity and
trials.csv with nothing else changed: docs/code.md's recipes, as tests.

The kinds live in this module: the Ray workers unpickle the options by reference, import this
module and so register them too, as a user's plugin module would be.
"""

from dataclasses import dataclass

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nas.commands.cli import COMMANDS, Command, main, register_command
from nas.commands.fidelity import FidelityOptions, run_fidelity
from nas.commands.search import run_search
from nas.core.objectives import Objective
from nas.core.pareto import front_indices
from nas.evaluators import EVALUATORS, EvaluatorKind, Reference
from nas.evaluators.joined import JOINED, joined_kind
from nas.reporting.run_folder import read_csv_records
from nas.rewards import REWARDS, RewardKind, compute_reward, metric_value
from nas.screening.options import SCREEN_KINDS, ScreenOptions, screen_kind
from nas.settings.options import option
from nas.settings.search import check_resumable, load_settings, resume_fixed
from proxy_tasks.datasets import LABEL_FORMATS, LabelFormat
from proxy_tasks.labels.common import CocoBuilder, LabelSplit, image_size
from search_space.catalog import get_architecture
from search_space.errors import ConfigError
from search_space.spec import level_filters, load_architecture


@dataclass
class DepthOptions:
    """`proxy=base_depth`: a training-free score, the share of blocks at levels 4 and up, plus noise."""

    name: str = "depth"
    label: str = "depth"
    seed: int = 0
    noise: float = 0.02

    def validate(self) -> None:
        if self.noise < 0:
            raise ValueError(f"proxy.noise must be >= 0, got {self.noise}")


class DepthEvaluator:
    epochs = None

    def __init__(self, options: DepthOptions) -> None:
        self.options = options

    def check(self) -> None:
        pass

    def fit_to_trial(self, gpus: float) -> None:
        pass

    def evaluate(self, arch, ctx):
        deep = float(np.mean([b.level >= 4 for b in arch.blocks])) if arch.blocks else 0.0  # the R50-FPN seed has no SpineNet blocks
        noise = np.random.default_rng([self.options.seed, int(arch.id[:8], 16)]).normal(0.0, self.options.noise)
        return {"AP": deep + noise, "depth_share": deep, **self.cost(arch, ctx.preset)}

    def cost(self, arch, preset):
        width = sum(level_filters(b.level) for b in arch.blocks)  # a stand-in cost, from the spec alone
        return {"params": width * 1000, "flops": width * 10**6}

    def reference(self, epochs: int) -> Reference:
        return Reference({"noise": 0.0}, "noise-free share", 1.0)

    def trial_seconds(self, result, scheduler, steps):
        return float(result["wall_s"]), {"trial_s": float(result["wall_s"])}


@dataclass
class SmallOptions:
    """`reward=base_ap_and_params`: the metric, and params as a second objective the scalar leaves out."""

    name: str = "ap_and_params"
    metric: str = "AP"

    def validate(self) -> None:
        pass


def _small_objectives(o: SmallOptions) -> tuple[Objective, ...]:
    return Objective(o.metric), Objective("params", "min", in_reward=False)


if "depth" not in EVALUATORS:
    EVALUATORS.register("depth", lambda: EvaluatorKind(DepthOptions, DepthEvaluator, metrics=("AP", "depth_share", "flops", "params")))
if "ap_and_params" not in REWARDS:
    REWARDS.register("ap_and_params", lambda: RewardKind(SmallOptions, lambda m, o: metric_value(m, o.metric), _small_objectives, front=True))

@dataclass
class EnergyOptions:
    """`energy.*`: a joined metric of the user's, millijoules per image (a stand-in: per 64 filters)."""

    mj_per_64_filters: float = 0.5

    def validate(self) -> None:
        if self.mj_per_64_filters <= 0:
            raise ValueError(f"energy.mj_per_64_filters must be > 0, got {self.mj_per_64_filters}")


class EnergyEvaluator:
    """Adds `energy_mj` to every trial whose reward trades against it (one registration below)."""

    def __init__(self, options: EnergyOptions, preset: str, space) -> None:
        self.options = options

    def check(self) -> None:
        pass

    def evaluate(self, arch, ctx=None):
        return {"energy_mj": energy_mj(arch, self.options)}


def energy_mj(arch, options: EnergyOptions = EnergyOptions()) -> float:
    return options.mj_per_64_filters * sum(level_filters(b.level) for b in arch.blocks) / 64


@dataclass
class EnergyRewardOptions(SmallOptions):
    """`reward=base_ap_and_energy`: the metric, and the joined metric energy_mj as a second objective."""

    name: str = "ap_and_energy"


if "energy" not in JOINED:
    joined_kind("energy", provides=("energy_mj",), group="energy", options=EnergyOptions)(EnergyEvaluator)
if "ap_and_energy" not in REWARDS:
    REWARDS.register("ap_and_energy", lambda: RewardKind(
        EnergyRewardOptions, lambda m, o: metric_value(m, o.metric), lambda o: (Objective(o.metric), Objective("energy_mj", "min", in_reward=False)), front=True,
    ))  # fmt: skip


class DeepestScreen:
    """A screen of the user's: of `candidates` proposals, the one with the most blocks at levels 4
    and up (no learning; `observe` counts what it was shown)."""

    def __init__(self, space, candidates: int) -> None:
        self.space, self.candidates, self.seen = space, candidates, 0

    def choose(self, propose):
        from nas.screening.screen import Choice

        proposals = [propose() for _ in range(self.candidates)]
        share = [float(np.mean([b.level >= 4 for b in self.space.decode(p.actions).blocks])) for p in proposals]
        best = int(np.argmax(share))
        return Choice(proposals[best], share[best], 0.0)

    def observe(self, actions, arch_id, reward) -> None:
        self.seen += 1


if "deepest" not in SCREEN_KINDS:

    @screen_kind("deepest")
    @dataclass
    class DeepestOptions(ScreenOptions):
        """`screen=base_deepest`: one registration next to the options, nothing in nas/ changed."""

        name: str = "deepest"
        candidates: int = 8

        def build(self, space, seed, evaluator=None, preset=None):
            return DeepestScreen(space, self.candidates)


KINDS = ["proxy=base_depth", "reward=base_ap_and_params"]
FRONT = ["searcher=pareto", "searcher.cost=params"]  # the searcher that learns from both of the reward's objectives
ENERGY = ["proxy=base_depth", "reward=base_ap_and_energy", "searcher=pareto", "searcher.cost=energy_mj"]  # a cost no evaluator measures: the joined kind brings it


def test_an_evaluator_kind_without_a_seed_is_refused_when_registered():
    @dataclass
    class NoSeed:
        name: str = "x"
        label: str = "x"

    with pytest.raises(TypeError, match="NoSeed lack seed"):
        EvaluatorKind(NoSeed, DepthEvaluator)


def test_the_new_reward_declares_two_objectives_and_needs_a_searcher_that_learns_both(tmp_path):
    assert compute_reward({"AP": 0.4, "params": 10}, SmallOptions()) == 0.4
    with pytest.raises(ConfigError, match="searcher=reinforce would learn from AP alone, not from params; use searcher=pareto"):
        run_search([*KINDS, "trials=2", f"out_dir={tmp_path / 'r'}"])
    with pytest.raises(ConfigError, match="searcher=pareto trades AP against latency_ms, and reward=ap_and_params declares AP \\(max\\), params \\(min\\)"):
        run_search([*KINDS, "searcher=pareto", "trials=2", f"out_dir={tmp_path / 'p'}"])
    assert not (tmp_path / "r").exists() and not (tmp_path / "p").exists()


@dataclass(frozen=True)
class LevelsOptions:
    """`spinenas levels`: a command of the user's (one options class, one function, one registration)."""

    arch: str = option(help="catalog name or spec file", positional=True)
    json: bool = option(False, "print one JSON object")


def cmd_levels(args: LevelsOptions, _: list[str]) -> int:
    """How many blocks of the architecture sit at each level."""
    arch = get_architecture(args.arch)
    counts = {level: sum(b.level == level for b in arch.blocks) for level in sorted({b.level for b in arch.blocks})}
    print(json.dumps(counts) if args.json else " ".join(f"L{k}:{n}" for k, n in counts.items()))
    return 0


if "levels" not in COMMANDS:
    register_command(Command("levels", cmd_levels, "blocks per level of an architecture", options=LevelsOptions))


def test_a_new_command_is_one_function_and_one_registration(capsys):
    """The parser is generated from the registry when the command line is read, so a command
    registered from outside nas/ (here, as by a plugin) has its options, help and refusals."""
    assert main(["levels", "spinenet49", "--json"]) == 0
    counts = json.loads(capsys.readouterr().out)
    blocks = get_architecture("spinenet49").blocks
    assert sum(counts.values()) == len(blocks) and counts["2"] == sum(b.level == 2 for b in blocks)
    assert main(["levels", "nope"]) == 2 and "unknown architecture 'nope'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["levels", "spinenet49", "--jsn"])
    assert "unrecognized arguments: --jsn" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "blocks per level of an architecture" in capsys.readouterr().out
    with pytest.raises(ValueError, match="command 'data' is already registered"):
        register_command(Command("data", cmd_levels, "a second data"))
    with pytest.raises(ValueError, match="command 'levels' is already registered"):
        register_command(Command("levels", cmd_levels, "again"))


def test_a_new_joined_metric_is_one_class_and_one_registration():
    """The reward's cost selects the joined kind that provides it, built from its own options; a cost
    that neither the evaluator nor a joined kind provides is refused at load, before anything runs."""
    settings = load_settings(ENERGY)
    assert [type(j) for j in settings.joined] == [EnergyEvaluator] and "energy_mj" in settings.metrics
    arch = get_architecture("spinenet49")
    assert settings.joined[0].evaluate(arch) == {"energy_mj": pytest.approx(energy_mj(arch))} and energy_mj(arch) > 0
    assert load_settings(KINDS + FRONT).joined == ()  # params: the depth evaluator measures it itself
    assert [type(j).__name__ for j in load_settings(["reward=pareto", "searcher=pareto"]).joined] == ["LatencyEvaluator"]  # the built-in joined kind, by the same lookup
    with pytest.raises(ConfigError, match="the reward trades AP against flops, and proxy=surrogate measures no flops"):
        load_settings(["proxy=surrogate", "reward=flops_budget", "reward.target_flops=1e9"])


def test_a_joined_kind_registered_from_outside_has_its_own_config_group():
    """The energy kind registered by this module (after nas.settings was imported, as a plugin is)
    takes its options from the command line, typed and validated, and config.yaml records them."""
    settings = load_settings([*ENERGY, "energy.mj_per_64_filters=2.0"])
    assert "energy" in resume_fixed()  # a search may not resume with other energy options
    arch = get_architecture("spinenet49")
    assert settings.joined[0].evaluate(arch)["energy_mj"] == pytest.approx(4 * energy_mj(arch))  # 2.0 against the default 0.5
    assert settings.record()["energy"] == {"mj_per_64_filters": 2.0}
    assert load_settings(ENERGY).joined[0].options == EnergyOptions()  # no conf/energy/: the options' defaults
    # A search whose reward measures no energy does not record the group: its folder is read back
    # (finalize, fidelity) where the plugin is not loaded. The built-in latency group stays.
    plain = load_settings(["proxy=base_depth"])
    assert "energy" not in plain.record() and "latency" in plain.record()


def test_a_folder_that_recorded_an_unused_plugin_group_still_resumes(tmp_path):
    """Before 2026-12-07 config.yaml recorded every registered joined group, used or not: such a
    folder resumes with the same settings; a used group that changed is still refused."""
    from omegaconf import OmegaConf

    plain = load_settings(["proxy=base_depth"])
    old = plain.record()
    old["energy"] = {"mj_per_64_filters": 0.5}  # what a search made with the plugin loaded wrote
    OmegaConf.save(old, tmp_path / "config.yaml")
    check_resumable(tmp_path, plain.record(), resume_fixed())
    used = load_settings(ENERGY)
    OmegaConf.save(used.record(), tmp_path / "config.yaml")
    with pytest.raises(ConfigError, match=r"resume: 'energy.mj_per_64_filters' differs .*run: 0.5, now: 2.0"):
        check_resumable(tmp_path, load_settings([*ENERGY, "energy.mj_per_64_filters=2"]).record(), resume_fixed())
    with pytest.raises(ConfigError, match=r"unknown config key 'energy.nope' \(EnergyOptions's keys: mj_per_64_filters\)"):
        load_settings([*ENERGY, "energy.nope=1"])
    with pytest.raises(ConfigError, match="energy.mj_per_64_filters must be > 0, got -1.0"):
        load_settings([*ENERGY, "energy.mj_per_64_filters=-1"])
    with pytest.raises(ConfigError, match="energy.mj_per_64_filters: 'lots' is not a float"):
        load_settings([*ENERGY, "energy.mj_per_64_filters=lots"])


@pytest.mark.slow
def test_new_kinds_run_through_search_and_fidelity(tmp_path, shared_ray):
    """A Pareto search over (AP, params) on the new evaluator: trials.csv gets its declared metric
    as a column, the searcher learns from params, and fidelity ranks the new evaluator against its reference."""
    out = tmp_path / "search"
    run_search([*ENERGY, "searcher.population=4", "trials=8", f"out_dir={out}"])  # the new evaluator, reward and joined metric together
    records = read_csv_records(out / "trials.csv")
    assert len(records) == 8 and "depth_share" in records[0] and "energy_mj" in records[0]
    for r in records:
        assert r["status"] == "ok" and 0.0 <= float(r["depth_share"]) <= 1.0 and int(r["params"]) > 0 and float(r["energy_mj"]) > 0
        assert float(r["reward"]) == pytest.approx(float(r["AP"]))  # the scalar is the metric alone
    # The front is over the reward's declared cost (energy here, not latency): its members are the
    # non-dominated trials, each spec's energy the one its row carries.
    pts = [(float(r["energy_mj"]), float(r["AP"])) for r in records]
    front = read_csv_records(out / "pareto.csv")
    assert sorted(int(f["trial"]) for f in front) == sorted(int(records[i]["number"]) for i in front_indices(pts))
    assert all(float(f["energy_mj"]) == pytest.approx(energy_mj(load_architecture(out / f["spec"]))) for f in front)
    assert "Accuracy against energy_mj (the front)" in (out / "report.html").read_text()

    options = FidelityOptions(archs=5, seeds=2, reference_epochs=1)
    summary = run_fidelity([*KINDS, *FRONT, f"out_dir={tmp_path / 'fid'}"], options).summary
    rows = read_csv_records(tmp_path / "fid" / "fidelity.csv")
    n = len(summary["archs"])
    assert n >= 7 and len(rows) == n * 3 and all(r["status"] == "ok" for r in rows)  # drawn + anchors, 2 seeds and a reference each
    ref = {a["arch_id"]: a["reference"] for a in summary["archs"]}
    deep = {r["arch_id"]: float(r["depth_share"]) for r in rows}
    assert all(ref[k] == pytest.approx(deep[k]) for k in ref)  # the reference is the noise-free share
    assert summary["reference_kendall_tau"] > 0.5


def read_jsonl(d):
    """A label format of one JSON line per image: {"file": ..., "boxes": [[x1, y1, x2, y2, class], ...]},
    in <root>/train.jsonl and <root>/val.jsonl, the images in <root>/images."""
    root = Path(d.root)
    splits = []
    for split in ("train", "val"):
        path = root / f"{split}.jsonl"
        lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        builder = CocoBuilder(sorted({b[4] for rec in lines for b in rec["boxes"]}), d.bad_boxes)
        for k, rec in enumerate(lines, 1):
            width, height = image_size(root / "images" / rec["file"], f"{path}: line {k}")
            image_id = builder.add_image(rec["file"], width, height)
            for box in rec["boxes"]:
                builder.add_box(f"{path}: line {k}", image_id, box[4], box[:4])
        splits.append(LabelSplit(builder, root / "images", path).dataset())
    return splits[0], splits[1]


if "jsonl" not in LABEL_FORMATS:
    LABEL_FORMATS.register("jsonl", lambda: LabelFormat(("root",), read_jsonl))


def write_jsonl_dataset(root: Path, n_train: int = 8, n_val: int = 4) -> None:
    """Squares of one class on noise, 96 px, written as the format above (one degenerate box among them)."""
    rng = np.random.default_rng(0)
    (root / "images").mkdir(parents=True)
    for split, n in (("train", n_train), ("val", n_val)):
        lines = []
        for k in range(n):
            img = rng.integers(0, 60, size=(96, 96, 3), dtype=np.uint8)
            x, y = (int(v) for v in rng.integers(8, 48, size=2))
            img[y : y + 32, x : x + 32] = 220
            name = f"{split}{k}.png"
            Image.fromarray(img).save(root / "images" / name)
            boxes = [[x, y, x + 32, y + 32, "square"]] + ([[5, 5, 5, 9, "square"]] if k == 0 and split == "train" else [])
            lines.append(json.dumps({"file": name, "boxes": boxes}))
        (root / f"{split}.jsonl").write_text("\n".join(lines) + "\n")


def test_a_new_label_format_is_read_checked_and_trained_on(tmp_path, capsys):
    """`data stats` reads it with every check (the zero-width box dropped and counted), and the trial
    code a worker runs trains the proxy detector on it."""
    from nas.runner.trial import TrialSpec, run_trial
    from nas.settings.search import load_settings

    write_jsonl_dataset(tmp_path / "d")
    data = ["proxy=synthetic_tiny", "proxy.data.synthetic=null", "proxy.data.format=jsonl", f"proxy.data.root={tmp_path / 'd'}"]
    assert main(["data", "stats", *data]) == 0
    out = capsys.readouterr().out
    assert f"1 empty or sub-pixel boxes dropped (proxy.data.bad_boxes=drop): {tmp_path / 'd' / 'train.jsonl'} (1)" in out
    assert main(["data", "stats", *data[:-2], "proxy.data.format=jsonz", f"proxy.data.root={tmp_path / 'd'}"]) == 2
    assert "proxy.data.format: unknown 'jsonz'; valid: coco, voc, yolo, csv, jsonl" in capsys.readouterr().err

    settings = load_settings([*data, "proxy.epochs=1", "proxy.batch_size=4"])
    arch = get_architecture("spinenet49")
    result = run_trial({"arch": arch.to_dict(), "arch_id": arch.id}, TrialSpec(settings.proxy, settings.reward, "spinenet49", threads=1))
    assert result["status"] == "ok", result.get("error")
    assert 0.0 <= result["AP"] <= 1.0 and result["steps"] == 2


def test_a_new_screen_kind_is_one_class_and_one_registration(tmp_path, shared_ray):
    """`@screen_kind` next to the options: the config group takes it (its own keys, checked), the
    runner puts it in front of the searcher, trials.csv records its scores."""
    with pytest.raises(ConfigError, match="unknown config key 'screen.kappa' \\(screen deepest's keys: candidates\\)"):
        run_search(["proxy=surrogate", "screen=base_deepest", "screen.kappa=1", f"out_dir={tmp_path / 'bad'}"])
    out = tmp_path / "screened"
    run_search(["proxy=surrogate", "searcher=random", "screen=base_deepest", "screen.candidates=16", "trials=6", f"out_dir={out}"])
    rows = read_csv_records(out / "trials.csv")
    scores = [float(r["screen_score"]) for r in rows]
    # The deepest of 16 random draws each trial: its mean over 6 trials is over 0.81 (0.82-0.90 in
    # 33 simulated searches); 6 unscreened draws average at most 0.80 (200 simulated).
    assert len(rows) == 6 and np.mean(scores) > 0.81
