"""Build a MediaPipe Pose Landmarker ``.task`` bundle offline, from the mediapipe wheel on PyPI.

mediapipe 1.2.x ships no model files, but the ``mediapipe==0.10.21`` wheel carries BlazePose's two
TFLite graphs. The Tasks runtime needs them with image-input metadata (normalisation) and zipped as
a "model asset bundle". This module does exactly that:

1. ``pip download --no-deps mediapipe==0.10.21`` (one platform's wheel; the graphs are identical),
2. read ``pose_detection.tflite`` and ``pose_landmark_full.tflite`` out of it,
3. add image-input metadata (detector: mean 127.5, std 127.5 -> [-1, 1];
   landmarks: mean 0, std 255 -> [0, 1]) with mediapipe's own metadata writer,
4. write ``pose_detector.tflite`` + ``pose_landmarks_detector.tflite`` into a 16-byte-aligned zip.

mediapipe's writer imports a compiled helper the 1.2 wheel lacks
(``_pywrap_metadata_version``); it only computes the minimum metadata-parser version string, so
we provide that one function (the features used here need parser 1.0.0).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import types
import zipfile
from pathlib import Path

from ..errors import FormcheckError

SOURCE_WHEEL = "mediapipe==0.10.21"
DETECTOR_MEMBER = "mediapipe/modules/pose_detection/pose_detection.tflite"
LANDMARKS_MEMBER = "mediapipe/modules/pose_landmark/pose_landmark_full.tflite"
#: (mean, std) that map uint8 pixels to each graph's float input range.
DETECTOR_NORM = (127.5, 127.5)
LANDMARKS_NORM = (0.0, 255.0)
MIN_PARSER_VERSION = "1.0.0"


def download_source_wheel(dest: Path) -> Path:
    """Download the mediapipe 0.10.21 wheel (no dependencies) into ``dest``; return its path."""
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--platform",
        "manylinux_2_28_x86_64",
        "--python-version",
        "3.11",
        "--implementation",
        "cp",
        "-d",
        str(dest),
        SOURCE_WHEEL,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(dest.glob("mediapipe-0.10.21-*.whl"))
    if proc.returncode != 0 or not wheels:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise FormcheckError(
            f"Could not download {SOURCE_WHEEL} from PyPI to build the pose model ({tail[0]}). "
            "Check your connection to PyPI, or pass --from-wheel PATH to a downloaded wheel."
        )
    return wheels[0]


def _install_metadata_version_shim() -> None:
    """Provide the one compiled function mediapipe's metadata writer needs and the wheel lacks."""
    name = "mediapipe.tasks.cc.metadata.python._pywrap_metadata_version"
    if name in sys.modules:
        return
    try:
        __import__(name)
        return
    except ImportError:
        pass
    import mediapipe.tasks  # noqa: F401  (parent package must exist first)

    for parent in ("mediapipe.tasks.cc", "mediapipe.tasks.cc.metadata", "mediapipe.tasks.cc.metadata.python"):
        if parent not in sys.modules:
            pkg = types.ModuleType(parent)
            pkg.__path__ = []
            sys.modules[parent] = pkg
    shim = types.ModuleType(name)
    shim.GetMinimumMetadataParserVersion = lambda _buffer: MIN_PARSER_VERSION  # type: ignore[attr-defined]
    sys.modules[name] = shim


def add_image_metadata(tflite: bytes, mean: float, std: float, name: str) -> bytes:
    """Return ``tflite`` with image-input normalisation metadata added."""
    _install_metadata_version_shim()
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer

    writer = metadata_writer.MetadataWriter.create(bytearray(tflite))
    writer.add_general_info(name, f"{name} (BlazePose GHUM full, from {SOURCE_WHEEL})")
    writer.add_image_input([mean], [std])
    model, _json = writer.populate()
    return bytes(model)


def _entry(name: str) -> zipfile.ZipInfo:
    """A stored (uncompressed) zip entry with a fixed timestamp."""
    return zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))


def build_pose_task(out_path: Path, wheel: Path | None = None) -> Path:
    """Build ``pose_landmarker_full.task`` at ``out_path`` from the PyPI wheel (downloaded if None)."""
    _install_metadata_version_shim()
    from mediapipe.tasks.python.metadata.metadata_writers import model_asset_bundle_utils

    with tempfile.TemporaryDirectory() as tmp:
        wheel = wheel or download_source_wheel(Path(tmp))
        with zipfile.ZipFile(wheel) as wz:
            detector = wz.read(DETECTOR_MEMBER)
            landmarks = wz.read(LANDMARKS_MEMBER)
        # Fixed zip timestamps make the build reproducible: same wheel -> same sha256 -> the pose
        # cache (keyed by model hash) stays valid when the model is rebuilt on a fresh checkout.
        bundle = {
            _entry("pose_detector.tflite"): add_image_metadata(detector, *DETECTOR_NORM, "pose_detector"),
            _entry("pose_landmarks_detector.tflite"): add_image_metadata(
                landmarks, *LANDMARKS_NORM, "pose_landmarks_detector"
            ),
        }
        out_path.parent.mkdir(parents=True, exist_ok=True)
        partial = out_path.with_suffix(".task.partial")
        model_asset_bundle_utils.create_model_asset_bundle(bundle, str(partial))
        partial.replace(out_path)
    return out_path
