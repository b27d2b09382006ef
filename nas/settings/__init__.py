"""Settings: the typed config of every command, read once.

Owns the Hydra schemas of the top level and of each group (`schemas`: one schema map, registered in
Hydra's ConfigStore, composed against `conf/`), and a search's settings as typed objects with what
can be checked before Ray starts (`search`: `load_settings`, `check_resumable`). Imports the
registries of `nas.searchers`, `nas.evaluators` and `nas.rewards`, and `nas.core`; nothing above.
"""
