"""The pose backend protocol: anything that turns an RGB frame into landmark sets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True, eq=False)
class PoseResult:
    """One person in one frame: normalised image landmarks and world landmarks."""

    #: (33, 4): x, y in [0, 1] of width/height, relative depth z, visibility.
    image_xyzv: np.ndarray
    #: (33, 3) metres, origin between the hips.
    world_xyz_m: np.ndarray
    #: (H, W) float32 person mask in [0, 1] of the input frame, when the backend was asked for it.
    mask: np.ndarray | None = None


class PoseBackend(Protocol):
    """A pose estimator used as a context manager, fed frames in time order."""

    running_mode: str

    def __enter__(self) -> PoseBackend: ...

    def __exit__(self, *exc: object) -> None: ...

    def detect(self, rgb: np.ndarray, time_s: float) -> list[PoseResult]:
        """All people found in the RGB uint8 frame at ``time_s`` seconds."""
        ...
