"""The `spinenas` command line: show | train | split | data | search | plan | fidelity | proxy-design | finalize | export | latency | report."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from search_space.catalog import PRESETS, get_preset, preset_for, preset_name_for, resolve_architecture
from search_space.errors import SpineNASError
from search_space.spec import Architecture

if TYPE_CHECKING:
    from nas.settings.search import SearchSettings

EXIT_USAGE = 2


class UserError(SpineNASError):
    """A problem with the user's input: printed as one line, exit code 2, no traceback."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spinenas", description="Scale-permuted backbone search (SpineNet).")
    sub = parser.add_subparsers(dest="command", required=True)

    show = sub.add_parser("show", help="print an architecture's blocks, params and FLOPs; draw it")
    show.add_argument("arch", help="catalog name (spinenet49, resnet50_fpn, ...) or spec file (.yaml/.json)")
    show.add_argument("--preset", choices=sorted(PRESETS), help="scaling preset (default: the model's own, else spinenet49)")
    show.add_argument("--image-size", type=int, help="square input size, divisible by 128 (default: the preset's)")
    show.add_argument("--with-head", action="store_true", help="count the RetinaNet head too (as the paper's FLOPs do)")
    show.add_argument("--num-classes", type=int, default=91, help="classes of the head (default 91, as COCO configs)")
    show.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    show.add_argument("--draw", metavar="FILE", help="write a diagram (.png, .svg or .pdf)")
    show.set_defaults(func=cmd_show)

    overrides_command(
        sub,
        "train",
        cmd_train,
        "train and evaluate one architecture (Hydra overrides, e.g. arch=spinenet49 proxy=synthetic)",
        f"Hydra overrides: arch=NAME|SPEC proxy={group_choices('proxy')} "
        "proxy.epochs=N proxy.data.train_ann=... out_dir=DIR. Prints the metrics as one JSON line.",
    )
    overrides_command(
        sub,
        "search",
        cmd_search,
        "run an architecture search (Hydra overrides, e.g. trials=40 searcher=evolution)",
        f"Hydra overrides: space={group_choices('space')} searcher={group_choices('searcher')} reward={group_choices('reward')} "
        f"proxy={group_choices('proxy')} ray={group_choices('ray')} scheduler={group_choices('scheduler')} "
        "trials=N max_concurrent=N trial.cpus=N trial.gpus=F seed=N out_dir=DIR resume=true experiment=NAME.",
    )
    plan = overrides_command(
        sub,
        "plan",
        cmd_plan,
        "time one real proxy trial here and estimate the search's wall time and GPU-hours",
        "Takes the same Hydra overrides as `spinenas search`. Times one trial of a typical "
        "architecture (or its first --steps steps) and scales it to trials, ASHA and the cluster.",
    )
    plan.add_argument("--steps", type=int, help="time only this many training steps and extrapolate (default: a full trial)")
    plan.add_argument("--cpus", type=float, help="CPUs of the cluster to plan for (default: the configured Ray's)")
    plan.add_argument("--gpus", type=float, help="GPUs of the cluster to plan for (default: the configured Ray's)")
    plan.add_argument("--json", action="store_true", help="print one JSON object")
    plan.set_defaults(func=cmd_plan)

    screen = overrides_command(
        sub,
        "screen",
        cmd_screen,
        "zero-cost scores and the predictor's AP estimate of architectures, without training them",
        "Arguments: catalog names or spec files, and Hydra overrides (proxy=..., the data the scores look at). "
        "Scores: " + "synflow, naswot, grad_norm, snip, zen, params, flops (log10). See docs/screen.md.",
    )
    screen.add_argument("--scores", type=_names, help="comma-separated scores to compute (default: all)")
    screen.add_argument("--predictor", type=Path, help="a predictor .npz (default: benchmarks/table/predictor.npz)")
    screen.add_argument("--seed", type=int, default=0, help="initialisation and batch seed (default 0)")
    screen.add_argument("--json", action="store_true", help="print one JSON object per architecture")
    table = overrides_command(
        sub,
        "table",
        cmd_table,
        "build a benchmark table: architectures drawn uniformly from the space, each trained with several seeds (resumable)",
        "Takes the same Hydra overrides as `spinenas search` (space, proxy, seed, out_dir, resume=true). "
        "Writes runs.csv, table.csv, table.json and archs/<arch_id>.yaml. See benchmarks/table/README.md.",
    )
    table.add_argument("--archs", type=int, default=150, help="architectures drawn from the space (default 150; 3 anchors are added); a larger value on resume adds rows")
    table.add_argument("--seeds", type=int, default=2, help="trainings per architecture, seeds proxy.seed + 0..S-1 (default 2)")
    table.add_argument("--probe-at", type=_fractions, default=(0.25, 0.5), help="also measure AP after these fractions of training (default 0.25,0.5)")
    fidelity = overrides_command(
        sub,
        "fidelity",
        cmd_fidelity,
        "measure how well the configured proxy ranks architectures (seed agreement, signal-to-noise, vs a longer training)",
        "Takes the same Hydra overrides as `spinenas search` (proxy=..., space=..., out_dir=..., resume=true). "
        "Trains --archs sampled architectures spread over the space's FLOPs range plus SpineNet-49, the "
        "ResNet-50-FPN seed and the space's coarsest member, each with --seeds seeds and once for "
        "--reference-epochs epochs, and reports rank agreement. See docs/fidelity.md.",
    )
    fidelity.add_argument("--archs", type=int, default=12, help="architectures sampled from the space (default 12; 3 anchors are added)")
    fidelity.add_argument("--seeds", type=int, default=3, help="proxy trainings per architecture, seeds proxy.seed + 0..S-1 (default 3)")
    fidelity.add_argument(
        "--reference-epochs", type=int, default=None, help="epochs of the reference training (default 4x proxy.epochs; 0: none)"
    )
    fidelity.add_argument(
        "--compare-to", metavar="DIR", type=Path, help="an earlier fidelity run's out_dir: rank this run's architecture means against its means (e.g. a proxy before and after a change)"
    )

    design = overrides_command(
        sub,
        "proxy-design",
        cmd_proxy_design,
        "find the cheapest proxy that ranks architectures on your data within a per-trial time budget",
        "Takes the same Hydra overrides as `spinenas search` (proxy=custom proxy.data.*, out_dir=..., resume=true). "
        "Derives candidate proxies (input size, steps, data share, learning rate; anchor, batch and norm by rule) from "
        "the data's statistics and step times measured here, and measures them by successive halving on fidelity's "
        "architectures against a longer, larger reference training. Writes OUT/proxy.yaml for `spinenas search "
        "proxy=OUT/proxy.yaml`. See docs/custom_data.md.",
    )
    design.add_argument("--budget-s", type=float, required=True, help="seconds one proxy trial may take on this machine")
    design.add_argument("--archs", type=int, default=4, help="architectures sampled from the space (default 4; 3 anchors are added)")
    design.add_argument("--seeds", type=int, default=3, help="seeds per architecture for the proxies that reach the last rung (default 3)")
    design.add_argument("--reference", type=_names, default=(), help="key=value overrides of the reference training, comma-separated (e.g. image_size=256,epochs=40)")
    design.add_argument("--reference-scale", type=float, default=4.0, help="the reference run may take this many times --budget-s (default 4)")
    design.add_argument("--reference-from", metavar="DIR", help="reuse the reference runs of an earlier proxy-design on the same data (its reference settings too)")

    finalize = sub.add_parser(
        "finalize",
        help="retrain a search's best architectures and the baselines with fresh seeds; pick one, scale it",
        description="Trains the --top best distinct architectures of RUN_DIR (ok trials, by reward) and each baseline "
        "--seeds times with seeds the search never used, under the run's proxy or key=value overrides of it "
        "(proxy.epochs=4, proxy.image_size=256, trial.cpus=2, resume=true, out_dir=DIR). Writes RUN_DIR/finalize/.",
    )
    finalize.add_argument("run_dir", help="the search's folder (results/search-...)")
    finalize.add_argument("overrides", nargs="*", help="key=value overrides of the run's settings")
    finalize.add_argument("--top", type=int, default=3, help="distinct architectures to retrain (default 3)")
    finalize.add_argument("--seeds", type=int, default=3, help="confirmation seeds for the pick and each baseline: the verdict's runs (default 3, at least 2)")
    finalize.add_argument("--select-seeds", type=int, default=2, help="selection seeds per candidate: the pick is the best mean over them (default 2; unused with --top 1)")
    finalize.add_argument("--baselines", type=_names, default=("resnet50_fpn", "spinenet49"), help="catalog models, comma-separated (default resnet50_fpn,spinenet49)")
    finalize.add_argument("--scale", type=_names, default=(), help="presets to write the pick at, e.g. spinenet96,spinenet143,spinenet190")
    finalize.set_defaults(func=cmd_finalize)

    export = sub.add_parser(
        "export",
        help="write a backbone (or detector) as TorchScript, ONNX or a state dict, and check the file",
        description="Builds SPEC at its preset's full size (or from a `spinenas train` checkpoint), writes it, "
        "loads the file back as another program would (torch.jit / onnxruntime) and compares its outputs.",
    )
    export.add_argument("spec", nargs="?", help="catalog name or spec file (e.g. results/<run>/best.yaml); omit with --checkpoint")
    export.add_argument("--format", required=True, choices=["torchscript", "onnx", "state_dict"], dest="fmt")
    export.add_argument("--out", help="output file (default: <arch name>[_retinanet].pt|.onnx|.pth here)")
    export.add_argument("--with-head", action="store_true", help="export backbone + RetinaNet head (class logits, box offsets)")
    export.add_argument("--image-size", type=int, help="side of the traced input, a multiple of 128 (default: the preset's)")
    export.add_argument("--preset", choices=sorted(PRESETS), help="scaling preset (default: the model's own, else spinenet49)")
    export.add_argument("--num-classes", type=int, default=91, help="classes of the head with --with-head (default 91)")
    export.add_argument("--weights", help="state-dict file to load first (from --format state_dict)")
    export.add_argument("--checkpoint", help="a `spinenas train` checkpoint.pt: export that trained model")
    export.add_argument("--json", action="store_true", help="print one JSON object")
    export.set_defaults(func=cmd_export)

    latency = sub.add_parser(
        "latency",
        help="time full-size models on this machine (median, spread; cached), or calibrate the latency table",
        description="Times each SPEC's full-size backbone (--with-head: with the RetinaNet head) in inference mode: "
        "warm-up, repeats, median and 10-90%% spread, fixed threads; cached per architecture, scaling, device, size, "
        "batch, threads, backend. --calibrate --space NAME times what the latency predictor needs for a search space.",
    )
    latency.add_argument("specs", nargs="*", metavar="SPEC", help="catalog names or spec files (e.g. spinenet49 results/<run>/best.yaml)")
    latency.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    latency.add_argument("--image-size", type=int, help="square input, a multiple of 128 (default: the preset's)")
    latency.add_argument("--batch", type=int, default=1)
    latency.add_argument("--threads", type=int, help="CPU threads (default: every CPU this process may use)")
    latency.add_argument("--backend", default="torch", choices=["torch", "onnxruntime"])
    latency.add_argument("--with-head", action="store_true", help="time backbone + RetinaNet head (before box decoding and NMS)")
    latency.add_argument("--preset", choices=sorted(PRESETS), help="scaling preset (default: the model's own, else spinenet49)")
    latency.add_argument("--warmup", type=int, default=3)
    latency.add_argument("--repeats", type=int, default=10)
    latency.add_argument("--refresh", action="store_true", help="measure again even when cached")
    latency.add_argument("--predict", action="store_true", help="print the latency table's prediction beside each measurement")
    latency.add_argument("--calibrate", action="store_true", help="calibrate the latency table for --space on this machine")
    latency.add_argument("--space", default="r0_sp53", help="search space to calibrate for (default r0_sp53)")
    latency.add_argument("--out", help="with --calibrate: also write the table to this file (latency.table=FILE reads it)")
    latency.add_argument("--force", action="store_true", help="replace the --out file if it exists")
    latency.add_argument("--json", action="store_true", help="print JSON (one object per model)")
    latency.set_defaults(func=cmd_latency)

    data = sub.add_parser("data", help="read a dataset as a search would: statistics, or its labels as COCO JSON")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    stats = data_sub.add_parser(
        "stats",
        help="images, boxes per class, box sizes relative to the image, image sizes",
        description="Reads the dataset the overrides configure (proxy=custom proxy.data.format=coco|voc|yolo|csv "
        "proxy.data.root=... or proxy.data.train_ann=...) with every check a search runs, and prints what a "
        "proxy's image size and anchors depend on. See docs/custom_data.md.",
    )
    stats.add_argument("overrides", nargs="*", help="key=value Hydra overrides (proxy.data.*)")
    stats.add_argument("--json", action="store_true", help="print one JSON object")
    stats.set_defaults(func=cmd_data_stats)
    conv = data_sub.add_parser("convert", help="write the dataset's labels as COCO JSON (train.json, val.json)")
    conv.add_argument("out_dir", help="folder for train.json and val.json")
    conv.add_argument("overrides", nargs="*", help="key=value Hydra overrides (proxy.data.*)")
    conv.add_argument("--force", action="store_true", help="replace train.json / val.json that exist in OUT_DIR")
    conv.set_defaults(func=cmd_data_convert)

    report = sub.add_parser("report", help="write a search's report.html (running or finished) and print its path")
    report.add_argument("run_dir", help="the search's out_dir (results/search-...)")
    report.add_argument("--open", action="store_true", help="open the page in the default browser")
    report.set_defaults(func=cmd_report)

    split = sub.add_parser("split", help="carve a held-out reward split from a COCO annotation file")
    split.add_argument("ann", help="COCO annotation JSON (e.g. instances_train2017.json)")
    split.add_argument("--holdout", type=int, default=7392, help="images to hold out (default 7392, as the paper)")
    split.add_argument("--seed", type=int, default=0)
    split.add_argument("--out-dir", default=None, help="where to write the two files (default: next to ANN)")
    split.set_defaults(func=cmd_split)
    return parser


