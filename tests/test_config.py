"""The typed config: every group starts from a schema in Hydra's ConfigStore, YAML files hold only
choices and overrides, and mistakes name their key."""

from pathlib import Path

import pytest
import yaml
from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf

from nas.settings.schemas import CONF_DIR, compose, proxy_config, register_schemas
from search_space.errors import ConfigError

GROUP_FILES = sorted(p for p in CONF_DIR.glob("*/*.yaml") if p.parent.name != "experiment")


def _base_of(path: Path) -> str:
    """The first entry of a group file's defaults list (its schema, or a sibling choice it extends)."""
    defaults = yaml.safe_load(path.read_text()).get("defaults", [])
    assert defaults and defaults[-1] == "_self_", f"{path}: defaults must start from a schema and end with _self_"
    return defaults[0]


def _leaves(node: dict, prefix: str = "") -> dict[str, object]:
    out = {}
    for key, value in node.items():
        if isinstance(value, dict):
            out.update(_leaves(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _resolved_base(group: str, base: str) -> dict:
    """What a group file starts from, as plain values: a schema node, or a sibling file resolved."""
    register_schemas()
    if base.startswith("base_"):
        node = ConfigStore.instance().load(f"{group}/{base}.yaml").node
        return OmegaConf.to_container(node)
    sibling = CONF_DIR / group / f"{base}.yaml"
    merged = _resolved_base(group, _base_of(sibling))
    own = {k: v for k, v in yaml.safe_load(sibling.read_text()).items() if k != "defaults"}
    return OmegaConf.to_container(OmegaConf.merge(merged, own))


@pytest.mark.parametrize("path", GROUP_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_group_files_start_from_a_registered_schema_and_hold_only_overrides(path):
    group, base = path.parent.name, _base_of(path)
    register_schemas()
    assert base.startswith("base_") and ConfigStore.instance().load(f"{group}/{base}.yaml") is not None or (CONF_DIR / group / f"{base}.yaml").exists()
    defaults = _leaves(_resolved_base(group, base))
    own = _leaves({k: v for k, v in yaml.safe_load(path.read_text()).items() if k != "defaults"})
    assert set(own) <= set(defaults), f"{path}: keys the schema lacks: {sorted(set(own) - set(defaults))}"
    repeated = [k for k, v in own.items() if k not in ("name", "label") and defaults[k] == v]  # a file names its choice
    assert not repeated, f"{path} repeats its schema's defaults: {repeated}"


def test_top_level_files_hold_only_choices():
    for name in ("search", "train"):
        text = yaml.safe_load((CONF_DIR / f"{name}.yaml").read_text())
        assert list(text) == ["defaults"] and text["defaults"][0] == f"base_{name}"


def test_every_choice_composes_to_its_schema_type():
    from nas.searchers import SEARCHER_KINDS
    from nas.evaluators import SurrogateOptions, TrainingOptions

    paths = [f"proxy.data.{k}=x" for k in ("train_ann", "train_images", "val_ann", "val_images")]
    for proxy in ("synthetic", "synthetic_tiny", "coco", "custom", "full", "surrogate"):
        cfg = compose("search", [f"proxy={proxy}", *paths] if proxy in ("coco", "custom", "full") else [f"proxy={proxy}"])
        assert OmegaConf.get_type(cfg.proxy) is (SurrogateOptions if proxy == "surrogate" else TrainingOptions)
    for name in SEARCHER_KINDS:
        assert OmegaConf.get_type(compose("search", [f"searcher={name}"]).searcher) is SEARCHER_KINDS.get(name).options


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["proxy.optim.lr=fast"], "proxy.optim.lr: 'fast' is not a float"),
        (["proxy.model.head_filters=wide"], "proxy.model.head_filters: 'wide' is not an integer"),
        (["proxy.loss.focal_gammma=2"], "unknown config key 'proxy.loss.focal_gammma': did you mean proxy.loss.focal_gamma? (LossConfig's keys: focal_alpha,"),
        (["proxy.head_filters=32"], "unknown config key 'proxy.head_filters': did you mean proxy.model.head_filters?"),
        (["ray.num_gpus=some"], "ray.num_gpus: 'some' is not an integer"),
        (["scheduler.grace_period=x"], "scheduler.grace_period: 'x' is not an integer"),
        (["searcher=evolution", "searcher.population=many"], "searcher.population: 'many' is not an integer"),
        (["proxy=coco"], "missing value for proxy.data.train_ann"),
    ],
)
def test_a_wrong_key_or_type_names_the_key(overrides, message):
    with pytest.raises(ConfigError, match="^" + message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?").replace(".", r"\.")):
        from nas.settings.search import load_settings

        load_settings(overrides)


def test_a_flat_checkpoint_record_of_older_versions_reads_nested():
    proxy = proxy_config({"name": "synthetic", "lr": 0.01, "optimizer": "adamw", "head_filters": 32, "norm": "group", "nms_iou": 0.6})
    assert (proxy.optim.lr, proxy.optim.optimizer, proxy.model.head_filters, proxy.model.norm, proxy.inference.nms_iou) == (0.01, "adamw", 32, "group", 0.6)
    with pytest.raises(ConfigError, match="unknown config key 'proxy.lrr'"):
        proxy_config({"name": "synthetic", "lrr": 0.01})


def test_resume_accepts_a_run_saved_by_the_flat_layout_and_names_a_changed_key(tmp_path):
    """A run's config.yaml from before the schemas (flat proxy keys, only the options a YAML file
    set) resumes with the same settings; a changed setting is named down to its key."""
    from nas.settings.search import RESUME_FIXED, check_resumable

    same = ["searcher.lr=0.02"]  # the learning rate of that time; the default is 0.015 now
    cfg = compose("search", same)
    old = OmegaConf.to_container(cfg, resolve=True)
    proxy = old["proxy"]
    for group in ("model", "optim", "loss", "inference"):
        proxy.update(proxy.pop(group))
    proxy["name"] = proxy.pop("label")  # the label, under the key it had before the evaluator registry
    del old["reward"]["name"]  # added with the reward registry
    old["searcher"] = {"name": "reinforce", "batch_size": 2, "lr": 0.02}
    old["scheduler"] = {"name": "none"}
    old["trial"] = {"cpus": 1, "gpus": 0, "max_failures": 3}
    old["pixels"] = "pad-mean"  # the layout is under test here; without this line the folder is a black-padded training's, refused (below)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(old))
    check_resumable(tmp_path, cfg, RESUME_FIXED)
    with pytest.raises(ConfigError, match=r"resume: 'proxy.optim.lr' differs from the run in .* \(run: 0.003, now: 0.5\)"):
        check_resumable(tmp_path, compose("search", [*same, "proxy.optim.lr=0.5"]), RESUME_FIXED)
    with pytest.raises(ConfigError, match=r"resume: 'searcher.reuse' differs"):
        check_resumable(tmp_path, compose("search", [*same, "searcher.reuse=0"]), RESUME_FIXED)
    with pytest.raises(ConfigError, match=r"resume: 'searcher.lr' differs .*\(run: 0.02, now: 0.015\)"):
        check_resumable(tmp_path, compose("search", []), RESUME_FIXED)  # a changed default is named too


def test_a_run_and_a_proxy_file_that_name_the_kind_evaluator_read_in_todays_layout(tmp_path):
    """Run folders and proxy files written before 2026-12-07 chose the proxy's kind by `evaluator`
    and kept the label in `name`; they resume, and the file composes, as `name` and `label` now."""
    from nas.settings.search import RESUME_FIXED, check_resumable, load_settings, run_settings

    cfg = compose("search", ["proxy=synthetic_tiny"])
    old = OmegaConf.to_container(cfg, resolve=True)
    old["proxy"]["evaluator"] = old["proxy"].pop("name")
    old["proxy"]["name"] = old["proxy"].pop("label")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(old))
    with pytest.raises(ConfigError, match="padded black"):  # a training of that layout is from before the mean padding (the check missed it until 2026-12-07)
        check_resumable(tmp_path, cfg, RESUME_FIXED)
    old["pixels"] = "pad-mean"  # the layout is under test from here on
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(old))
    check_resumable(tmp_path, cfg, RESUME_FIXED)
    again = run_settings(tmp_path, ["proxy.epochs=3"]).proxy
    assert (again.name, again.label, again.epochs) == ("training", "synthetic_tiny", 3)
    with pytest.raises(ConfigError, match=r"resume: 'proxy.epochs' differs"):
        check_resumable(tmp_path, compose("search", ["proxy=synthetic_tiny", "proxy.epochs=5"]), RESUME_FIXED)

    old_file = tmp_path / "proxy.yaml"  # as proxy-design wrote it then: the schema, then every key
    old_file.write_text(yaml.safe_dump({"defaults": ["base_training", "_self_"], **old["proxy"]}))
    proxy = load_settings([f"proxy={old_file}"]).proxy
    assert (proxy.name, proxy.label, proxy.data.synthetic) == ("training", "synthetic_tiny", "tiny")


