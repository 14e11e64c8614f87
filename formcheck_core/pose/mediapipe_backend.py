"""MediaPipe Pose Landmarker behind the small :class:`~formcheck_core.pose.PoseBackend` protocol."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from collections.abc import Iterator

import numpy as np

from .backend import PoseResult

RUNNING_MODES = ("video", "image")


@contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Silence the C++ runtime's INFO/WARNING lines on file descriptor 2 while loading a model."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class MediaPipePose:
    """A Pose Landmarker in VIDEO mode (tracks between frames) or IMAGE mode (detects every frame).

    ``num_poses`` > 1 also finds bystanders (the largest person is analysed and frames with
    several people are reported) but stops VIDEO mode from skipping the detector, roughly halving
    throughput. ``segmentation`` also returns each person's mask (:attr:`PoseResult.mask`; about
    1.3-1.4x the time per frame). Use as a context manager so the native graph is closed
    deterministically.
    """

    def __init__(
        self, model_path: str | Path, running_mode: str = "video", num_poses: int = 1, segmentation: bool = False
    ) -> None:
        if running_mode not in RUNNING_MODES:
            raise ValueError(f"running_mode must be one of {RUNNING_MODES}, not {running_mode!r}")
        os.environ.setdefault("GLOG_minloglevel", "2")
        from mediapipe.tasks.python import BaseOptions, vision

        self.running_mode = running_mode
        mode = vision.RunningMode.VIDEO if running_mode == "video" else vision.RunningMode.IMAGE
        options = vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(model_path)),
            running_mode=mode,
            num_poses=num_poses,
            output_segmentation_masks=segmentation,
        )
        with quiet_native_stderr():
            self._landmarker = vision.PoseLandmarker.create_from_options(options)
        self._last_ts_ms = -1

    def __enter__(self) -> MediaPipePose:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._landmarker is not None:
            self._landmarker.close()
            self._landmarker = None

    def detect(self, rgb: np.ndarray, time_s: float) -> list[PoseResult]:
        """Poses in one RGB uint8 frame at ``time_s``; each with image (33, 4) and world (33, 3)."""
        import mediapipe as mp

        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        if self.running_mode == "video":
            ts_ms = max(int(round(time_s * 1000)), self._last_ts_ms + 1)  # must increase strictly
            self._last_ts_ms = ts_ms
            result = self._landmarker.detect_for_video(image, ts_ms)
        else:
            result = self._landmarker.detect(image)
        poses = []
        masks = result.segmentation_masks or []
        for i, (img_lms, world_lms) in enumerate(zip(result.pose_landmarks, result.pose_world_landmarks)):
            image_arr = np.array([(p.x, p.y, p.z, p.visibility or 0.0) for p in img_lms], dtype=np.float64)
            world_arr = np.array([(p.x, p.y, p.z) for p in world_lms], dtype=np.float64)
            mask = np.array(masks[i].numpy_view(), dtype=np.float32).squeeze() if i < len(masks) else None
            poses.append(PoseResult(image_xyzv=image_arr, world_xyz_m=world_arr, mask=mask))
        return poses
