"""The frozen result of analysing one clip: :class:`Analysis` (produced by :func:`formcheck_core.analysis.analyze`).

A value type only, so that the rules engine and the presentation layer can read it without
importing the pipeline that builds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .biomech.back_series import BackSeries
from .biomech.body import BodySeries, Rep, ViewEstimate
from .biomech.quality import PoseQuality
from .findings import Finding, RuleError, Verdict
from .pose.series import PoseSeries
from .video import VideoInfo
from .vocabulary import ClipStatus, clip_status, pull_label


@dataclass(frozen=True, eq=False)
class Analysis:
    """Everything formcheck measured about one clip. Serialise with :func:`formcheck_core.export.to_json`."""

    video: VideoInfo
    #: Content hash of the clip (hex).
    video_sha256: str
    lift: str
    pose: PoseSeries
    body: BodySeries | None
    view: ViewEstimate | None
    #: Complete reps only (setup/lift-off through lockout in the clip), numbered 1..N in time order.
    reps: tuple[Rep, ...]
    findings: tuple[Finding, ...] = ()
    rule_errors: tuple[RuleError, ...] = ()
    verdicts: tuple[Verdict, ...] = ()
    #: Plain-language caveats ("insufficient pose data", "two people in frame", ...).
    warnings: tuple[str, ...] = ()
    #: Lifter height in cm if the user gave it (enables drift in cm).
    lifter_height_cm: float | None = None
    #: Options the analysis ran with (fps, running mode, pose model id, thresholds...).
    options: dict[str, Any] = field(default_factory=dict)
    #: Back-profile numbers on each rep's (and partial pull's) set-up..knee-pass samples (side view
    #: only), else None.
    back: BackSeries | None = None
    #: Partial pulls (cut by the clip, aborted, never reached lockout), in time order, each with
    #: ``partial_reason``; measured (metrics) but not counted as reps. Only rules with
    #: ``Rule.partial_pulls`` (faults before the knee pass) judge them; their findings carry the
    #: pull's ``number`` and count toward the set verdict.
    partial_pulls: tuple[Rep, ...] = ()
    #: Per-sample, per-landmark pose confidence (:mod:`formcheck_core.biomech.quality`); None
    #: without a body series. Each rep's ``metric_quality`` is read from it.
    pose_quality: PoseQuality | None = None
    #: Source frames (0-based) where a new shot starts (hard scene cuts,
    #: :mod:`formcheck_core.scene_cuts`); no rep spans one. () for a one-shot clip.
    scene_cut_frames: tuple[int, ...] = ()

    @property
    def ok(self) -> bool:
        """True when there was enough pose data to measure at least one rep."""
        return self.body is not None and len(self.reps) > 0

    @property
    def pulls(self) -> tuple[Rep, ...]:
        """Complete reps then partial pulls (numbered 1..N, then N+1..): every pull a view may show."""
        return (*self.reps, *self.partial_pulls)

    def pull_label(self, number: int) -> str:
        """Pull ``number`` in words: "rep 2" or "partial pull 1" (:func:`~formcheck_core.vocabulary.pull_label`)."""
        return pull_label(number, len(self.reps))

    @property
    def status(self) -> ClipStatus:
        """ "ok" (a complete rep), "partial_only" or "no_lift" (:func:`~formcheck_core.vocabulary.clip_status`)."""
        return clip_status(len(self.reps) if self.body is not None else 0, len(self.partial_pulls))
