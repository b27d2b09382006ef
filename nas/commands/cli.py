"""The `spinenas` command line: show | train | split | data | search | plan | fidelity | proxy-design | finalize | export | latency | report."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from nas.settings.commands import (
    ConvertOptions, DesignOptions, ExportRequest, FidelityOptions, FinalizeOptions, LatencyRequest, PlanOptions, ReportOptions, ScreenOptions,
    ShowOptions, SplitOptions, StatsOptions, TableOptions,
)  # fmt: skip
from nas.settings.options import add_options, flag_of, from_args, missing, option_names, parse_value, parser_default
from search_space.errors import SpineNASError
from search_space.registry import Registry

if TYPE_CHECKING:
    from nas.settings.search import SearchSettings

EXIT_USAGE = 2


class UserError(SpineNASError):
    """A problem with the user's input: printed as one line, exit code 2, no traceback."""


@dataclass(frozen=True)
class Command:
    """A `spinenas` command: its name, help, options class (`nas.settings.commands`: the only place
    its options are declared), whether it takes Hydra `key=value` overrides, and what runs it."""

    name: str
    run: Callable[[Any, list[str]], int]
    help: str
    description: str | None = None
    options: type | None = None
    overrides: str | None = None  # the help of the trailing key=value overrides; None: the command takes none
    section: str | None = None  # config.yaml's key for the options: `SECTION.option=value` is the key=value spelling of `--option value`


OVERRIDES_LIKE_SEARCH = "key=value Hydra overrides, as `spinenas search` takes them (space, proxy, seed, out_dir, resume=true, ...)"


def build_parser() -> argparse.ArgumentParser:
    """The parser, generated from `COMMANDS` (a `data` command's subcommands from `DATA_COMMANDS`)."""
    parser = argparse.ArgumentParser(prog="spinenas", description="Scale-permuted backbone search (SpineNet).")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        _add_command(sub, COMMANDS.get(name))
    data = sub.add_parser("data", help="read a dataset as a search would: statistics, or its labels as COCO JSON")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    for command in DATA_COMMANDS:
        _add_command(data_sub, command)
    return parser


def _add_command(sub: Any, command: Command) -> argparse.ArgumentParser:
    parser = sub.add_parser(command.name, help=command.help, description=command.description or command.help)
    if command.options is not None:
        add_options(parser, command.options)
    if command.overrides is not None:
        parser.add_argument("overrides", nargs="*", help=command.overrides)
    parser.set_defaults(command_entry=command)
    return parser


CONF = Path(__file__).resolve().parents[2] / "conf"


def group_choices(group: str) -> str:
    """The options of a config group as `a|b|c`, read from conf/<group>/ (so the help never lists
    fewer or other kinds than the config accepts, and nothing heavy is imported to say so)."""
    return "|".join(sorted(p.stem for p in (CONF / group).glob("*.yaml")))


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line parsed; `key=value` overrides may come before or after the options."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    # Overrides given after an option (`plan --gpus 8 trials=100`) come back as extras.
    if extra and hasattr(args, "overrides") and all("=" in e and not e.startswith("-") for e in extra):
        args.overrides += extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    command: Command = args.command_entry
    if command.section is not None:
        try:
            args.overrides = _section_overrides(command, args)
        except ValueError as e:
            parser.error(str(e))
    if command.options is not None and (absent := missing(command.options, args)):
        spelled = [flag_of(command.options, name) + (f" (or {command.section}.{name}=...)" if command.section else "") for name in absent]
        parser.error(f"{command.name}: required: {', '.join(spelled)}")
    return args


