"""The deterministic coach: 3-5 prioritised cues from the rule findings, no model needed.

It is the default coaching when no LLM is configured and the fallback when the LLM fails. Every
cue cites a measured number and the moment (rep, frame, time) it was measured at.

Priority: faults first (one cue per rule; faults the verdict counts before notes and
low-confidence warnings, then most severe first, then the rule that fired on the
largest share of measured reps, then the one furthest past its threshold); if fewer than three
faults, "keep doing this" cues from measured rules closest to their limits; if still fewer than
three and some rules could not measure, one cue on how to film so they can.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .cues import Cue
from .findings import Finding
from .metric_labels import metric_label
from .readings import metric_readings
from .rules.verdicts import counts_as_fault, exceedance, finding_priority, verdict_role
from .vocabulary import FAULT, NO_COMPLETE_LIFT, NOT_MEASURABLE, OK, moment_tag

if TYPE_CHECKING:
    from .analysis import Analysis
    from .biomech.body import Moment

#: The coach aims for at least this many cues when there is something measured to say.
MIN_CUES = 3
MAX_CUES = 5


def _pull(f: Finding, pull_names: Mapping[int, str] | None) -> str:
    """The finding's pull in words: "rep 2", "partial pull 1" (``pull_names``: number -> name)."""
    if f.rep is None:
        return ""
    return (pull_names or {}).get(f.rep) or f"rep {f.rep}"


def pull_moments(analysis: Analysis) -> dict[tuple[int, str], Moment]:
    """(pull number, moment name) -> the moment, over reps and partial pulls: where a finding's
    tag reads its moment's own frame and time (:func:`~formcheck_core.vocabulary.moment_tag`)."""
    return {(r.number, name): m for r in analysis.pulls for name, m in r.moments.items()}


def _where(
    f: Finding,
    moments: Mapping[tuple[int, str], Moment] | None = None,
    pull_names: Mapping[int, str] | None = None,
    windows: Mapping[tuple[int, str], str] | None = None,
) -> str:
    """ "rep 2 at lift-off (frame 123, 4.10 s)", "partial pull 1 at setup (...)"; "near lift-off"
    or "0.6 s before lockout" when the value was read at another frame than the moment's own
    (:func:`~formcheck_core.vocabulary.moment_tag`; ``moments``: (rep, moment) -> the moment;
    unknown = "at"). A median over a window (``windows``: (rep, metric) -> "median over frames
    474–492", :attr:`~formcheck_core.readings.MetricReading.where`) is placed by its window, not
    by one frame: "rep 3 (median over frames 474–492; still at frame 480)"."""
    window = (windows or {}).get((f.rep, f.metric)) if f.rep is not None and f.metric else None
    if window:
        still = f"; still at frame {f.frame_index}" if f.frame_index is not None else ""
        return f"{_pull(f, pull_names) or 'the set'} ({window}{still})"
    parts = [_pull(f, pull_names) or "the set"]
    if f.moment:
        own = (moments or {}).get((f.rep, f.moment)) if f.rep is not None else None
        parts.append(moment_tag(f.moment, f.frame_index, own, time_s=f.time_s, at="at "))
    where = " ".join(p for p in parts if p)
    if f.frame_index is not None and f.time_s is not None:
        where += f" (frame {f.frame_index}, {f.time_s:.2f} s)"
    return where


def _cue(priority: int, f: Finding, text: str, why: str, pull: str = "") -> Cue:
    return Cue(
        priority=priority,
        text=text,
        why=why,
        rule_id=f.rule_id,
        rep=f.rep,
        metric=f.metric,
        value=f.value,
        unit=f.unit,
        moment=f.moment,
        frame_index=f.frame_index,
        time_s=f.time_s,
        source="rules",
        source_detail=f"{f.name} rule",  # the rule by its title; its id stays in rule_id
        pull=pull,
        role=verdict_role(f),
        rule_title=f.name,
    )


def _noun(group: Sequence[Finding], pull_names: Mapping[int, str] | None) -> str:
    """ "rep" when every measured finding ("fault", "ok") of ``group`` is on a complete rep, else
    "pull" (a partial pull is no rep; one it could not measure is not among the measured)."""
    names = [_pull(f, pull_names) for f in group if f.rep is not None and f.status in (FAULT, OK)]
    return "rep" if all(n.startswith("rep ") for n in names) else "pull"


def _by_rule(findings: Sequence[Finding]) -> dict[str, list[Finding]]:
    groups: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        groups[f.rule_id].append(f)
    return groups


def deterministic_cues(analysis: Analysis, max_cues: int = MAX_CUES) -> tuple[Cue, ...]:
    """Up to ``max_cues`` prioritised cues (priority 1 first) from ``analysis.findings``."""
    pulls = analysis.pulls  # partial pulls are judged too, and named as such
    return cues_from_findings(
        analysis.findings,
        max_cues=max_cues,
        warnings=analysis.warnings,
        moments=pull_moments(analysis),
        pull_names={r.number: analysis.pull_label(r.number) for r in pulls},
        view=analysis.view.view if analysis.view is not None else None,
        plugin_metrics=analysis.options.get("plugin_metrics"),
        windows={(m.rep, m.metric): m.where for m in metric_readings(analysis) if not m.at_one_frame},
    )


