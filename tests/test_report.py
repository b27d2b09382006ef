"""report.html: written by a real search, readable by `spinenas report`, and checked in headless
Chromium (scripts run without error, the trial table sorts)."""

import html
import re

import pytest

from nas.commands.cli import main
from nas.core.pareto import pareto_front
from nas.reporting.report import REPORT, LiveReport, write_report
from nas.reporting.trials import SearchFolder
from nas.commands.search import run_search
from tests.browser import chromium, page_state


@pytest.fixture(scope="module")
def run(tmp_path_factory, shared_ray):
    """A finished surrogate search: REINFORCE, 12 trials, two at a time."""
    out = tmp_path_factory.mktemp("report") / "run"
    run_search(["proxy=surrogate", "proxy.duration_s=0.05", "trials=12", "max_concurrent=2", f"out_dir={out}"])
    return out


def test_pareto_front():
    points = [(3, 0.25), (1, 0.1), (2, 0.3), (2, 0.2), (4, 0.5), (5, 0.5)]
    assert pareto_front(points) == [(1, 0.1), (2, 0.3), (4, 0.5)]


def test_the_search_writes_a_finished_report(run):
    page = (run / REPORT).read_text()
    rows = SearchFolder(run).read_rows()
    assert "finished" in re.search(r'<span class="state[^>]*>([^<]*)<', page).group(1)
    assert "12 of 12 (12 ok, 0 cached, 0 stopped, 0 failed)" in page
    best = max(rows, key=lambda r: r.reward)
    assert f"trial {best.number}: reward {best.reward:.4f}" in html.unescape(page)
    assert page.count("<tr class=") == 12  # one table row per trial
    assert page.count('<figure class="arch">') == 4  # the top 4, drawn
    assert "updates of the reinforce controller" in page  # batch 2: six updates
    assert 'http-equiv="refresh"' not in page  # a finished run's page stops reloading
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page) and "<link" not in page  # self-contained
    assert "proxy:" in page and "name: surrogate" in page  # the resolved config


def test_spinenas_report_rewrites_it(run, capsys):
    (run / REPORT).unlink()
    assert main(["report", str(run)]) == 0
    assert capsys.readouterr().out.strip() == str(run / REPORT)
    assert "finished" in (run / REPORT).read_text()
    assert main(["report", str(run / "nothing")]) == 2


def test_live_report_is_spaced(run):
    live = LiveReport(run, spacing=1e9)
    live.refresh("running", force=True)
    page = (run / REPORT).read_text()
    assert 'http-equiv="refresh"' in page and "running" in page
    (run / REPORT).unlink()
    live.refresh("running")  # too soon after the last one: put off
    assert not (run / REPORT).exists() and live.pending
    live.catch_up()  # still too soon
    assert not (run / REPORT).exists()
    live.spacing = 0.0
    live.catch_up()  # the status-line timer writes the page that was put off
    assert (run / REPORT).exists() and not live.pending
    write_report(run)  # leave the finished page for the other tests


@pytest.mark.skipif(chromium() is None, reason="needs Debian's chromium (apt-get install chromium)")
def test_page_in_headless_chromium(run, tmp_path):
    dom, ready, errors = page_state(run / REPORT, "#sort=reward:desc")
    assert ready and errors == ""
    rewards = [float(v) for v in re.findall(r'<tr class="ok"><td data-value="[^"]*">\d+</td><td>ok</td><td data-value="([^"]*)"', dom)]
    assert len(rewards) == 12 and rewards == sorted(rewards, reverse=True)  # sorted by the page's script
    # The check can fail: a page with a broken script is caught.
    broken = tmp_path / "broken.html"
    broken.write_text((run / REPORT).read_text().replace("</body>", "<script>notDefined();</script></body>"))
    _, _, errors = page_state(broken)
    assert "notDefined" in errors


def test_the_status_table_names_the_proxy_by_its_label_in_either_layout():
    """config.yaml keeps the proxy's own name in `label` (its kind in `name`); folders written
    before 2026-12-07 kept it in `name` (the kind in `evaluator`)."""
    from nas.reporting.report import _proxy_label

    assert _proxy_label({"name": "training", "label": "synthetic_tiny"}) == "synthetic_tiny"
    assert _proxy_label({"evaluator": "training", "name": "synthetic_tiny"}) == "synthetic_tiny"
    assert _proxy_label({}) == "?"
