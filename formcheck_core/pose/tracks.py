"""Who is who across samples: people linked by where they can reach, the lifter's track kept.

A person's hips cannot move faster than the person does (:mod:`~formcheck_core.pose.identity`:
at most ``JITTER_REL + MAX_SPEED_REL_PER_S * dt`` body lengths between two places ``dt`` seconds
apart). On that one rule: :func:`follow_track` follows everyone seen from sample to sample and
says who continues the lifter's track; :func:`link_parts` says which parts of a shot split at its
identity breaks are one person (:mod:`~formcheck_core.pose.follow`); :class:`LifterTrack` keeps the
lifter on a source frame posed by another tracker (:mod:`~formcheck_core.pose.refine`). Pure
functions over hip midpoints in pixels; NaN places join nothing.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..biomech.body import BodySeries
from .backend import PoseResult
from .identity import JITTER_REL, MAX_SPEED_REL_PER_S, joint_mid_px


def link_parts(parts: Sequence[tuple[np.ndarray, float, np.ndarray, float]], scale_px: float) -> list[int]:
    """Which person each part of a shot is (0, 1, ...: numbered as first seen).

    ``parts``: (first hip midpoint px, its time s, last hip midpoint px, its time s) of each part
    between identity breaks, in time order; ``scale_px``: the shot's body length. A part continues
    the person whose last place its first sample can reach (at most ``JITTER_REL +
    MAX_SPEED_REL_PER_S * dt`` body lengths; the nearest such person), else it is a new person:
    the same rule :func:`follow_track` applies sample to sample.
    """
    people: list[tuple[np.ndarray, float]] = []
    out: list[int] = []
    for first_xy, first_t, last_xy, last_t in parts:
        taken = _match(people, np.asarray(first_xy, float).reshape(1, 2), float(first_t), scale_px)
        k = taken.get(0, len(people))
        if k == len(people):
            people.append((np.asarray(last_xy, float), float(last_t)))
        else:
            people[k] = (np.asarray(last_xy, float), float(last_t))
        out.append(k)
    return out


def _match(
    tracks: Sequence[tuple[np.ndarray, float]], xy: np.ndarray, t: float, scale_px: float
) -> dict[int, int]:
    """candidate -> track: each of the (k, 2) places ``xy`` at time ``t`` joins the nearest track
    (last place, its time) it can reach (at most ``JITTER_REL + MAX_SPEED_REL_PER_S * |dt|`` body
    lengths), nearest pairs first, one candidate per track; NaN places join none."""
    ok = np.flatnonzero(np.isfinite(xy).all(axis=1))
    pairs = sorted(
        (d, k, int(c))
        for k, (last, t_last) in enumerate(tracks)
        for c in ok
        if (d := float(np.linalg.norm(xy[c] - last)) / scale_px)
        <= JITTER_REL + MAX_SPEED_REL_PER_S * abs(t - t_last)
    )
    used_tracks: set[int] = set()
    taken: dict[int, int] = {}
    for _d, k, c in pairs:
        if k not in used_tracks and c not in taken:
            used_tracks.add(k)
            taken[c] = k
    return taken


def follow_track(
    anchor_xy_px: np.ndarray,
    anchor_t_s: float,
    candidates_xy_px: Sequence[np.ndarray],
    t_s: np.ndarray,
    scale_px: float,
) -> list[int | None]:
    """Which candidate continues the lifter's track at each sample (None: nobody does).

    ``anchor_xy_px``/``anchor_t_s``: the lifter's hip midpoint and time next to the samples;
    ``candidates_xy_px[i]``: (k, 2) hip midpoints of the people found at sample ``i`` (times
    ``t_s``, in the order walked: away from the anchor, either direction); ``scale_px``: the
    lifter's body length. Every person seen is followed as a track from sample to sample: a
    candidate joins the nearest track it can reach (at most ``JITTER_REL + MAX_SPEED_REL_PER_S *
    |dt|`` body lengths from the track's last place; nearest pairs first, one candidate per
    track), else starts a track of its own. Only the track started at the anchor is the lifter's,
    so a bystander is never taken for the lifter just because the lifter stayed hidden long
    enough for the allowance to reach them: their own track already holds them.
    """
    tracks: list[tuple[np.ndarray, float]] = [(np.asarray(anchor_xy_px, float), float(anchor_t_s))]
    chosen: list[int | None] = []
    for cands, t in zip(candidates_xy_px, np.asarray(t_s, float), strict=True):
        xy = np.asarray(cands, float).reshape(-1, 2)
        taken = _match(tracks, xy, float(t), scale_px)
        for c in map(int, np.flatnonzero(np.isfinite(xy).all(axis=1))):
            if c in taken:
                tracks[taken[c]] = (xy[c], float(t))
            else:
                tracks.append((xy[c], float(t)))
        chosen.append(next((c for c, k in taken.items() if k == 0), None))
    return chosen


@dataclass(frozen=True)
class LifterTrack:
    """Where the lifter is on the followed 10 fps series, to keep the same person on a source frame.

    ``time_s`` (T,) sample times, ``hip_px`` (T, 2) the lifter's hip midpoint in source pixels (NaN
    where not found), ``scale_px`` the lifter's body length in pixels.
    """

    time_s: np.ndarray
    hip_px: np.ndarray
    scale_px: float

    @classmethod
    def of(cls, body: BodySeries) -> LifterTrack:
        """The track of ``body`` (the series the pose pass followed, tracking switches undone):
        its keypoints' hip midpoint and its body length."""
        return cls(
            np.asarray(body.time_s, float), joint_mid_px(body.keypoints_px, "hip"), body.body_length_px
        )

    @property
    def can_judge(self) -> bool:
        """Whether :meth:`pick` can tell the lifter from others: a sample where the lifter was
        found and a finite, positive scale. Without them the guard is off (keep the tracker's person)."""
        seen = bool(np.isfinite(self.hip_px).all(axis=1).any()) if self.hip_px.size else False
        return seen and math.isfinite(self.scale_px) and self.scale_px > 0

    def fingerprint(self) -> str:
        """Hex digest of the track (times, hip midpoints, scale): what a guarded row depends on."""
        h = hashlib.sha256()
        for a in (self.time_s, self.hip_px, np.array([self.scale_px])):
            h.update(np.ascontiguousarray(a, dtype="<f8").tobytes())
        return h.hexdigest()[:16]

    def pick(self, time_s: float, people: Sequence[PoseResult], source_size: tuple[int, int]) -> int | None:
        """Index of the one of ``people`` (found on a source frame at ``time_s``) who continues the
        lifter's track, or None (nobody does, or the track has no sample or scale).

        The rule of :func:`follow_track`, from the sample nearest in time where the lifter
        was found, with the time between the samples around the frame (at least): the frame is
        posed by another tracker than the series, so its person is compared with the series as
        the identity check compares two consecutive samples (0.3 body lengths at 10 fps; the
        lifter's hip on these frames lies at most 0.21 body lengths from the series' on the 36
        dev clips, ``benchmarks/bench_refine.py --guard``)."""
        anchor = self._anchor(time_s)
        if not people or anchor is None or not (math.isfinite(self.scale_px) and self.scale_px > 0):
            return None
        near, dt = anchor
        hips = np.array([joint_mid_px(p.image_xyzv[:, :2] * source_size, "hip") for p in people])
        return follow_track(self.hip_px[near], time_s - dt, [hips], np.array([time_s]), self.scale_px)[0]

    def distance_rel(self, time_s: float, person: PoseResult, source_size: tuple[int, int]) -> float:
        """Body lengths from ``person``'s hip midpoint to the lifter's at the sample :meth:`pick`
        compares it with (NaN without one)."""
        anchor = self._anchor(time_s)
        if anchor is None:
            return float("nan")
        hip = joint_mid_px(person.image_xyzv[:, :2] * source_size, "hip")
        return float(np.linalg.norm(hip - self.hip_px[anchor[0]]) / self.scale_px)

    def _anchor(self, time_s: float) -> tuple[int, float] | None:
        """(sample nearest ``time_s`` where the lifter was found, the time the allowance is given:
        at least that of the samples around ``time_s``, s), or None when the lifter never was."""
        seen = np.flatnonzero(np.isfinite(self.hip_px).all(axis=1))
        if not seen.size:
            return None
        t = self.time_s
        near = int(seen[np.argmin(np.abs(t[seen] - time_s))])
        s1 = int(np.clip(np.searchsorted(t, time_s), 1, max(t.size - 1, 1)))
        around = float(t[s1] - t[s1 - 1]) if t.size > 1 else 0.0
        return near, max(abs(time_s - float(t[near])), around)
