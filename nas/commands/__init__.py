"""Commands: the `spinenas` command line and one module per command.

`cli` parses arguments and turns user mistakes (`SpineNASError`) into one line and exit code 2;
each other module is one command (`spinenas --help` lists them: search, table, fidelity,
proxy-design, finalize, plan, screen, train, export, latency, data, ...): it composes its settings,
runs a campaign (or a single training, or none) and prints what it made. The top layer: it may import every layer of `nas`,
and nothing imports it.
"""
