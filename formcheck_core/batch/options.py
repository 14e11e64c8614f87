"""What a batch measures with: :class:`ClipOptions`, the same settings as ``formcheck analyze``."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import DEFAULT_FPS


@dataclass(frozen=True)
class ClipOptions:
    """Settings of one clip's analysis; the keyword arguments of :func:`formcheck_core.analyze`.

    ``fps``: sampling rate in frames per second (None = every frame). ``thresholds``: per-rule
    overrides ``{rule_id: {name: value}}`` (None = the defaults). ``plugins``: which installed rule
    plugins load (the ``--plugins`` / ``$FORMCHECK_LOAD_PLUGINS`` syntax; None = the default).
    ``cache``: read and write the pose cache (does not change results).
    """

    fps: float | None = DEFAULT_FPS
    running_mode: str = "video"
    num_poses: int = 1
    pose_model: str | None = None
    height_cm: float | None = None
    thresholds: Mapping[str, Mapping[str, float]] | None = None
    plugins: str | None = None
    cache: bool = True
    lift: str = field(default="deadlift")

    @classmethod
    def from_analyze_kwargs(cls, kwargs: Mapping[str, Any], *, plugins: str | None = None) -> ClipOptions:
        """From :func:`formcheck_core.cli.analyze.analysis_options`'s dict (the CLI's options)."""
        kw = dict(kwargs)
        if kw.get("pose_model") is not None:
            kw["pose_model"] = str(kw["pose_model"])
        if kw.get("thresholds") is not None:
            kw["thresholds"] = {rid: dict(v) for rid, v in kw["thresholds"].items()}
        return cls(**kw, plugins=plugins)

    def analyze_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :func:`formcheck_core.analyze` (without ``progress``)."""
        return dict(
            fps=self.fps,
            running_mode=self.running_mode,
            num_poses=self.num_poses,
            pose_model=self.pose_model,
            height_cm=self.height_cm,
            thresholds=self.thresholds,
            cache=self.cache,
            lift=self.lift,
        )

    def fingerprint(self) -> str:
        """Hex digest of everything that changes the results (not ``cache``), including the code.

        Thresholds are resolved against the loaded rules first, so a change of a rule's default
        limit (or of the plugins loaded) also changes the fingerprint; so does any change to
        formcheck's own source (:func:`code_fingerprint`).
        """
        from ..rules import threshold_settings

        thresholds = threshold_settings(overrides=self.thresholds or {})
        pose_model = self.pose_model
        if pose_model and Path(pose_model).is_file():  # a path: its content matters, not its name
            from ..video import file_sha256

            pose_model = file_sha256(pose_model)
        payload = [
            code_fingerprint(),
            self.fps,
            self.running_mode,
            self.num_poses,
            pose_model,
            self.height_cm,
            thresholds,
            self.plugins,
            self.lift,
        ]
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


@functools.cache
def code_fingerprint() -> str:
    """Hex digest of the source of ``formcheck_core`` and ``formcheck_rules`` (every ``.py`` file's
    path and bytes): results computed by other code are not reused."""
    root = Path(__file__).resolve().parents[2]
    h = hashlib.sha256()
    for package in ("formcheck_core", "formcheck_rules"):
        for path in sorted((root / package).rglob("*.py")):
            h.update(path.relative_to(root).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()
