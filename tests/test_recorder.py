"""The search's recorder: rows first, the searcher state at most every interval, and a resume from
the saved state plus the replayed rows equals the uninterrupted searcher."""

import json

import torch

from nas.reporting.recorder import SearchRecorder
from nas.reporting.trials import SearchFolder
from nas.searchers import make_searcher, searcher_options
from proxy_tasks.surrogate import SurrogateConfig, SurrogateTask
from search_space import get_space

SPACE = get_space("r35_sp18", block_adjustments=True)
TASK = SurrogateTask(SurrogateConfig(target="spinenet49"))


def test_state_is_saved_at_most_every_interval_and_replay_catches_up(tmp_path):
    folder = SearchFolder(tmp_path)
    folder.start(resume=False)
    a = make_searcher(searcher_options("reinforce", {"batch_size": 3}), SPACE, seed=3)
    recorder = SearchRecorder(folder, a, state_every_s=3600)
    a.save(str(tmp_path / "tune-copy.json"))  # Tune saves searchers for itself; that must not delay ours
    for i in range(7):
        cfg = a.suggest(f"t{i}")
        recorder.record(a.complete(f"t{i}", {"reward": float(TASK.run(SPACE.decode(cfg["actions"]))["AP"])}))
    assert len(json.loads(folder.searcher_state.read_text())["completed"]) == 1  # only the first completion saved
    assert [r.trial_id for r in folder.read_rows()] == [f"t{i}" for i in range(7)]  # every row written
    # A resume: the saved state plus the later rows replayed gives the uninterrupted state.
    b = make_searcher(searcher_options("reinforce", {"batch_size": 3}), SPACE, seed=3)
    b.restore(str(folder.searcher_state))
    b.pending.clear()
    resumed = SearchFolder(tmp_path)
    resumed.start(resume=True)
    for row in resumed.rows[1:]:
        b.replay(row.trial_id, resumed.proposal_of(row), row.reward, row.status, resumed.result_of(row))
    assert b.completed == a.completed and b.controller.baseline == a.controller.baseline
    assert all(torch.equal(x, y) for x, y in zip(a.controller.policy.state_dict().values(), b.controller.policy.state_dict().values()))
    recorder.save_state()
    assert len(json.loads(folder.searcher_state.read_text())["completed"]) == 7
