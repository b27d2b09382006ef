"""The campaign runner: what every command that trains architectures runs.

Owns the prepare step (`prepare`: the settings' inputs read and checked once, before anything is
written), Ray (`ray_session`), one trial on a worker (`trial`: evaluator, reward, partial results, loss
curve, failures as results), a campaign of trials on Ray Tune (`campaign`: resources, concurrency,
retries, the searcher bridge, planned runs, the status line), ASHA with our own rung bookkeeping
(`asha`) and the failure watch (`failures`). Imports `nas.reporting`, `nas.settings`,
`nas.searchers`, `nas.evaluators`, `nas.rewards` and `nas.core`; the commands are above it.
"""
