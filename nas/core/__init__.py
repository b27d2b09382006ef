"""The bottom layer of `nas`: plain data and arithmetic every other layer shares.

Owns: trial statuses (`status`), the scheduler's settings and rung arithmetic (`schedule`), what a
search optimises (`objectives`), and the rank statistics of proxy scores (`ranking`). Imports nothing from `nas`; only `search_space`,
the standard library, numpy and scipy. No Ray, no Hydra, no torch.
"""
