"""Locate, provision and check the pose model (a MediaPipe Pose Landmarker ``.task`` file).

Resolution order for the model to use:
1. an explicit path or variant name (``lite`` / ``full`` / ``heavy``) given as an option,
2. ``$FORMCHECK_POSE_MODEL`` (path or variant name),
3. ``models/pose_landmarker_full.task`` (built offline by ``formcheck models install``).
"""

from __future__ import annotations

import json
import os
import urllib.request
import zipfile
from pathlib import Path

from ..config import models_dir
from ..errors import FormcheckError, ModelInvalidError, ModelMissingError
from ..video import file_sha256

VARIANTS = ("lite", "full", "heavy")
DEFAULT_VARIANT = "full"
INSTALL_COMMAND = "formcheck models install"
#: Google's official bundles (need internet access to storage.googleapis.com).
OFFICIAL_URL = (
    "https://storage.googleapis.com/mediapipe-models/pose_landmarker/"
    "pose_landmarker_{variant}/float16/latest/pose_landmarker_{variant}.task"
)
BUNDLE_MEMBERS = {"pose_detector.tflite", "pose_landmarks_detector.tflite"}


def pose_model_path(variant: str = DEFAULT_VARIANT) -> Path:
    """Where the ``variant`` bundle lives in the models folder."""
    return models_dir() / f"pose_landmarker_{variant}.task"


def checksums_path() -> Path:
    return models_dir() / "checksums.json"


#: sha256 of files whose content is known in advance: the offline-built bundle is reproducible
#: (fixed zip timestamps, fixed inputs from the mediapipe 0.10.21 wheel). Used to re-verify a
#: model when ``checksums.json`` is missing or corrupt.
KNOWN_SHA256 = {
    "pose_landmarker_full.task": "409cbfff39b896cce40302d600bdb32c104bf46e1f2be3d42f6805a9d3e7c735",
}


def read_checksums() -> dict[str, str] | None:
    """File name -> sha256 recorded at provisioning time; {} when there is no record file, None
    when it exists but cannot be read or is not a name -> hex mapping (corrupt)."""
    path = checksums_path()
    if not path.exists():
        return {}
    try:
        sums = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(sums, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in sums.items()
    ):
        return None
    return sums


def recorded_checksums() -> dict[str, str]:
    """File name -> sha256 recorded at provisioning time ({} if missing or unreadable)."""
    return read_checksums() or {}


def expected_sha256(name: str) -> str | None:
    """The sha256 a models-folder file must have: its record, else the known hash, else None."""
    return (read_checksums() or {}).get(name) or KNOWN_SHA256.get(name)


def record_checksum(path: Path) -> str:
    """Record ``path``'s sha256 in ``models/checksums.json`` (written atomically) and return it."""
    digest = file_sha256(path)
    sums = recorded_checksums()
    sums[path.name] = digest
    target = checksums_path()
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(sums, indent=2, sort_keys=True) + "\n")
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return digest


def resolve_pose_model(spec: str | Path | None = None) -> Path:
    """Return the path of the pose model to use (see module docstring), checking it exists."""
    spec = spec if spec not in (None, "") else os.environ.get("FORMCHECK_POSE_MODEL") or DEFAULT_VARIANT
    spec = str(spec)
    path = pose_model_path(spec) if spec in VARIANTS else Path(spec).expanduser()
    if not path.is_file():
        if spec == DEFAULT_VARIANT:
            how = f"Run `{INSTALL_COMMAND}` to build it offline from PyPI."
        elif spec in VARIANTS:
            how = f"Run `{INSTALL_COMMAND} --official {spec}` (needs internet access to Google)."
        else:
            how = f"Give the path of a .task file, or run `{INSTALL_COMMAND}`."
        raise ModelMissingError(f"Pose model {path} is missing. {how}")
    check_pose_bundle(path)
    return path


def check_pose_bundle(path: Path) -> None:
    """Raise :class:`ModelInvalidError` unless ``path`` is a zip holding the two pose graphs."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelInvalidError(
            f"Pose model {path} is not a valid .task bundle ({exc}). Delete it and run `{INSTALL_COMMAND}`."
        ) from None
    if not BUNDLE_MEMBERS <= names:
        raise ModelInvalidError(
            f"Pose model {path} lacks {sorted(BUNDLE_MEMBERS - names)}: it is not a Pose Landmarker bundle."
        )
    if path.resolve().parent != models_dir().resolve():
        return  # a file the user chose: theirs to vouch for
    expected = expected_sha256(path.name)
    if expected is None:  # fail closed: nothing to verify against
        state = "is corrupt" if read_checksums() is None else "has no entry for it"
        if not checksums_path().exists():
            state = "is missing"
        raise ModelInvalidError(
            f"Pose model {path} cannot be verified: {checksums_path()} {state}. "
            f"Run `{INSTALL_COMMAND} --force` to rebuild it and record its sha256."
        )
    if file_sha256(path) != expected:
        raise ModelInvalidError(
            f"Pose model {path} does not match its recorded sha256 (changed or corrupt). "
            f"Run `{INSTALL_COMMAND} --force` to rebuild it."
        )


def model_id(path: Path) -> str:
    """Short identifier of a model file: name plus the first 12 hex digits of its sha256."""
    return f"{path.name}:{file_sha256(path)[:12]}"


def install_pose_model(
    *, official: str | None = None, force: bool = False, wheel: Path | None = None
) -> Path:
    """Provision a pose model into the models folder and record its sha256.

    By default builds the ``full`` bundle offline from the mediapipe wheel on PyPI
    (:mod:`.pose_task`). ``official="lite"|"full"|"heavy"`` downloads Google's bundle instead.
    The result is loaded once by MediaPipe as a check.
    """
    variant = official or DEFAULT_VARIANT
    if variant not in VARIANTS:
        raise FormcheckError(f"Unknown pose model variant {variant!r}; choose one of {', '.join(VARIANTS)}.")
    out = pose_model_path(variant)
    if out.is_file() and not force:
        check_pose_bundle(out)
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    if official:
        url = OFFICIAL_URL.format(variant=variant)
        partial = out.with_suffix(".task.partial")
        try:
            urllib.request.urlretrieve(url, partial)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise FormcheckError(
                f"Could not download the official {variant} pose model from {url} ({exc}). "
                f"Without internet access to Google, use `{INSTALL_COMMAND}` (builds 'full' from PyPI)."
            ) from None
        partial.replace(out)
    else:
        from .pose_task import build_pose_task

        build_pose_task(out, wheel=wheel)
    record_checksum(out)
    check_pose_bundle(out)
    check_pose_loads(out)
    return out


def check_pose_loads(path: Path) -> None:
    """Load the bundle in MediaPipe once (raises :class:`ModelInvalidError` if the runtime refuses it)."""
    from ..pose.mediapipe_backend import MediaPipePose

    try:
        with MediaPipePose(path, running_mode="image"):
            pass
    except Exception as exc:  # the runtime raises RuntimeError/ValueError with long C++ text
        raise ModelInvalidError(f"MediaPipe could not load {path}: {str(exc).splitlines()[0]}") from None
