"""`spinenas train`: compose the config, run the proxy task, write metrics, checkpoint and config."""

from __future__ import annotations

import io
import json
from typing import Any, Sequence

from omegaconf import OmegaConf

from nas.evaluators import build_evaluator, evaluator_kind, trainer
from nas.reporting.run_folder import out_dir_of
from nas.settings.schemas import compose, proxy_config
from search_space.catalog import get_preset, preset_name_for, resolve_architecture
from search_space.errors import ConfigError
from search_space.fileio import atomic_write_bytes, atomic_write_text


def run_training(overrides: Sequence[str]) -> dict[str, Any]:
    """Train one architecture as configured; returns the metrics written to `metrics.json`."""
    cfg = compose("train", overrides)
    proxy = proxy_config(cfg.proxy)
    if not evaluator_kind(proxy).trains:
        raise ConfigError(f"proxy={proxy.label} ({proxy.name}) scores architectures without training a detector; use it with spinenas search")
    arch = resolve_architecture(cfg.arch)
    preset_name = cfg.preset or preset_name_for(cfg.arch)
    preset = get_preset(preset_name)
    import torch  # the config is checked before torch loads (seconds on a slow laptop)

    from nas.reporting.progress_bar import ProgressBar

    bar = ProgressBar()
    evaluator = trainer(build_evaluator(proxy))
    evaluator.check()  # names what the readers dropped, as search and data stats do
    evaluator.prepare(preset, log=lambda msg: bar.message(f"[proxy {proxy.label}] {msg}"))  # dataset problems surface before anything is written
    out = out_dir_of(cfg.out_dir, "train")
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "config.yaml", OmegaConf.to_yaml(cfg))
    arch.save(out / "arch.yaml")

    result = evaluator.train(arch, preset, on_step=bar)
    checkpoint = {
        "model": result.model.state_dict(),
        "arch": arch.to_dict(),
        "num_classes": result.model.num_classes,
        "preset": preset_name,
        "proxy": OmegaConf.to_container(cfg.proxy, resolve=True),
        "metrics": result.metrics,
    }
    buf = io.BytesIO()
    torch.save(checkpoint, buf)
    atomic_write_bytes(out / "checkpoint.pt", buf.getvalue())
    metrics = dict(result.metrics, out_dir=str(out))
    atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    return metrics
