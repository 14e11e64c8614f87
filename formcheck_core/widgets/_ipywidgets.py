"""ipywidgets, or a one-line error saying how to install the notebook extra."""

from __future__ import annotations

from ..errors import FormcheckError

try:
    import ipywidgets as widgets
except ImportError:  # pragma: no cover - depends on the environment
    raise FormcheckError("The notebook widgets need ipywidgets: pip install 'formcheck[notebooks]'") from None

__all__ = ["widgets"]
