"""The error family for problems with what a user gave us (a spec, a config, a dataset, a name,
a file). The CLI prints these as one line with exit code 2 (130 for `StoppedEarly`); any other exception is a bug of ours
and keeps its traceback (exit code 1)."""

from __future__ import annotations


class SpineNASError(Exception):
    """Base of every user-facing error; the message names the file, key or record and the rule."""


class ConfigError(SpineNASError, ValueError):
    """A wrong config key or value; the message names the key."""


class InputError(SpineNASError, ValueError):
    """A bad value or file from the user that is not a spec, config or dataset (weights, sizes)."""


class UnknownNameError(SpineNASError, KeyError):
    """A name (architecture, preset, space, searcher, ...) that no registry holds."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class StoppedEarly(SpineNASError):
    """A campaign's trials stopped before every planned run finished (Ctrl-C, a lost cluster): what
    finished is kept, and nothing is judged on a part; the message says how to continue."""

    exit_code = 130  # as a shell reports an interrupted command

