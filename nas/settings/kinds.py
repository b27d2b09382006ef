"""The config groups whose node names a registered kind, and the key that names it: what the
schemas type a node by and what refusal messages name a schema by."""

from __future__ import annotations

from nas.evaluators import EVALUATORS
from nas.rewards import REWARDS
from nas.screening.options import SCREEN_KINDS
from nas.searchers import SEARCHER_KINDS
from search_space.registry import Registry

# The one schema map: a group with one schema (`schemas.fixed_schemas`), or a registry whose kinds each
# bring theirs, chosen by the node's `KIND_KEY` (`searcher.name=evolution`; a node saved before that key
# existed means the kind it meant then).
KIND_GROUPS: dict[str, Registry] = {"searcher": SEARCHER_KINDS, "proxy": EVALUATORS, "reward": REWARDS, "screen": SCREEN_KINDS}
KIND_KEY = "name"