def cues_from_findings(
    findings: Sequence[Finding],
    *,
    max_cues: int = MAX_CUES,
    warnings: Sequence[str] = (),
    moments: Mapping[tuple[int, str], Moment] | None = None,
    pull_names: Mapping[int, str] | None = None,
    view: str | None = None,
    plugin_metrics: Mapping[str, Mapping[str, Any]] | None = None,
    windows: Mapping[tuple[int, str], str] | None = None,
) -> tuple[Cue, ...]:
    """Cues from findings alone (see the module docstring for the priority order).
    ``moments`` ((rep, moment) -> the moment, :func:`pull_moments`) lets a cue say "at lockout"
    only for a value read at the lockout frame itself ("near lockout", "0.6 s before lockout"
    otherwise); ``pull_names`` (number -> "rep 2",
    "partial pull 1") names each finding's pull (default "rep N"). ``view`` (the view classifier's
    "side" / "front" / "oblique"): a side view is never told to film from the side; its filming
    cue says what was not found instead (the analysis' no-lift warning, with its reason).
    ``plugin_metrics`` (the analysis' ``options["plugin_metrics"]``): plugin metrics' labels.
    ``windows``: (rep, metric) -> the window a median reading covers, in words (:func:`_where`)."""
    groups = _by_rule(findings)
    faulted = []
    for rule_id, group in groups.items():
        faults = [f for f in group if f.is_fault]
        if not faults:
            continue
        measured = sum(f.status in (FAULT, OK) for f in group)
        worst = max(faults, key=lambda f: (counts_as_fault(f), finding_priority(f)))
        share = len(faults) / max(measured, 1)
        faulted.append(
            (
                counts_as_fault(worst),
                finding_priority(worst)[0],
                share,
                exceedance(worst),
                rule_id,
                worst,
                len(faults),
                measured,
            )
        )
    # faults the verdict counts first; then notes and low-confidence warnings (same order within)
    faulted.sort(key=lambda t: (not t[0], -t[1], -t[2], -t[3], t[4]))

    out: list[Cue] = []
    for *_, worst, n_faults, measured in faulted:
        if len(out) >= max_cues:
            break
        noun = _noun(groups[worst.rule_id], pull_names)
        reps = (
            f"every measured {noun}"
            if n_faults == measured and measured > 1
            else (
                f"{n_faults} of {measured} measured {noun}s" if measured > 1 else f"the one measured {noun}"
            )
        )
        why = f"{worst.message} Worst: {_where(worst, moments, pull_names, windows)}; seen in {reps}."
        if worst.quality:
            why += f" ({worst.quality}: check it on the frame.)"
        out.append(_cue(len(out) + 1, worst, worst.cue or worst.message, why, _pull(worst, pull_names)))

    if len(out) < min(MIN_CUES, max_cues):
        # Measured and within limits: reinforce, closest to the limit first ("keep an eye on it").
        oks = []
        for rule_id, group in groups.items():
            if any(f.is_fault for f in group):
                continue
            within = [f for f in group if f.status == OK and f.value is not None]
            if within:
                closest = min(within, key=exceedance)
                oks.append((exceedance(closest), rule_id, closest, len(within)))
        oks.sort(key=lambda t: (t[0], t[1]))
        for _, _, f, n in oks:
            if len(out) >= min(MIN_CUES, max_cues):
                break
            # a rule without a praise template: a short line (the why below carries its message)
            what = metric_label(f.metric, plugin_metrics) if f.metric else f.name
            text = f.cue or f"Keep it up: {what[0].lower()}{what[1:]} stayed within the limit."
            noun = _noun(groups[f.rule_id], pull_names)
            reps = f"{n} measured {noun}{'s' * (n > 1)}"
            why = f"{f.message} Closest to the limit: {_where(f, moments, pull_names, windows)}; within the limit in {reps}."
            out.append(_cue(len(out) + 1, f, text, why, _pull(f, pull_names)))

    if len(out) < min(MIN_CUES, max_cues):
        measured_ids = {f.rule_id for f in findings if f.status in (FAULT, OK)}
        unmeasured = sorted(  # by title: user text names a rule, never its id
            {f.name for f in findings if f.status == NOT_MEASURABLE and f.rule_id not in measured_ids}
        )
        if unmeasured or not findings:
            what = (
                (
                    f"{len(unmeasured)} check{'s' * (len(unmeasured) > 1)} could not be measured "
                    f"({', '.join(unmeasured)})"
                )
                if unmeasured
                else "nothing could be measured"
            )
            hint = next((w for w in warnings if w), "")
            no_lift = next((w for w in warnings if w.startswith(NO_COMPLETE_LIFT)), "")
            from .clip_warnings import TOO_FEW_SAMPLES

            few = next((w for w in warnings if w.startswith(TOO_FEW_SAMPLES)), "")
            if few:  # the filming is not the problem: the sampling is
                text = "Analyse more frames of the clip (a higher --fps), so every check can run."
                why = f"In this clip {what}. {few}"
            elif view == "side" and no_lift:
                text = f"{no_lift} Show the whole lift, from the floor to standing tall, with the whole body and the weight in frame."
                why = f"In this clip {what}. The clip is a side view, so the camera angle is not the problem."
            elif view == "side":
                text = "Keep the whole body and the bar in frame, in good light, so every check can run."
                why = f"In this clip {what}." + (f" {hint}" if hint else "")
            else:
                text = (
                    "Film from the side at hip height, whole body and bar in frame, so every check can run."
                )
                why = f"In this clip {what}." + (f" {hint}" if hint else "")
            out.append(
                Cue(
                    priority=len(out) + 1,
                    text=text,
                    why=why,
                    source="rules",
                    source_detail="rules (filming advice)",
                )
            )
    return tuple(out[:max_cues])