CONF = Path(__file__).resolve().parents[2] / "conf"


def group_choices(group: str) -> str:
    """The options of a config group as `a|b|c`, read from conf/<group>/ (so the help never lists
    fewer or other kinds than the config accepts, and nothing heavy is imported to say so)."""
    return "|".join(sorted(p.stem for p in (CONF / group).glob("*.yaml")))


def overrides_command(sub: Any, name: str, func: Callable, help: str, description: str) -> argparse.ArgumentParser:
    """A subcommand taking Hydra `key=value` overrides."""
    parser = sub.add_parser(name, help=help, description=description)
    parser.add_argument("overrides", nargs="*", help="key=value Hydra overrides")
    parser.set_defaults(func=func)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `spinenas` and `python -m nas`; returns the exit code."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    # Overrides given after an option (`plan --gpus 8 trials=100`) come back as extras.
    if extra and hasattr(args, "overrides") and all("=" in e and not e.startswith("-") for e in extra):
        args.overrides += extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        from nas.core.plugins import load_plugins

        load_plugins()  # the user's kinds (SPINENAS_PLUGINS, entry points) before any config is composed
        return args.func(args)
    except SpineNASError as e:  # the user's input: one line; anything else is our bug and shows its traceback
        print(f"spinenas {args.command}: error: {e}", file=sys.stderr)
        return EXIT_USAGE


