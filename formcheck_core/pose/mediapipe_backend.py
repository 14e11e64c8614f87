"""MediaPipe Pose Landmarker behind the small :class:`~formcheck_core.pose.PoseBackend` protocol."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .backend import PoseResult

RUNNING_MODES = ("video", "image")


#: Set before MediaPipe's native libraries load: keep glog/absl/TFLite below ERROR quiet.
NATIVE_LOG_ENV = {"GLOG_minloglevel": "2", "TF_CPP_MIN_LOG_LEVEL": "2", "ABSL_MIN_LOG_LEVEL": "2"}


def quiet_native_log_env() -> None:
    """Ask the native runtimes for errors only (a user's own setting wins). Idempotent."""
    for name, value in NATIVE_LOG_ENV.items():
        os.environ.setdefault(name, value)


@contextmanager
def deferred_sigint() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) back while MediaPipe's native code initialises: interrupted there, its
    import fails with an ImportError ("initialization failed") and the process aborts at exit.
    The held signal arrives right after, as a clean KeyboardInterrupt. Main thread only."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for the duration: MediaPipe's C++ code logs INFO/WARNING
    lines ("Logging before InitGoogle", "inference_runner_litert.cc ... not aligned",
    "landmark_projection_calculator.cc", "DestroyAccelerator") straight to fd 2 at model load,
    on inference calls and at close, bypassing Python. Errors still reach Python as exceptions."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        sys.stderr.flush()
    except (AttributeError, OSError, ValueError):
        pass
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
    throughput. ``segmentation`` also returns each person's mask (:attr:`PoseResult.mask`) from the
    same model call: the landmarks are unchanged (bit-identical on the dev clips here); a 10 fps
    pass took +8 % wall / +13 % CPU (``benchmarks/bench_back.py``, quiet machine). Use as a context manager so the native graph is closed
    deterministically.
    """

    def __init__(
        self,
        model_path: str | Path,
        running_mode: str = "video",
        num_poses: int = 1,
        segmentation: bool = False,
    ) -> None:
        if running_mode not in RUNNING_MODES:
            raise ValueError(f"running_mode must be one of {RUNNING_MODES}, not {running_mode!r}")
        quiet_native_log_env()
        with deferred_sigint(), quiet_native_stderr():  # the first import of mediapipe logs too
            from mediapipe.tasks.python import BaseOptions, vision

        self.running_mode = running_mode
        mode = vision.RunningMode.VIDEO if running_mode == "video" else vision.RunningMode.IMAGE
        options = vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(model_path)),
            running_mode=mode,
            num_poses=num_poses,
            output_segmentation_masks=segmentation,
        )
        landmarker = None
        try:
            with deferred_sigint(), quiet_native_stderr():  # graph threads start with SIGINT blocked
                landmarker = vision.PoseLandmarker.create_from_options(options)
        except BaseException:  # e.g. Ctrl-C deferred until it opened: close it now, not at exit
            if landmarker is not None:
                with quiet_native_stderr():
                    landmarker.close()
            raise
        self._landmarker = landmarker
        self._last_ts_ms = -1

    def __enter__(self) -> MediaPipePose:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._landmarker is not None:
            with quiet_native_stderr():  # "DestroyAccelerator" and friends
                self._landmarker.close()
            self._landmarker = None

    def detect(self, rgb: np.ndarray, time_s: float) -> list[PoseResult]:
        """Poses in one RGB uint8 frame at ``time_s``; each with image (33, 4) and world (33, 3)."""
        import mediapipe as mp

        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        if self.running_mode == "video":
            ts_ms = max(int(round(time_s * 1000)), self._last_ts_ms + 1)  # must increase strictly
            self._last_ts_ms = ts_ms
            with quiet_native_stderr():
                result = self._landmarker.detect_for_video(image, ts_ms)
        else:
            with quiet_native_stderr():
                result = self._landmarker.detect(image)
        poses = []
        masks = result.segmentation_masks or []
        for i, (img_lms, world_lms) in enumerate(
            zip(result.pose_landmarks, result.pose_world_landmarks, strict=False)
        ):
            image_arr = np.array([(p.x, p.y, p.z, p.visibility or 0.0) for p in img_lms], dtype=np.float64)
            world_arr = np.array([(p.x, p.y, p.z) for p in world_lms], dtype=np.float64)
            mask = np.array(masks[i].numpy_view(), dtype=np.float32).squeeze() if i < len(masks) else None
            poses.append(PoseResult(image_xyzv=image_arr, world_xyz_m=world_arr, mask=mask))
        return poses


def open_pose_backend(
    model_path: str | Path, running_mode: str = "video", num_poses: int = 1, segmentation: bool = False
) -> MediaPipePose:
    """A :class:`MediaPipePose` (``segmentation``: with person masks), or
    :class:`~formcheck_core.errors.ModelInvalidError` (one line, no C++ text) when the runtime
    refuses the model (e.g. a .task zip with the right member names but damaged contents)."""
    from ..errors import ModelInvalidError

    detail: Exception
    try:
        return MediaPipePose(
            model_path, running_mode=running_mode, num_poses=num_poses, segmentation=segmentation
        )
    except ValueError as exc:
        if str(exc).startswith("running_mode"):
            raise
        detail = exc
    except RuntimeError as exc:  # MediaPipe raises these with long C++ status text
        detail = exc
    first = (str(detail).strip().splitlines() or [type(detail).__name__])[0][:160]
    raise ModelInvalidError(
        f"MediaPipe could not load the pose model {model_path} ({first}). Delete it and run "
        "`formcheck models install --force`, or give another .task file with --pose-model."
    ) from None
