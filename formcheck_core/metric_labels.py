"""A metric's name for people: the label its :class:`~formcheck_core.biomech.metric_spec.MetricSpec`
declares (or its name in words), the one label every view shows.

Read from the spec itself, the one source: a built-in metric's from
:data:`~formcheck_core.biomech.metrics.METRIC_SPECS` (imported here, so the label does not depend
on which modules a process imported first), a plugin metric's from the analysis it was measured
in (``Analysis.options["plugin_metrics"][name]["label"]``, recorded from the plugin's spec by
:func:`~formcheck_core.rules.engine.with_plugin_metrics`); else the name in words
(:func:`~formcheck_core.vocabulary.metric_name_in_words`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .biomech.metrics import METRIC_SPECS
from .vocabulary import metric_name_in_words

__all__ = ["PLUGIN_LABEL_KEY", "metric_label"]

#: Key of a plugin metric's label in ``Analysis.options["plugin_metrics"][name]``.
PLUGIN_LABEL_KEY = "label"


def metric_label(name: str, plugin_metrics: Mapping[str, Mapping[str, Any]] | None = None) -> str:
    """Metric ``name`` for people: its built-in spec's ``label``; else, for a plugin metric, the
    label recorded in ``plugin_metrics`` (an analysis' ``options["plugin_metrics"]``); else the
    name in words ("Torso lean at lift-off")."""
    spec = METRIC_SPECS.get(name)
    if spec is not None:
        return spec.label
    label = (plugin_metrics or {}).get(name, {}).get(PLUGIN_LABEL_KEY)
    return str(label) if label else metric_name_in_words(name)
