"""Pose stage: a backend protocol, the MediaPipe backend, extraction into a :class:`PoseSeries`."""

from .backend import PoseBackend, PoseResult
from .landmarks import LANDMARK, LANDMARK_NAMES, SKELETON_EDGES
from .series import PoseSeries

__all__ = ["LANDMARK", "LANDMARK_NAMES", "SKELETON_EDGES", "PoseBackend", "PoseResult", "PoseSeries"]
