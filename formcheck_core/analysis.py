"""The one entry point: :func:`analyze` a clip into a frozen :class:`~formcheck_core.result.Analysis`."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .clip_warnings import is_insufficient, pose_warnings, truncation_warnings
from .config import DEFAULT_FPS
from .errors import VideoError
from .pose.series import PoseSeries
from .result import Analysis
from .video import VideoInfo, file_sha256, probe_video
from .vocabulary import NO_COMPLETE_LIFT

if TYPE_CHECKING:
    from .pose.back_pass import MainPassBack

__all__ = ["Analysis", "analyze", "load_or_extract_pose", "pose_warnings"]


def load_or_extract_pose(
    info: VideoInfo,
    *,
    fps: float | None = DEFAULT_FPS,
    running_mode: str = "video",
    pose_model: str | Path | None = None,
    num_poses: int = 1,
    cache: bool = True,
    progress: bool = True,
    back: MainPassBack | None = None,
    notes: Callable[[str], None] | None = None,
) -> tuple[PoseSeries, str]:
    """The pose series of a probed clip and the clip's sha256.

    ``cache``: reuse a cached series when there is a readable one; False recomputes it. Either way
    the computed series is (re)written to the cache; a cache that cannot be written only warns.
    ``back``: the landmarker also returns the person mask and ``back`` reads the back profile from
    it on every sample (rows cached beside the series, :func:`~formcheck_core.pose.back_pass.save_main_rows`);
    the landmarks, and so the cached series, are the same as without it. A series read from the
    cache fills ``back`` from the cached rows; a series cached without them (a cache from before
    they existed) is posed again once, exactly as a clip posed now, so the reading never depends
    on what the cache held (a note says why the pass runs: to ``notes`` when given, else with
    ``progress`` a line on stderr; :data:`BACK_REPOSE_NOTE`, :data:`SHOT_REPOSE_NOTE`).
    In VIDEO mode a clip with scene cuts then has each shot after the first posed again by a fresh
    tracker (:func:`_posed_per_shot`), and in both modes a tracking switch undone (:mod:`.pose.follow`).
    """
    from .cache import load_pose, save_pose
    from .models.pose_model import model_id, resolve_pose_model
    from .pose.follow import followed

    model_path = resolve_pose_model(pose_model)
    mid = model_id(model_path)
    sha = file_sha256(info.path)
    key = pose_key(sha, mid, fps, running_mode, num_poses)
    say = notes or (_note if progress else None)
    pose = load_pose(key) if cache else None
    if pose is not None and back is not None:
        from .pose.back_pass import load_main_rows

        rows = load_main_rows(key, pose.frame_index)
        if rows is not None:
            back.restore(rows)
        else:  # the cached pose predates back rows: pose again, as a clip posed now
            if say is not None:
                say(f"{Path(info.path).name}: {BACK_REPOSE_NOTE}")
            pose = None
    if pose is None:
        from .pose.extract import extract_pose
        from .pose.mediapipe_backend import open_pose_backend
        from .scene_cuts import THUMB_WIDTH_PX, store_thumbnails
        from .video import Thumbnails

        thumbs = Thumbnails(THUMB_WIDTH_PX)  # scene cuts, from the same decode
        with open_pose_backend(
            model_path, running_mode=running_mode, num_poses=num_poses, segmentation=back is not None
        ) as backend:
            pose = extract_pose(
                info.path,
                backend,
                target_fps=fps,
                info=info,
                model_id=mid,
                progress=progress,
                thumbnails=thumbs,
                on_person=back,
            )
        if pose.n_samples == 0:
            raise VideoError(f"{info.path}: no frame could be decoded; the file is corrupt.")
        save_pose(key, pose)
        store_thumbnails(sha, thumbs)
        if back is not None:
            from .pose.back_pass import save_main_rows

            save_main_rows(key, back)
    if running_mode == "video":  # IMAGE mode does not track: nothing follows a cut
        pose = _posed_per_shot(info, pose, key, sha, model_path, num_poses, cache, progress, back, notes)
    pose = followed(info, pose, key, sha, model_path, running_mode, cache, progress, back, say)
    return pose, sha


def _posed_per_shot(
    info: VideoInfo,
    pose: PoseSeries,
    key: str,
    sha: str,
    model_path: Path,
    num_poses: int,
    cache: bool,
    progress: bool,
    back: MainPassBack | None,
    notes: Callable[[str], None] | None = None,
) -> PoseSeries:
    """``pose`` (the whole-clip pass, cached under ``key``) with each shot after a scene cut posed
    by a fresh tracker (:func:`~formcheck_core.pose.shots.repose_shots`), and ``back``'s rows
    replaced there; ``pose`` itself for a one-shot clip. Cached apart
    (:func:`~formcheck_core.pose.shots.per_shot_cache_key`), so the whole-clip entries stay as
    they are and only clips with cuts are posed again (their later shots only)."""
    from functools import partial

    from .cache import save_pose
    from .pose.back_pass import load_derived_pose, save_main_rows
    from .pose.mediapipe_backend import open_pose_backend
    from .pose.shots import per_shot_cache_key, repose_shots, shot_bounds
    from .scene_cuts import cut_samples, scene_cut_frames

    starts = cut_samples(pose.frame_index, scene_cut_frames(info, sha))  # cached by the pose pass
    if not shot_bounds(pose.n_samples, starts):
        return pose
    skey = per_shot_cache_key(key, starts)
    cached = load_derived_pose(skey, pose, back) if cache else None
    if cached is not None:
        return cached
    say = notes or (_note if progress else None)
    if say is not None:
        say(f"{Path(info.path).name}: {SHOT_REPOSE_NOTE} ({len(starts)} scene cut(s))")
    open_backend = partial(
        open_pose_backend,
        model_path,
        running_mode="video",
        num_poses=num_poses,
        segmentation=back is not None,
    )
    per_shot = repose_shots(info, pose, starts, open_backend, back=back, progress=progress)
    save_pose(skey, per_shot)
    if back is not None:
        save_main_rows(skey, back)
    return per_shot


#: Why a clip is posed again though its pose is cached (the notes of :func:`load_or_extract_pose`,
#: after the clip's file name and ": "; ``formcheck batch`` says each once, then counts the clips).
BACK_REPOSE_NOTE = (
    "reading the back outline: one-time pose pass with body masks (the pose cache predates back rows)"
)
SHOT_REPOSE_NOTE = (
    "posing each shot after a scene cut again, once, with a fresh tracker (the tracker would follow "
    "the previous shot's person)"
)


def _note(message: str) -> None:
    """One line on stderr (a progress note, not a caveat of the result)."""
    print(f"formcheck: {message}", file=sys.stderr, flush=True)


def pose_key(video_sha256: str, model_id: str, fps: float | None, running_mode: str, num_poses: int) -> str:
    """The cache key of a clip's pose series for these settings (:func:`~formcheck_core.cache.pose_cache_key`)."""
    from .cache import pose_cache_key

    return pose_cache_key(video_sha256, model_id, fps, running_mode, num_poses)


