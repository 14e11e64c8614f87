"""The pose series: what the pose stage hands to biomechanics. Frames without a pose are NaN."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class PoseSeries:
    """Landmarks of one person over the sampled frames of a clip.

    Shapes: ``T`` sampled frames, 33 landmarks. A frame where no pose was found keeps its place in
    the timeline with NaN in every landmark array (and ``people_count`` 0).
    """

    #: (T,) source frame index of each sample (0-based, read order).
    frame_index: np.ndarray
    #: (T,) time of each sample in seconds from the start of the clip.
    time_s: np.ndarray
    #: (T, 33, 2) image coordinates in pixels of the upright frame (x right, y down).
    image_xy_px: np.ndarray
    #: (T, 33) MediaPipe's relative landmark depth (same scale as normalised x; smaller = nearer).
    image_z: np.ndarray
    #: (T, 33, 3) world coordinates in metres, origin between the hips (x right, y down, z depth).
    world_xyz_m: np.ndarray
    #: (T, 33) visibility in [0, 1] (likelihood the landmark is visible, not occluded).
    visibility: np.ndarray
    #: (T,) number of people the detector reported in the frame (the first one is kept).
    people_count: np.ndarray
    width_px: int
    height_px: int
    #: Frame rate of the source clip.
    source_fps: float
    #: Target sampling rate used (None = every frame).
    sample_fps: float | None
    #: Pose model identifier (file name + sha256 prefix) and running mode ("video" / "image").
    model_id: str
    running_mode: str

    @property
    def n_samples(self) -> int:
        return int(self.frame_index.shape[0])

    @property
    def detected(self) -> np.ndarray:
        """(T,) bool: a pose was found in the sample."""
        return ~np.isnan(self.image_xy_px[:, 0, 0])

    def arrays(self) -> dict[str, np.ndarray]:
        """The array fields by name (for caching and export)."""
        return {
            "frame_index": self.frame_index,
            "time_s": self.time_s,
            "image_xy_px": self.image_xy_px,
            "image_z": self.image_z,
            "world_xyz_m": self.world_xyz_m,
            "visibility": self.visibility,
            "people_count": self.people_count,
        }

    def meta(self) -> dict[str, object]:
        """The scalar fields by name (for caching and export)."""
        return {
            "width_px": self.width_px,
            "height_px": self.height_px,
            "source_fps": self.source_fps,
            "sample_fps": self.sample_fps,
            "model_id": self.model_id,
            "running_mode": self.running_mode,
        }