def _section_overrides(command: Command, args: argparse.Namespace) -> list[str]:
    """Take `SECTION.option=value` out of the overrides into the options (one spelling for every
    setting: config.yaml records the options under SECTION); the rest stay Hydra's."""
    section, options = command.section, command.options
    if section is None or options is None:  # a command without options of its own: all Hydra's
        return list(args.overrides)
    rest = []
    for item in args.overrides:
        key, _, text = item.partition("=")
        if not key.startswith(section + "."):
            rest.append(item)
            continue
        name = key[len(section) + 1 :]
        try:
            value = parse_value(options, name, text)
        except KeyError:
            raise ValueError(f"{key}: {command.name} has no option '{name}' (its options: {', '.join(option_names(options))})") from None
        except ValueError as e:
            raise ValueError(f"{key}: {e}") from None
        if getattr(args, name) != parser_default(options, name) and getattr(args, name) != value:
            raise ValueError(f"{key}={text} and {flag_of(options, name)} {getattr(args, name)} say different things: give one")
        setattr(args, name, value)
    return rest


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `spinenas` and `python -m nas`; returns the exit code."""
    from nas.core.plugins import load_plugins

    try:
        load_plugins()  # the user's kinds and commands (SPINENAS_PLUGINS, entry points), before the command line is read
    except SpineNASError as e:
        print(f"spinenas: error: {e}", file=sys.stderr)
        return int(getattr(e, "exit_code", EXIT_USAGE))
    args = parse(argv)
    try:
        command: Command = args.command_entry
        options = from_args(command.options, args) if command.options is not None else None
        return command.run(options, list(getattr(args, "overrides", [])))
    except SpineNASError as e:  # the user's input: one line; anything else is our bug and shows its traceback
        print(f"spinenas {args.command}: error: {e}", file=sys.stderr)
        return int(getattr(e, "exit_code", EXIT_USAGE))


def search_settings(overrides: Sequence[str]) -> SearchSettings:
    """`conf/search.yaml` composed with `overrides`, typed and checked, once per command and before
    the command's module imports torch and Ray, so a config mistake is refused at once."""
    from nas.settings.search import load_settings

    return load_settings(overrides)


def cmd_show(args: ShowOptions, _: list[str]) -> int:
    """`spinenas show`: the architecture as a table or JSON, with params and FLOPs."""
    from nas.commands.show import show

    return show(args)


def cmd_train(_: None, overrides: list[str]) -> int:
    """`spinenas train`: one architecture on a proxy (or full) recipe; metrics.json and a checkpoint."""
    from nas.commands.train import run_training

    metrics = run_training(overrides)
    print(json.dumps(metrics))
    return 0


def cmd_search(_: None, overrides: list[str]) -> int:
    """`spinenas search`: the main job."""
    settings = search_settings(overrides)
    from nas.commands.search import format_search, run_search

    print(format_search(run_search(settings)))
    return 0


def cmd_plan(args: PlanOptions, overrides: list[str]) -> int:
    """`spinenas plan`: the cost of a search before it starts."""
    settings = search_settings(overrides)
    from nas.commands.plan import format_plan, plan

    estimate = plan(settings, steps=args.steps, cpus=args.cpus, gpus=args.gpus)
    print(json.dumps(estimate.to_dict()) if args.json else format_plan(estimate))
    return 0


def cmd_fidelity(options: FidelityOptions, overrides: list[str]) -> int:
    """`spinenas fidelity`: does the proxy rank architectures reliably?"""
    settings = search_settings(overrides)
    from nas.commands.fidelity import format_summary, run_fidelity

    outcome = run_fidelity(settings, options)
    print(format_summary(outcome.summary, outcome.out_dir))
    return 0


def cmd_screen(options: ScreenOptions, overrides: list[str]) -> int:
    """`spinenas screen`: score architectures at initialisation and by the predictor."""
    refs = [a for a in overrides if "=" not in a]
    settings = search_settings([a for a in overrides if "=" in a])
    from nas.commands.screen import format_screen, run_screen

    rows = run_screen(refs, settings, options)
    print("\n".join(json.dumps(r, allow_nan=True) for r in rows) if options.json else format_screen(rows))
    return 0


def cmd_table(options: TableOptions, overrides: list[str]) -> int:
    """`spinenas table`: a benchmark table of the space on the proxy."""
    from nas.settings.search import list_override

    settings = search_settings([list_override("proxy.probe_at", options.probe_at), *overrides])
    from nas.commands.table import format_outcome, run_table

    print(format_outcome(run_table(settings, options)))
    return 0


def cmd_proxy_design(options: DesignOptions, overrides: list[str]) -> int:
    """`spinenas proxy-design`: a proxy that ranks on the user's data."""
    settings = search_settings(overrides)
    from nas.commands.proxy_design import format_design, run_proxy_design

    outcome = run_proxy_design(settings, options)
    print(format_design(outcome.design, outcome.out_dir))
    return 0


