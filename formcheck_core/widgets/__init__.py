"""Notebook widgets (ipywidgets): explore frames, tune thresholds, get coaching.

Presentation only: these read an :class:`~formcheck_core.analysis.Analysis` and draw with
:mod:`formcheck_core.render`. Import the one you need::

    from formcheck_core.widgets import FrameExplorer, ThresholdExplorer, CoachingPanel

Names are imported lazily, so importing this package does not import matplotlib or a model.
"""

from __future__ import annotations

import importlib
from typing import Any

_PUBLIC = {
    "FrameExplorer": "explorer",
    "ExplorerState": "explorer",
    "explore": "explorer",
    "ThresholdExplorer": "thresholds",
    "CoachingPanel": "coaching",
}
__all__ = ["CoachingPanel", "ExplorerState", "FrameExplorer", "ThresholdExplorer", "explore"]


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(importlib.import_module(f".{_PUBLIC[name]}", __name__), name)
    raise AttributeError(f"module 'formcheck_core.widgets' has no attribute {name!r}")
