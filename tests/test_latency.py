"""Measured latency, its cache, the lookup-table predictor, and `spinenas latency`."""

import json

import pytest
import torch

from nas.commands.cli import main
from search_space.catalog import get_architecture, get_preset
from search_space.errors import InputError
from search_space.latency import LatencyCache, LatencySetting, calibrate, measure_latency, table_for
from search_space.latency_table import LatencyTable, component_keys
from search_space.space import get_space

SMALL = LatencySetting(image_size=128, threads=1, warmup=1, repeats=3)  # backbone only: tens of ms per forward pass
SN49 = get_architecture("spinenet49")


def test_measurement_is_cached_per_setting(tmp_path):
    cache = LatencyCache(tmp_path)
    first = measure_latency(SN49, get_preset("spinenet49"), SMALL, cache)
    assert not first.cached and first.timing.p10_ms <= first.timing.median_ms <= first.timing.p90_ms
    again = measure_latency(SN49, get_preset("spinenet49"), SMALL, cache)
    assert again.cached and again.timing == first.timing
    other = measure_latency(SN49, get_preset("spinenet49"), LatencySetting(image_size=128, threads=2, warmup=1, repeats=3), cache)
    assert not other.cached  # threads are part of the key
    assert len(list(tmp_path.glob("*.json"))) == 2
    # A cached timing of fewer runs than asked for is timed again; one of more runs serves, and says so.
    more = measure_latency(SN49, get_preset("spinenet49"), LatencySetting(image_size=128, threads=1, warmup=1, repeats=5), cache)
    assert not more.cached and more.timing.repeats == 5
    fewer = measure_latency(SN49, get_preset("spinenet49"), SMALL, cache)
    assert fewer.cached and fewer.to_dict()["repeats"] == 5
    assert len(list(tmp_path.glob("*.json"))) == 2
    # The CPU is named with the instructions torch uses on it: one VM model name can hide two speeds.
    assert first.device_name.endswith(f"({torch.backends.cpu.get_cpu_capability()})")
    # A torn cache file is measured again, not trusted.
    for path in tmp_path.glob("*.json"):
        path.write_text("{")
    assert not measure_latency(SN49, get_preset("spinenet49"), SMALL, cache).cached


def test_larger_inputs_and_the_head_take_longer(tmp_path):
    cache, preset = LatencyCache(tmp_path), get_preset("spinenet49")
    # The 10th percentile, the repeat least disturbed by whatever else the machine runs (a median
    # under a busy machine's load came out at 1.98x); 4x the pixels cost ~2x here at one thread (the
    # small input's fixed costs), so 1.5x separates "scales with the input" from "ignores it".
    small = measure_latency(SN49, preset, SMALL, cache).timing.p10_ms
    large = measure_latency(SN49, preset, LatencySetting(image_size=256, threads=1, warmup=1, repeats=3), cache).timing.p10_ms
    head = measure_latency(SN49, preset, LatencySetting(image_size=256, threads=1, warmup=1, repeats=3, with_head=True), cache).timing.p10_ms
    assert large > 1.5 * small
    assert head > large


def test_onnxruntime_backend_times_the_exported_network(tmp_path):
    pytest.importorskip("onnxruntime")
    m = measure_latency(get_architecture("spinenet49s"), get_preset("spinenet49s"), LatencySetting(image_size=128, threads=1, warmup=1, repeats=3, backend="onnxruntime"), LatencyCache(tmp_path))
    assert m.timing.median_ms > 0 and m.to_dict()["backend"] == "onnxruntime"


@pytest.mark.parametrize(
    "setting, message",
    [
        (LatencySetting(image_size=100), "--image-size 100 must be a positive multiple of 128"),
        (LatencySetting(batch=0), "--batch and --threads must be >= 1"),
        (LatencySetting(repeats=2), "--repeats must be >= 3"),
        (LatencySetting(backend="tvm"), "--backend must be one of torch, onnxruntime"),
    ],
)
def test_bad_settings_are_refused(setting, message):
    with pytest.raises(InputError, match=message):
        setting.check()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: the refusal is for machines without")
def test_cuda_is_refused_cleanly_without_a_gpu():
    with pytest.raises(InputError, match="no CUDA device is visible"):
        LatencySetting(device="cuda").check()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_latency_is_measured_on_the_gpu(tmp_path):
    m = measure_latency(SN49, get_preset("spinenet49"), LatencySetting(device="cuda", warmup=3, repeats=10, with_head=True), LatencyCache(tmp_path))
    assert m.device_name == torch.cuda.get_device_name() and 0 < m.timing.median_ms < 1000


def test_component_keys_mirror_the_network():
    preset = get_preset("spinenet49")
    keys = component_keys(SN49, preset, with_head=True)
    assert sum(k.startswith("resample|") for k in keys) == 2 * len(SN49.blocks)
    assert sum(k.startswith("block|") for k in keys) == len(SN49.blocks)
    assert sum(k.startswith("endpoint|") for k in keys) == 5 and keys.count("head") == 1
    fpn = component_keys(get_architecture("resnet50_fpn"), get_preset("resnet50_fpn"), with_head=False)
    assert len(fpn) == 1 and fpn[0].startswith("fpn|")  # no blocks: timed whole


@pytest.fixture(scope="module")
def small_table():
    """The table for r0_sp53's backbones at 128 px, one thread (components timed in a few seconds)."""
    space = get_space("r0_sp53", block_adjustments=True)
    fit = [SN49, space.sample(100), space.sample(101)]
    return calibrate([space.coarsest()], fit, get_preset("spinenet49"), SMALL, LatencyCache())


