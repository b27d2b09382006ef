"""The prepare step (nas/runner/prepare.py): loading settings reads no data; preparing does, and a
command refuses a folder mistake before it pays for the data read."""

import pytest

from nas.commands.search import run_search
from nas.runner.prepare import prepare
from nas.settings.search import load_settings
from proxy_tasks.data import DatasetError
from search_space.errors import ConfigError

MISSING = ["proxy=custom", "proxy.data.format=voc", "proxy.data.root=/nonexistent/voc"]


def test_loading_is_passive_and_preparing_reads_the_data():
    settings = load_settings(MISSING)  # typed and checked, no file opened
    with pytest.raises(DatasetError, match="/nonexistent/voc: VOC dataset folder not found"):
        prepare(settings)


def test_a_search_refuses_a_taken_folder_before_reading_the_data(tmp_path):
    (tmp_path / "trials.csv").write_text("number\n")
    with pytest.raises(ConfigError, match="already holds a search"):  # not the data error: the folder is checked first
        run_search([*MISSING, f"out_dir={tmp_path}"])
    with pytest.raises(DatasetError, match="VOC dataset folder not found"):
        run_search([*MISSING, f"out_dir={tmp_path / 'new'}"])
    assert not (tmp_path / "new").exists()  # refused before anything was written