def search_settings(overrides: Sequence[str]) -> SearchSettings:
    """`conf/search.yaml` composed with `overrides`, typed and checked, once per command and before
    the command's module imports torch and Ray, so a config mistake is refused at once."""
    from nas.settings.search import load_settings

    return load_settings(overrides)


def cmd_show(args: argparse.Namespace) -> int:
    """`spinenas show`: the architecture as a table or JSON, with params and FLOPs."""
    arch = resolve_architecture(args.arch)
    preset = get_preset(args.preset) if args.preset else preset_for(args.arch)
    size = args.image_size or preset.image_size
    if size <= 0 or size % 128:
        raise UserError(f"--image-size {size} must be a positive multiple of 128")
    if args.num_classes < 1:
        raise UserError(f"--num-classes must be >= 1, got {args.num_classes}")
    from search_space.cost import measure  # torch: after the input is checked

    cost = measure(arch, preset, size, with_head=args.with_head, num_classes=args.num_classes)
    if args.draw:
        from search_space.draw import draw_architecture

        draw_architecture(arch, args.draw)
    if args.json:
        print(json.dumps(show_record(arch, preset_name(args), cost.params, cost.flops, size, args.with_head)))
    else:
        print(format_table(arch))
        scope = "backbone + RetinaNet head" if args.with_head else "backbone"
        print(f"\npreset {preset_name(args)}  image {size}x{size}  {scope}")
        print(f"params {cost.params / 1e6:.2f}M   FLOPs {cost.flops / 1e9:.2f}B (multiply-adds)")
        if args.draw:
            print(f"diagram written to {args.draw}")
    return 0


