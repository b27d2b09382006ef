"""The run folder: rows read back on resume feed the searcher with typed results."""

import dataclasses

from nas.reward import RewardConfig
from nas.results import RunFolder
from nas.searchers import make_searcher
from nas.trainable import run_trial
from proxy_tasks.surrogate import SurrogateConfig
from search_space import get_space

SPACE = get_space("r35_sp18", block_adjustments=True)


def test_a_duplicate_after_resume_reports_the_original_reward(tmp_path):
    folder = RunFolder(tmp_path)
    folder.start(resume=False)
    first = make_searcher("random", SPACE, {}, seed=1, on_complete=folder.append)
    config = first.suggest("t1")
    result = run_trial(config, SurrogateConfig(), RewardConfig(), "spinenet49", threads=1)
    first.on_trial_complete("t1", result)

    # A resumed driver: no saved state, the row is replayed from trials.csv.
    folder = RunFolder(tmp_path)
    folder.start(resume=True)
    (row,) = folder.rows
    typed = folder.result_of(row)
    assert typed["reward"] == result["reward"] and isinstance(typed["flops"], int) and typed["arch_id"] == config["arch_id"]
    resumed = make_searcher("random", SPACE, {}, seed=1)
    resumed.replay(row.trial_id, folder.proposal_of(row), row.reward, row.status, typed)

    # The same architecture proposed again is not trained: `suggest` would hand out its cached result.
    resumed.pending["t2"] = dataclasses.replace(folder.proposal_of(row), cached=True)
    again = {**config, "cached_result": resumed.cache[config["arch_id"]]}
    seen = []
    resumed.on_complete = seen.append
    resumed.on_trial_complete("t2", run_trial(again, SurrogateConfig(), RewardConfig(), "spinenet49", threads=1))
    assert [(c.status, c.reward) for c in seen] == [("cached", result["reward"])]
