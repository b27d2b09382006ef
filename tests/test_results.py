"""The run folder: rows read back on resume feed the searcher with typed results."""

import dataclasses

from nas.rewards import RewardConfig
from nas.reporting.trials import SearchFolder
from nas.searchers import make_searcher, searcher_options
from nas.runner.trial import TrialSpec, run_trial
from nas.evaluators import SurrogateOptions
from search_space import get_space

SPACE = get_space("r35_sp18", block_adjustments=True)


def test_a_duplicate_after_resume_reports_the_original_reward(tmp_path):
    folder = SearchFolder(tmp_path)
    folder.start(resume=False)
    first = make_searcher(searcher_options("random", {}), SPACE, seed=1)
    config = first.suggest("t1")
    result = run_trial(config, TrialSpec(SurrogateOptions(), RewardConfig(), "spinenet49", threads=1))
    folder.append(first.complete("t1", result))

    # A resumed driver: no saved state, the row is replayed from trials.csv.
    folder = SearchFolder(tmp_path)
    folder.start(resume=True)
    (row,) = folder.rows
    typed = folder.result_of(row)
    assert typed["reward"] == result["reward"] and isinstance(typed["flops"], int) and typed["arch_id"] == config["arch_id"]
    resumed = make_searcher(searcher_options("random", {}), SPACE, seed=1)
    resumed.replay(row.trial_id, folder.proposal_of(row), row.reward, row.status, typed)

    # The same architecture proposed again is not trained: `suggest` would hand out its cached result.
    resumed.pending["t2"] = dataclasses.replace(folder.proposal_of(row), cached=True)
    again = {**config, "cached_result": resumed.cache[config["arch_id"]]}
    seen = resumed.complete("t2", run_trial(again, TrialSpec(SurrogateOptions(), RewardConfig(), "spinenet49", threads=1)))
    assert (seen.status, seen.reward) == ("cached", result["reward"])