def preset_name(args: argparse.Namespace) -> str:
    return args.preset or preset_name_for(args.arch)


def show_record(arch: Architecture, preset: str, params: int, flops: int, size: int, with_head: bool) -> dict:
    """The JSON object `spinenas show --json` prints."""
    d = arch.to_dict()
    return {
        "name": arch.name,
        "id": arch.id,
        "preset": preset,
        "params": params,
        "flops": flops,
        "image_size": size,
        "with_head": with_head,
        "decoder": arch.decoder,
        "stem": d["stem"],
        "blocks": d["blocks"],
    }


def format_table(arch: Architecture) -> str:
    """A readable table of an architecture's stem and blocks."""
    lines = [f"{arch.name}  (id {arch.id}, decoder {arch.decoder})", ""]
    lines.append(f"{'node':>4}  {'kind':<6} {'level':>5}  {'type':<10} {'parents':<9} {'output':<6} folds")
    for j, g in enumerate(arch.stem):
        lines.append(f"{j:>4}  {'stem':<6} {'L' + str(g.level):>5}  {g.block_fn:<10} {'':<9} {'':<6} x{g.repeats}")
    folds = arch.output_folds()
    for i, b in enumerate(arch.blocks):
        node = arch.num_stem + i
        parents = f"{b.parents[0]},{b.parents[1]}"
        out = f"P{b.level}" if b.is_output else ""
        fold = ",".join(map(str, folds[i]))
        lines.append(f"{node:>4}  {'block':<6} {'L' + str(b.level):>5}  {b.block_fn:<10} {parents:<9} {out:<6} {fold}")
    if arch.decoder == "fpn":
        lines.append("      FPN on C3..C5 -> P3..P7")
    return "\n".join(lines)


