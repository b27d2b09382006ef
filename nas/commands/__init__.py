"""Commands: the `spinenas` command line and one module per command.

`cli` parses arguments and turns user mistakes (`SpineNASError`) into one line and exit code 2;
`search`, `fidelity`, `plan`, `train`, `export` each compose their settings, run a campaign (or a
single training) and print what they made. The top layer: it may import every layer of `nas`,
and nothing imports it.
"""