def test_a_proxy_given_as_a_list_is_refused_in_one_line(tmp_path):
    from nas.settings.search import load_settings

    listed = tmp_path / "proxy.yaml"
    listed.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match=r"proxy.yaml: a proxy file holds keys and values \(like conf/proxy/\*.yaml\), not a list"):
        load_settings([f"proxy={listed}"])
    with pytest.raises(ConfigError, match=r"^proxy: a group takes one choice"):
        load_settings(["proxy=[1,2]"])


def test_a_run_folder_of_black_padded_trainings_is_not_resumed_into_mean_padded_ones(tmp_path):
    """Runs trained before images were padded with the mean colour are not comparable with today's;
    a resume that would mix them is refused in one line. A surrogate's folder (no images) resumes."""
    from omegaconf import OmegaConf

    from nas.settings.search import check_resumable, load_settings

    settings = load_settings(["proxy=synthetic_tiny"])
    record = settings.record()
    assert record["pixels"] == "pad-mean"
    OmegaConf.save(record, tmp_path / "config.yaml")
    check_resumable(tmp_path, settings.cfg, ("proxy",))  # written today: resumes
    del record["pixels"]
    OmegaConf.save(record, tmp_path / "config.yaml")
    with pytest.raises(ConfigError, match=r"does not say how its images were padded: its runs were padded black \(before 2026-12-07\).*add .pixels: pad-mean.*start a new out_dir"):
        check_resumable(tmp_path, settings.cfg, ("proxy",))
    surrogate = load_settings(["proxy=surrogate"])
    old = surrogate.record()
    del old["pixels"]
    OmegaConf.save(old, tmp_path / "config.yaml")
    check_resumable(tmp_path, surrogate.cfg, ("proxy",))
    # the older layouts of a surrogate's folder (the kind under `evaluator`, or only the label `surrogate`
    # under `name`) resume too; an older training's (the kind under `evaluator`) is refused
    from nas.settings.search import _trains_on_images

    assert not _trains_on_images(OmegaConf.create({"proxy": {"evaluator": "surrogate", "name": "my-surrogate", "noise": 0.02}}))
    assert not _trains_on_images(OmegaConf.create({"proxy": {"name": "surrogate", "noise": 0.02}}))
    assert _trains_on_images(OmegaConf.create({"proxy": {"evaluator": "training", "name": "synthetic"}}))
    assert _trains_on_images(OmegaConf.create({"proxy": {"name": "synthetic", "epochs": 3}}))  # a label of the days before kinds: a training
    assert _trains_on_images(OmegaConf.create({}))


def test_a_run_made_with_a_plugins_config_group_is_refused_without_the_plugin(tmp_path):
    """A joined kind's group that no loaded kind declares (its plugin not loaded) is named, with the
    remedy, instead of an unknown-key message about the top level."""
    from nas.settings.search import load_settings, run_settings

    record = load_settings(["trials=2"]).record()
    (tmp_path / "config.yaml").write_text(OmegaConf.to_yaml(OmegaConf.create({**record, "watts": {"per_filter": 2.0}})))
    with pytest.raises(ConfigError, match=r"config.yaml: group 'watts' belongs to no kind loaded here; load the plugin the run was made with"):
        run_settings(tmp_path, [])
    (tmp_path / "config.yaml").write_text(OmegaConf.to_yaml(OmegaConf.create(record)))
    assert run_settings(tmp_path, []).top.trials == 2