def cmd_train(args: argparse.Namespace) -> int:
    """`spinenas train`: one architecture on a proxy (or full) recipe; metrics.json and a checkpoint."""
    from nas.commands.train import run_training

    metrics = run_training(args.overrides)
    print(json.dumps(metrics))
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    """`spinenas search`: the main job."""
    settings = search_settings(args.overrides)
    from nas.commands.search import run_search

    outcome = run_search(settings)
    s = outcome.summary
    stopped = f", {s['stopped']} stopped early" if s["stopped"] else ""
    print(f"\nsearch finished: {s['trials']} trials ({s['ok']} trained, {s['cached']} cached{stopped}, {s['failed']} failed)")
    if "best_trial" in s:
        print(f"best: trial {s['best_trial']}, reward {s['best_reward']:.4f}, AP {s['best_AP']:.4f}, id {s['best_arch_id']}")
    if "pareto" in s:
        print(format_front(outcome.out_dir))
    print(format_cost(s))
    for name in ("report.html", "trials.csv", "best.yaml", "best.png", "progress.png", "pareto.csv", "pareto.png", "pareto", "summary.json", "searcher.json", "config.yaml", "tensorboard"):
        if (outcome.out_dir / name).exists():
            print(f"  {outcome.out_dir / name}")
    return 0


def format_front(out_dir: Path) -> str:
    """The accuracy-latency front a search wrote (pareto.json): its hypervolume and members."""
    front = json.loads((out_dir / "pareto.json").read_text())
    metric = front["metric"]
    lines = [f"front ({metric} up, latency down): {front['front_size']} trials, hypervolume {front['hypervolume']:.2f} ({metric} x ms, reference {front['ref_ms']:.0f} ms)"]
    for m in front["members"]:
        lines.append(f"  trial {m['trial']}: {metric} {float(m['value']):.4f}, {float(m['latency_ms']):.0f} ms  {out_dir / m['spec']}")
    return "\n".join(lines)


