"""Screening: what an architecture is worth before it is trained (a learned predictor of the proxy
score from the spec; the zero-cost scores live in `proxy_tasks.zero_cost`, beside the detector they
score). Imports `nas.core`, `search_space` and `proxy_tasks` only: it sits beside the searchers,
evaluators and rewards, and imports none of them."""