def analyze(
    path: str | Path,
    *,
    fps: float | None = DEFAULT_FPS,
    running_mode: str = "video",
    pose_model: str | Path | None = None,
    num_poses: int = 1,
    lift: str = "deadlift",
    height_cm: float | None = None,
    thresholds: Mapping[str, Mapping[str, float]] | None = None,
    rules: bool = True,
    cache: bool = True,
    progress: bool = True,
    back: bool = True,
    refine: bool = False,
    on_pose: Callable[[], object] | None = None,
    notes: Callable[[str], None] | None = None,
) -> Analysis:
    """Analyse one clip: frames -> pose -> body series -> reps and metrics -> rule findings.

    ``fps``: sampling rate (None = every frame). ``running_mode``: "video" (tracking, default) or
    "image" (detect every frame). ``num_poses``: people to look for (2+ reports bystanders but is
    about half as fast in VIDEO mode). ``pose_model``: path or "lite"/"full"/"heavy" (see
    :func:`~formcheck_core.models.pose_model.resolve_pose_model`). ``height_cm``: lifter height, to
    report drift in cm. ``thresholds``: per-rule overrides ``{rule_id: {name: value}}``.
    ``back``: in a side view, read the back profile from the person mask for the ``back_*``
    metrics (each rep's and partial pull's set-up to knee pass), on every sample, in the pose pass
    (the mask comes from the same model call; :mod:`formcheck_core.pose.back_pass`). Cached beside
    the pose; a pose cached without those rows is posed again once, so the reading does not depend
    on the cache. False: no masks at all.
    ``refine``: place lift-off and lockout on source frames with a targeted native-rate pass
    (:mod:`formcheck_core.pose.refine`; sets their ``refined_*`` fields; cached).
    ``on_pose``: called once the pose series is known (computed or from the cache), before the rest
    of the analysis, which runs on one core: e.g. the CLI starts its render worker there.
    ``notes``: called with each one-line note on the pose pass (why a cached clip is posed again);
    default: printed on stderr when ``progress``.
    Raises :class:`~formcheck_core.errors.FormcheckError` subclasses for unusable input; a clip
    with too little pose data returns an Analysis whose ``warnings`` say so and ``ok`` is False.
    """
    from .biomech.kinematics import compute_body_series
    from .biomech.metrics import with_metrics
    from .biomech.moments import no_pull_reason, segment_reps, with_set_positions
    from .biomech.quality import joints_by_metric, pose_quality, with_lockout_doubt, with_quality
    from .biomech.view import estimate_view
    from .errors import PluginError
    from .plugins import metric_specs, plugin_reps
    from .rules.engine import apply_rules, with_plugin_metrics
    from .scene_cuts import cut_samples, scene_cut_frames
    from .validate import check_fps, check_height_cm, check_people

    fps, num_poses, height_cm = check_fps(fps), check_people(num_poses), check_height_cm(height_cm)
    info = probe_video(path)
    main_back = None
    if back:
        from .pose.back_pass import MainPassBack

        main_back = MainPassBack((info.width_px, info.height_px))  # read now, or restored from the cache
    pose, sha = load_or_extract_pose(
        info,
        fps=fps,
        running_mode=running_mode,
        pose_model=pose_model,
        num_poses=num_poses,
        cache=cache,
        progress=progress,
        back=main_back,
        notes=notes,
    )
    if on_pose is not None:
        on_pose()
    mid = pose.model_id

    warnings = truncation_warnings(info) + pose_warnings(pose, info)
    options = {
        "fps": fps,
        "running_mode": running_mode,
        "num_poses": num_poses,
        "pose_model": mid,
        "lift": lift,
    }
    base: dict[str, Any] = dict(
        video=info, video_sha256=sha, lift=lift, pose=pose, lifter_height_cm=height_cm, options=options
    )
    if any(is_insufficient(w) for w in warnings):
        return Analysis(body=None, view=None, reps=(), warnings=tuple(warnings), **base)

    view = estimate_view(pose)
    # content-addressed and deterministic: with cache=False the pose pass just stored them afresh
    cut_frames = scene_cut_frames(info, sha)
    shots = cut_samples(pose.frame_index, cut_frames)
    body = compute_body_series(pose, side=view.side, cut_samples=shots)
    if cut_frames:
        at = ", ".join(f"{f / info.fps:.1f} s" for f in cut_frames)
        warnings.append(
            f"The clip has {len(cut_frames)} scene cut(s) (at {at}): each shot is analysed on its own, "
            "and no rep spans a cut."
        )
    try:
        found = plugin_reps(body, view, lift)  # a plugin may own rep detection for its lift
    except PluginError as exc:
        warnings.append(f"{exc}; the built-in rep detection was used instead.")
        found = None
    pulls = None
    if found is not None:
        try:
            # the set position where the plugin did not place it: segmentation's one definition
            pulls = [
                with_metrics(body, rep, view=view, height_cm=height_cm)
                for rep in with_set_positions(body, found)
            ]
        except Exception as exc:  # a plugin's reps that cannot be measured are garbage
            warnings.append(
                f"a plugin's detect_reps returned reps that cannot be measured ({type(exc).__name__}: {exc}); "
                "the built-in rep detection was used instead."
            )
    builtin = pulls is None
    if pulls is None:
        pulls = [
            with_metrics(body, rep, view=view, height_cm=height_cm) for rep in segment_reps(body, None, shots)
        ]
    quality = pose_quality(pose, body)
    joints = joints_by_metric(metric_specs().values())  # built-in and plugin metrics
    pulls = [with_quality(quality, body.side, r, joints) for r in pulls]  # not measurable: NaN
    if refine and pulls:
        from .models.pose_model import resolve_pose_model
        from .pose.refine import refine_moments

        pulls = list(
            refine_moments(
                info, body, pulls, resolve_pose_model(pose_model), model_id=mid, video_sha256=sha, cache=cache
            )
        )
    pulls = [with_lockout_doubt(r, body.side) for r in pulls]  # a bent hip on an upright torso: marked
    reps = tuple(r for r in pulls if r.complete)
    partial = tuple(r for r in pulls if not r.complete)
    warnings.extend(view.notes)
    if not reps:
        why = "; ".join(f"partial pull: {r.partial_reason or 'incomplete'}" for r in partial)
        if not partial and builtin:
            why = f"no pull: {no_pull_reason(body, shots)}"
        warnings.append(
            f"{NO_COMPLETE_LIFT}: no rep from the floor to lockout was detected"
            + (f" ({why})." if why else ".")
        )
    back_s = None
    if main_back is not None and (reps or partial) and view.view == "side":
        from .biomech.back_series import rep_back_metrics
        from .pose.back_pass import back_series

        back_s = back_series(body, main_back)  # every sample; the rows hold exactly the pose's samples
        if back_s is None:
            warnings.append(
                "The back outline was not read in the pose pass; rounded-back checks are skipped."
            )
        else:  # partial pulls too: rounded_back judges their pull off the floor
            reps = tuple(rep_back_metrics(rep, back_s) for rep in reps)
            partial = tuple(rep_back_metrics(rep, back_s) for rep in partial)
    result = Analysis(
        body=body,
        view=view,
        reps=reps,
        partial_pulls=partial,
        warnings=tuple(warnings),
        back=back_s,
        pose_quality=quality,
        scene_cut_frames=cut_frames,
        **base,
    )
    result = with_plugin_metrics(result)  # plugin metrics are measurements: computed with or without rules
    if rules:
        result = apply_rules(result, thresholds=thresholds)
    return result