def cmd_plan(args: argparse.Namespace) -> int:
    """`spinenas plan`: the cost of a search before it starts."""
    settings = search_settings(args.overrides)
    from nas.commands.plan import format_plan, plan

    estimate = plan(settings, steps=args.steps, cpus=args.cpus, gpus=args.gpus)
    print(json.dumps(estimate.to_dict()) if args.json else format_plan(estimate))
    return 0


def cmd_fidelity(args: argparse.Namespace) -> int:
    """`spinenas fidelity`: does the proxy rank architectures reliably?"""
    settings = search_settings(args.overrides)
    from nas.commands.fidelity import FidelityOptions, format_summary, run_fidelity

    outcome = run_fidelity(settings, FidelityOptions(args.archs, args.seeds, args.reference_epochs, args.compare_to))
    print(format_summary(outcome.summary, outcome.out_dir))
    return 0


def cmd_screen(args: argparse.Namespace) -> int:
    """`spinenas screen`: score architectures at initialisation and by the predictor."""
    refs = [a for a in args.overrides if "=" not in a]
    settings = search_settings([a for a in args.overrides if "=" in a])
    from nas.commands.screen import ScreenOptions, format_screen, run_screen

    rows = run_screen(refs, settings, ScreenOptions(args.scores, args.predictor, args.seed))
    print("\n".join(json.dumps(r, allow_nan=True) for r in rows) if args.json else format_screen(rows))
    return 0


def cmd_table(args: argparse.Namespace) -> int:
    """`spinenas table`: a benchmark table of the space on the proxy."""
    from nas.settings.search import list_override

    settings = search_settings([list_override("proxy.probe_at", args.probe_at), *args.overrides])
    from nas.commands.table import TableOptions, format_outcome, run_table

    print(format_outcome(run_table(settings, TableOptions(args.archs, args.seeds, args.probe_at))))
    return 0


def _fractions(text: str) -> tuple[float, ...]:
    """A comma-separated list of fractions (argparse type)."""
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def cmd_proxy_design(args: argparse.Namespace) -> int:
    """`spinenas proxy-design`: a proxy that ranks on the user's data."""
    settings = search_settings(args.overrides)
    from nas.commands.proxy_design import DesignOptions, format_design, run_proxy_design

    options = DesignOptions(args.budget_s, args.archs, args.seeds, tuple(args.reference), args.reference_scale, args.reference_from)
    outcome = run_proxy_design(settings, options)
    print(format_design(outcome.design, outcome.out_dir))
    return 0


def cmd_finalize(args: argparse.Namespace) -> int:
    """`spinenas finalize`: the search's answer, on fresh seeds against the baselines."""
    from nas.commands.finalize import FinalizeOptions, format_finalize, run_finalize

    outcome = run_finalize(args.run_dir, args.overrides, FinalizeOptions(args.top, args.seeds, tuple(args.baselines), tuple(args.scale), args.select_seeds))
    print(format_finalize(outcome.result, outcome.out_dir))
    return 0


def _names(text: str) -> tuple[str, ...]:
    """A comma-separated list of names (empty entries dropped)."""
    return tuple(n.strip() for n in text.split(",") if n.strip())


def format_cost(summary: dict) -> str:
    """The cost lines printed at the end of a search (the same numbers as summary.json)."""
    per = summary["per_trial"]
    lines = [
        f"cost: trials {summary['trial_wall_s'] / 3600:.3f} h wall in all ({per['wall_s']:.1f} s per trial), "
        f"CPU {summary['cpu_hours']:.3f} h ({per['cpu_s']:.1f} s per trial), "
        f"GPU {summary['gpu_hours']:.3f} h ({per['gpu_s']:.1f} s per trial)"
    ]
    for node, n in summary["by_node"].items():
        lines.append(f"  node {node}: {n['trials']} trials, {n['wall_s']:.1f} s")
    return "\n".join(lines)