def test_table_predicts_whole_networks(small_table):
    """The predictor's arithmetic, checked exactly (its accuracy is a timing, so it is measured by
    benchmarks/latency_predictor.py on a quiet machine, not asserted here): a prediction is the
    calibration ratio times the sum of the network's component times, every occurrence counted,
    the ratio is the median of measured / sum over the calibration networks."""
    import statistics

    table, where = small_table
    preset = get_preset("spinenet49")
    assert where.is_file() and LatencyTable.read(where).entries == table.entries
    assert table_for(preset, SMALL)[0].slope == table.slope  # found again by its identity
    assert len(table.calibration) == 3 and table.intercept == 0.0
    assert table.slope == statistics.median(c["measured_ms"] / c["sum_ms"] for c in table.calibration)
    for c, arch in zip(table.calibration, [SN49, *(get_space("r0_sp53", block_adjustments=True).sample(k) for k in (100, 101))]):
        assert c["arch_id"] == arch.id and c["sum_ms"] == pytest.approx(table.component_sum(arch, preset, False), rel=1e-12)
    space = get_space("r0_sp53", block_adjustments=True)
    repeated = 0
    for k in range(4):
        arch = space.sample(k)
        keys = component_keys(arch, preset, with_head=False)
        repeated += len(keys) - len(set(keys))
        assert table.predict(arch, preset, False) == pytest.approx(table.slope * sum(table.entries[key] for key in keys), rel=1e-12)
    assert repeated > 0  # components that occur twice (same kind and widths) are in these networks, and each occurrence counts
    # By hand: every component 1 ms, ratio 2: a prediction is twice the number of components (with the head, one more).
    unit = LatencyTable(table.identity, {key: 1.0 for key in table.entries}, slope=2.0)
    arch = space.sample(0)
    assert unit.predict(arch, preset, False) == 2.0 * len(component_keys(arch, preset, with_head=False))
    with pytest.raises(InputError, match="no time for component 'head'"):
        unit.predict(arch, preset, True)  # the table was timed without the head: a missing part is refused, never counted as 0


def test_a_broken_table_file_is_named(tmp_path):
    path = tmp_path / "table.json"
    path.write_text("{not json")
    with pytest.raises(InputError, match=f"{path}: not a readable latency table"):
        LatencyTable.read(path)
    path.write_text(json.dumps({"format": 1, "entries": {"stem|x": -1}, "slope": 1, "intercept": 0}))
    with pytest.raises(InputError, match="'entries' must map component names to times in ms >= 0"):
        LatencyTable.read(path)
    with pytest.raises(InputError, match="no such latency table"):
        LatencyTable.read(tmp_path / "absent.json")
    table = LatencyTable({}, {"stem|2b1": 1.0}, 1.0, 0.0)
    with pytest.raises(InputError, match="no time for component"):
        table.predict(SN49, get_preset("spinenet49"), True)


def test_latency_command_prints_json_and_refuses_bad_input(tmp_path, capsys):
    def run(*args: str) -> tuple[int, str, str]:  # in-process, as the CLI runs it (a subprocess would pay torch's import each time)
        try:
            code = main(["latency", *args])
        except SystemExit as e:  # argparse's own refusals
            code = int(e.code or 0)
        out = capsys.readouterr()
        return code, out.out, out.err

    code, stdout, stderr = run("spinenet49s", "resnet50_fpn", "--image-size", "128", "--threads", "1", "--repeats", "3", "--warmup", "1", "--json")
    assert code == 0, stderr
    records = [json.loads(line) for line in stdout.splitlines()]
    assert [r["arch"] for r in records] == ["spinenet49s", "resnet50_fpn"] and all(r["median_ms"] > 0 for r in records)
    code, stdout, _ = run("spinenet49s", "--image-size", "128", "--threads", "1", "--repeats", "3", "--warmup", "1")
    assert code == 0 and "yes" in stdout.splitlines()[1]  # cached
    for args, message in (
        (("spinenet50",), "'spinenet50' is neither a catalog architecture"),
        (("spinenet49", "--image-size", "100"), "--image-size 100 must be a positive multiple of 128"),
        ((), "give one or more catalog names or spec files"),
        *([(("spinenet49", "--device", "cuda"), "no CUDA device is visible")] if not torch.cuda.is_available() else []),
    ):
        code, _, stderr = run(*args)
        assert code == 2 and len(stderr.strip().splitlines()) == 1 and message in stderr, stderr  # one line, no traceback


def test_latency_out_is_not_overwritten_without_force(tmp_path, capsys):
    out = tmp_path / "table.json"
    out.write_text("a table from another machine")
    assert main(["latency", "--calibrate", "--out", str(out)]) == 2  # refused before any timing
    assert capsys.readouterr().err.strip() == f"spinenas latency: error: {out} exists; not overwritten (add --force to replace it)"
    assert out.read_text() == "a table from another machine"


def test_an_evaluator_told_not_to_calibrate_leaves_the_table_empty(tmp_path, monkeypatch):
    """A stopped `spinenas table` must not wait a minute for a calibration: `may_calibrate=False`
    with no table on this machine leaves `table` None and measures nothing (the default calibrates)."""
    from nas.evaluators.latency import LatencyEvaluator
    from nas.settings.search import load_settings

    monkeypatch.setenv("SPINENAS_CACHE", str(tmp_path))
    settings = load_settings(["latency.image_size=128", "latency.threads=1", "latency.with_head=false", "latency.fit_archs=2"])
    said = []
    evaluator = LatencyEvaluator(settings.latency_options, "spinenet49", settings.space)
    evaluator.check(say=said.append, may_calibrate=False)
    assert evaluator.table is None and not said and not any(tmp_path.rglob("*"))
    evaluator.check(say=said.append)
    assert evaluator.table is not None and any("calibrating" in m for m in said)
