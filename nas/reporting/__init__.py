"""Reporting: everything a run writes for people to read, and the folders it writes into.

Owns the run-folder abstraction (`run_folder`: a CSV appended per finished trial, read back on
resume) and its kinds (`trials`: a search's; `planned_folder`: the planned commands' runs and their
run keys, with `fidelity`, `bench_table`, `finalize` and `proxy_design` on top), the search's recorder
(`recorder`: row, searcher state, TensorBoard, report page per completion), report.html
(`report`, template in `templates/`), TensorBoard scalars, plots and the train progress bar. It is
called by the runner and the commands and imports only `nas.settings`, `nas.searchers`,
`nas.evaluators`, `nas.rewards`, `nas.core` and the packages below `nas`.
"""
