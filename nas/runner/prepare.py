"""The prepare step: passive settings (`nas.settings.search.load_settings`, which reads no data file
and times nothing) made ready for a campaign, once, before anything is written.

Loading settings types and checks every key and the kinds against each other; preparing reads what
the settings point at: the evaluator's inputs (a dataset's every record and image, decoded once and
cached by content; a surrogate's target) and the joined evaluators' (the latency table, read or
calibrated on this machine the first time: about a minute). A command prepares after its cheap
refusals (a folder that holds another run, a resume whose settings differ), so a mistake there
costs no data read.
"""

from __future__ import annotations

from nas.settings.search import SearchSettings


def prepare(settings: SearchSettings) -> SearchSettings:
    """Check the evaluator's inputs and ready the joined evaluators; returns `settings`."""
    settings.evaluator.check()
    for other in settings.joined:
        other.check()
    return settings


__all__ = ["prepare"]
