"""Settings: the typed config of every command, read once.

Owns the Hydra schemas of the top level and of each group (`schemas`: one schema map, registered in
Hydra's ConfigStore, composed against `conf/`; a joined kind's group is added when a config is
composed, so a plugin's counts too), the groups whose node names a registered kind (`kinds`), its
refusals in one line (`messages`), the options of each
command (`commands`, declared once through `options`), and a search's settings as typed objects with what
can be checked before Ray starts (`search`: `load_settings`, `check_resumable`). Imports the
registries of `nas.searchers`, `nas.evaluators` and `nas.rewards`, and `nas.core`; nothing above.
"""