def cmd_finalize(options: FinalizeOptions, overrides: list[str]) -> int:
    """`spinenas finalize`: the search's answer, on fresh seeds against the baselines."""
    from nas.commands.finalize import format_finalize, run_finalize

    outcome = run_finalize(options.run_dir, overrides, options)
    print(format_finalize(outcome.result, outcome.out_dir))
    return 0


def cmd_export(req: ExportRequest, _: list[str]) -> int:
    """`spinenas export`: a file another program loads, checked against the PyTorch module."""
    from nas.commands.export import export

    if not req.spec and not req.checkpoint:
        raise UserError("give a SPEC (catalog name or spec file) or --checkpoint")
    record = export(req)
    if req.json:
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


def cmd_latency(req: LatencyRequest, _: list[str]) -> int:
    """`spinenas latency`: measured latency of full-size models here, or the table calibrated."""
    from nas.commands.latency import run

    if req.calibrate and req.specs:
        raise UserError("--calibrate times a space's components; give --space NAME, not models")
    if req.out:
        from search_space.fileio import refuse_overwrite

        refuse_overwrite([req.out], req.force)  # before a minute of timing, not after
    return run(req, req.space if req.calibrate else None, req.out, req.json)


def cmd_report(args: ReportOptions, _: list[str]) -> int:
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


def cmd_data_stats(args: StatsOptions, overrides: list[str]) -> int:
    """`spinenas data stats`: what the configured dataset holds."""
    from nas.commands.data import data_stats
    from proxy_tasks.stats import format_stats

    stats = data_stats(overrides)
    print(json.dumps(stats) if args.json else format_stats(stats))
    return 0


def cmd_data_convert(args: ConvertOptions, overrides: list[str]) -> int:
    """`spinenas data convert`: the configured dataset's labels as COCO JSON."""
    from pathlib import Path

    from nas.commands.data import convert

    for path in convert(overrides, Path(args.out_dir), args.force):
        print(path)
    return 0


def cmd_split(args: SplitOptions, _: list[str]) -> int:
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


COMMANDS: Registry[Command] = Registry("command")  # `spinenas <name>`, in registration order


def register_command(command: Command) -> Command:
    """Add `command` to `spinenas` (a plugin's too: plugins load before the command line is parsed)."""
    if command.name == "data":
        raise ValueError("command 'data' is already registered (it holds `data stats` and `data convert`)")
    COMMANDS.register(command.name, lambda: command)
    return command