def cmd_export(args: argparse.Namespace) -> int:
    """`spinenas export`: a file another program loads, checked against the PyTorch module."""
    from pathlib import Path

    from nas.commands.export import ExportRequest, export

    if not args.spec and not args.checkpoint:
        raise UserError("give a SPEC (catalog name or spec file) or --checkpoint")
    path = lambda p: Path(p) if p else None  # noqa: E731
    record = export(
        ExportRequest(
            spec=args.spec or "",
            fmt=args.fmt,
            out=path(args.out),
            with_head=args.with_head,
            image_size=args.image_size,
            preset=args.preset,
            num_classes=args.num_classes,
            weights=path(args.weights),
            checkpoint=path(args.checkpoint),
        )
    )
    if args.json:
        print(json.dumps(record))
        return 0
    what = "backbone + RetinaNet head" if record["with_head"] else "backbone"
    print(f"{record['file']}: {record['arch']} ({record['arch_id']}) {what}, {record['format']}, {record['params'] / 1e6:.2f}M params")
    traced = "" if record["format"] == "state_dict" else f" (traced at {record['image_size']}x{record['image_size']})"
    print(f"  outputs: {', '.join(record['outputs'])}{traced}")
    if record.get("note"):
        print(f"  {record['note']}")
    elif record["format"] == "state_dict":
        print(f"  read back with torch.load(weights_only=True): max |difference| {record['max_abs_diff']:.1e}")
    else:
        print(f"  loaded back and run on a 2x3x{record['image_size']}x{record['image_size'] + 128} batch: max |difference| {record['max_abs_diff']:.1e}")
    return 0


def cmd_latency(args: argparse.Namespace) -> int:
    """`spinenas latency`: measured latency of full-size models here, or the table calibrated."""
    from nas.commands.latency import LatencyRequest, run

    req = LatencyRequest(
        args.specs, args.device, args.image_size, args.batch, args.threads, args.backend, args.with_head, args.preset,
        args.warmup, args.repeats, args.refresh, args.predict,
    )  # fmt: skip
    if args.calibrate and args.specs:
        raise UserError("--calibrate times a space's components; give --space NAME, not models")
    if args.out:
        from search_space.fileio import refuse_overwrite

        refuse_overwrite([args.out], args.force)  # before a minute of timing, not after
    return run(req, args.space if args.calibrate else None, args.out, args.json)


def cmd_report(args: argparse.Namespace) -> int:
    """`spinenas report`: one self-contained page about a search."""
    from pathlib import Path

    from nas.reporting.report import write_report

    run = Path(args.run_dir)
    if not (run / "trials.csv").exists() and not (run / "config.yaml").exists():
        raise UserError(f"{run}: not a search folder (no trials.csv or config.yaml)")
    path = write_report(run)
    print(path)
    if args.open:
        import webbrowser

        webbrowser.open(path.resolve().as_uri())
    return 0


def cmd_data_stats(args: argparse.Namespace) -> int:
    """`spinenas data stats`: what the configured dataset holds."""
    from nas.commands.data import data_stats
    from proxy_tasks.stats import format_stats

    stats = data_stats(args.overrides)
    print(json.dumps(stats) if args.json else format_stats(stats))
    return 0


def cmd_data_convert(args: argparse.Namespace) -> int:
    """`spinenas data convert`: the configured dataset's labels as COCO JSON."""
    from pathlib import Path

    from nas.commands.data import convert

    for path in convert(args.overrides, Path(args.out_dir), args.force):
        print(path)
    return 0


def cmd_split(args: argparse.Namespace) -> int:
    """`spinenas split`: write <stem>_minus<N>.json and <stem>_holdout<N>.json."""
    from pathlib import Path

    from proxy_tasks.data import load_coco, split_coco
    from search_space.fileio import atomic_write_text

    ann = Path(args.ann)
    ds = load_coco(ann, ann.parent, check_files=False)  # validates every record first
    rest, held = split_coco(ds.coco, args.holdout, args.seed)
    out = Path(args.out_dir) if args.out_dir else ann.parent
    paths = (out / f"{ann.stem}_minus{args.holdout}.json", out / f"{ann.stem}_holdout{args.holdout}.json")
    for path, part in zip(paths, (rest, held)):
        atomic_write_text(path, json.dumps(part))
    print(f"{len(rest['images'])} images -> {paths[0]}\n{len(held['images'])} images -> {paths[1]}")
    return 0