for _command in (  # the built-in commands
    Command("show", cmd_show, "print an architecture's blocks, params and FLOPs; draw it", options=ShowOptions),
    Command(
        "train", cmd_train, "train and evaluate one architecture (Hydra overrides, e.g. arch=spinenet49 proxy=synthetic)",
        f"Hydra overrides: arch=NAME|SPEC proxy={group_choices('proxy')} proxy.epochs=N proxy.data.train_ann=... out_dir=DIR. "
        "Prints the metrics as one JSON line.",
        overrides="key=value Hydra overrides",
    ),
    Command(
        "search", cmd_search, "run an architecture search (Hydra overrides, e.g. trials=40 searcher=evolution)",
        f"Hydra overrides: space={group_choices('space')} searcher={group_choices('searcher')} reward={group_choices('reward')} "
        f"proxy={group_choices('proxy')} ray={group_choices('ray')} scheduler={group_choices('scheduler')} screen={group_choices('screen')} "
        "trials=N max_concurrent=N trial.cpus=N trial.gpus=F seed=N out_dir=DIR resume=true experiment=NAME.",
        overrides="key=value Hydra overrides",
    ),
    Command(
        "plan", cmd_plan, "time one real proxy trial here and estimate the search's wall time and GPU-hours",
        "Takes the same Hydra overrides as `spinenas search`. Times one trial of a typical architecture (or its first --steps "
        "steps) and scales it to trials, ASHA and the cluster.",
        PlanOptions, OVERRIDES_LIKE_SEARCH,
    ),
    Command(
        "screen", cmd_screen, "zero-cost scores and the predictor's AP estimate of architectures, without training them",
        "Arguments: catalog names or spec files, and Hydra overrides (proxy=..., the data the scores look at). "
        "Scores: synflow, naswot, grad_norm, snip, zen, params, flops (log10). See docs/screen.md.",
        ScreenOptions, "catalog names or spec files, and key=value Hydra overrides",
    ),
    Command(
        "table", cmd_table, "build a benchmark table: architectures drawn uniformly from the space, each trained with several seeds (resumable)",
        "Takes the same Hydra overrides as `spinenas search` (space, proxy, seed, out_dir, resume=true). "
        "Writes runs.csv, table.csv, table.json and archs/<arch_id>.yaml. See benchmarks/table/README.md.",
        TableOptions, OVERRIDES_LIKE_SEARCH, "table",
    ),
    Command(
        "fidelity", cmd_fidelity, "measure how well the configured proxy ranks architectures (seed agreement, signal-to-noise, vs a longer training)",
        "Takes the same Hydra overrides as `spinenas search` (proxy=..., space=..., out_dir=..., resume=true). Trains --archs sampled "
        "architectures spread over the space's FLOPs range plus SpineNet-49, the ResNet-50-FPN seed and the space's coarsest member, "
        "each with --seeds seeds and once for --reference-epochs epochs, and reports rank agreement. See docs/fidelity.md.",
        FidelityOptions, OVERRIDES_LIKE_SEARCH, "fidelity",
    ),
    Command(
        "proxy-design", cmd_proxy_design, "find the cheapest proxy that ranks architectures on your data within a per-trial time budget",
        "Takes the same Hydra overrides as `spinenas search` (proxy=custom proxy.data.*, out_dir=..., resume=true). Derives candidate "
        "proxies (input size, steps, data share, learning rate; anchor, batch and norm by rule) from the data's statistics and step "
        "times measured here, and measures them by successive halving on fidelity's architectures against a longer, larger reference "
        "training. Writes OUT/proxy.yaml for `spinenas search proxy=OUT/proxy.yaml`. See docs/data_formats.md.",
        DesignOptions, OVERRIDES_LIKE_SEARCH, "design",
    ),
    Command(
        "finalize", cmd_finalize, "retrain a search's best architectures and the baselines with fresh seeds; pick one, scale it",
        "Trains the --top best distinct architectures of RUN_DIR (ok trials, by reward) and each baseline --seeds times with seeds the "
        "search never used, under the run's proxy or key=value overrides of it (proxy.epochs=4, proxy.image_size=256, trial.cpus=2, "
        "resume=true, out_dir=DIR). Writes RUN_DIR/finalize/.",
        FinalizeOptions, "key=value overrides of the run's settings", "finalize",
    ),
    Command(
        "export", cmd_export, "write a backbone (or detector) as TorchScript, ONNX or a state dict, and check the file",
        "Builds SPEC at its preset's full size (or from a `spinenas train` checkpoint), writes it, loads the file back as another "
        "program would (torch.jit / onnxruntime) and compares its outputs.",
        ExportRequest,
    ),
    Command(
        "latency", cmd_latency, "time full-size models on this machine (median, spread; cached), or calibrate the latency table",
        "Times each SPEC's full-size backbone (--with-head: with the RetinaNet head) in inference mode: warm-up, repeats, median and "
        "10-90% spread, fixed threads; cached per architecture, scaling, device, size, batch, threads, backend. --calibrate --space NAME "
        "times what the latency predictor needs for a search space.",
        LatencyRequest,
    ),
    Command("report", cmd_report, "write a search's report.html (running or finished) and print its path", options=ReportOptions),
    Command("split", cmd_split, "carve a held-out reward split from a COCO annotation file", options=SplitOptions),
):
    register_command(_command)

DATA_COMMANDS: tuple[Command, ...] = (
    Command(
        "stats", cmd_data_stats, "images, boxes per class, box sizes relative to the image, image sizes",
        "Reads the dataset the overrides configure (proxy=custom proxy.data.format=coco|voc|yolo|csv proxy.data.root=... or "
        "proxy.data.train_ann=...) with every check a search runs, and prints what a proxy's image size and anchors depend on. "
        "See docs/data_formats.md.",
        StatsOptions, "key=value Hydra overrides (proxy.data.*)",
    ),
    Command("convert", cmd_data_convert, "write the dataset's labels as COCO JSON (train.json, val.json)", options=ConvertOptions,
            overrides="key=value Hydra overrides (proxy.data.*)"),
)
