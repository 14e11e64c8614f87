"""What a rule sees: :class:`RuleContext` (one rep, its thresholds) and where findings are placed."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..biomech.body import NOT_MEASURABLE_PREFIX, BodySeries, MetricQuality, Moment, Rep, ViewEstimate
from ..biomech.metrics import METRIC_SPECS
from ..findings import Finding
from ..metric_labels import metric_label
from ..vocabulary import (
    FAULT,
    MOMENT_PHRASES,
    NOT_MEASURABLE,
    OK,
    Severity,
    Status,
    format_limit,
    format_value,
    moment_label,
    moment_phrase,
    unit_of,
)
from .model import Rule


def nearest_moment(rep: Rep, sample: int, prefer: str | None = None) -> Moment | None:
    """The rep's key moment closest in samples to ``sample`` (None if the rep has none).

    Ties go to ``prefer`` (e.g. the rule's own moment), then to the earlier moment.
    """
    if not rep.moments:
        return None
    return min(rep.moments.values(), key=lambda m: (abs(m.sample - sample), m.name != prefer, m.sample))


def phase_phrase(rep: Rep, sample: int, prefer: str | None = None, *, time_s: float | None = None) -> str:
    """Gym phrase for when ``sample`` happened in ``rep``, from its nearest key moment
    (:func:`~formcheck_core.vocabulary.moment_phrase`): "as the bar passes your knees" (at the
    moment's sample), "just after the bar leaves the floor" (near it, or ``time_s``, the sample's
    time in s, unknown), "0.6 s before lockout" (farther), "during the rep" when the rep has no
    moments."""
    m = nearest_moment(rep, sample, prefer)
    if m is None:
        return moment_phrase(None, sample, None)
    # compared in samples: the moment's sample stands for its frame (same order, same equality)
    return moment_phrase(m.name, sample, replace(m, frame_index=m.sample), time_s=time_s)


@dataclass(frozen=True, eq=False)
class RuleContext:
    """What a rule sees for one rep: its metrics and moments, the view, the lift, its thresholds.

    ``body`` (the smoothed series) is there for rules that need more than the per-rep metrics;
    it may be None. Build findings with the helpers: they fill the rule id, rep, frame and time,
    unit, severity and the rendered message and cue.

    Where a finding is placed: at the sample where its metric was measured
    (``rep.metric_samples``, e.g. the frame of the smallest elbow angle of the pull), or at an
    explicit ``sample=``; its ``moment`` is then the nearest key moment and ``{at}`` says "just
    after the bar leaves the floor" and the like. Without a known sample (a metric measured over
    a span, a plugin metric, no ``body``), it is placed at ``moment=`` (default: the rule's).
    A "not measurable" finding from :meth:`not_measurable` is placed at its moment (the rule's
    reason is about the rep, not a sample); one from :meth:`compare` on a metric whose reading is
    not measurable is placed at the metric's recorded sample, where its reason holds.
    """

    rule: Rule
    rep: Rep
    thresholds: Mapping[str, float]
    lift: str
    view: ViewEstimate | None = None
    body: BodySeries | None = None
    height_cm: float | None = None
    #: The analysis' plugin metrics (``options["plugin_metrics"]``), for their labels (:func:`~formcheck_core.metric_labels.metric_label`).
    plugin_metrics: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def view_name(self) -> str | None:
        """ "side", "front", "oblique" or None if unknown."""
        return self.view.view if self.view is not None else None

    def metric(self, name: str) -> float | None:
        """The rep's metric ``name``, or None if missing, NaN or read where its joints were not
        seen at all (not measurable; :meth:`quality` says why)."""
        value = self.rep.metrics.get(name)
        quality = self.quality(name)
        if value is None or (quality is not None and not quality.measurable):
            return None
        value = float(value)
        return None if math.isnan(value) else value

    def quality(self, *names: str) -> MetricQuality | None:
        """Pose quality of the reading(s) ``names`` (the least confident one), None if unknown.

        Findings built with the helpers carry it for their metric on their own (``confidence``,
        ``quality``), and the set verdict treats a low-confidence fault as a warning; a rule
        whose finding rests on several metrics can pass ``quality_from=`` to the helpers."""
        known = [q for q in (self.rep.metric_quality.get(n) for n in names) if q is not None]
        return min(known, key=lambda q: (q.measurable, q.confidence)) if known else None

    def unmeasured_reason(self, name: str) -> str:
        """Why the rep's metric ``name`` is not measurable, in the words every view shows after
        "not measurable: " ("left shoulder not visible", "front view: ..."); "" when it was
        measured or no reason is known (``Rep.unmeasured_mark``)."""
        return self.rep.unmeasured_mark(name).removeprefix(NOT_MEASURABLE_PREFIX)

    def threshold(self, name: str) -> float:
        """The effective value of threshold ``name`` (defaults, preset, config and overrides applied)."""
        try:
            return self.thresholds[name]
        except KeyError:
            raise KeyError(
                f"rule {self.rule.id} has no threshold {name!r} (it has {sorted(self.thresholds)})"
            ) from None

    def moment(self, name: str) -> Moment | None:
        """The rep's key moment ``name`` ("setup", "liftoff", "knee_pass", "lockout") or None."""
        return self.rep.moments.get(name)

    def metric_sample(self, name: str) -> int | None:
        """Sample index (into ``body``'s series) where the rep's metric ``name`` was measured, or None."""
        sample = self.rep.metric_samples.get(name)
        return int(sample) if sample is not None else None

    def _place(self, sample: int | None) -> tuple[int, float] | None:
        """(frame index, time in s) of ``sample``, or None if unknown or outside the series."""
        body = self.body
        if sample is None or body is None or not 0 <= sample < len(body.frame_index):
            return None
        time_s = float(body.time_s[sample])
        return (int(body.frame_index[sample]), time_s) if math.isfinite(time_s) else None

    def _finding(
        self,
        status: Status,
        value: float | None,
        threshold: float | None,
        *,
        moment: str | None,
        metric: str | None,
        unit: str | None,
        severity: Severity | None,
        message: str | None,
        extra: Mapping[str, Any],
        sample: int | None = None,
        quality_from: tuple[str, ...] | None = None,
    ) -> Finding:
        rule = self.rule
        metric = metric or (rule.metrics[0] if rule.metrics else None)
        moment = moment or rule.moment
        unit = unit if unit is not None else unit_of(metric or "")
        if sample is None and status != NOT_MEASURABLE and metric:
            sample = self.metric_sample(metric)
        placed = self._place(sample)
        frame_index: int | None
        time_s: float | None
        if placed is not None and sample is not None:  # where the value was measured
            frame_index, time_s = placed
            near = nearest_moment(self.rep, sample, prefer=moment)
            at = moment_phrase(near.name if near is not None else None, frame_index, near, time_s=time_s)
            moment = near.name if near is not None else moment
        else:  # at the key moment the rule names ("in this pull" when the pull lacks it)
            m = self.rep.moments.get(moment) if moment else None
            frame_index, time_s = (m.frame_index, m.time_s) if m else (None, None)
            at = moment_phrase(moment, frame_index, m)
        # the metric by its label (its MetricSpec's), never its id; ``what``: mid-sentence
        label = metric_label(metric or rule.id, self.plugin_metrics)
        fields = {
            "value": value,
            "threshold": threshold,
            "unit": unit,
            "rep": self.rep.number,
            "measured": format_value(value, unit, limit=threshold),
            "limit": format_limit(threshold, unit),
            "moment": moment_label(moment or ""),
            "at": at,
            "label": label,
            "what": label[:1].lower() + label[1:],
            **extra,
        }
        if message is None:
            # a label that names the moment ("Torso lean at lift-off") is not followed by that
            # moment's own phrase ("as the bar leaves the floor"); read elsewhere, it says where it
            # was read ("Hip angle held at lockout: 176°, read 0.3 s after lockout"); other labels take
            # the phrase as it is ("Hip rise lead: 0.04 body lengths in your setup")
            names_moment = bool(moment) and moment_label(moment or "") in label
            spec = METRIC_SPECS.get(metric or "")
            if spec is not None and spec.median_over and spec.median_over in label:
                where = ""  # a median's label names its span: no one moment's phrase after it
            elif names_moment and at == MOMENT_PHRASES.get(moment or ""):
                where = ""
            elif names_moment and status != NOT_MEASURABLE:
                where = f", read {at}"
            else:
                where = f" {at}"
            if status == FAULT:
                template = rule.message or "{label}: {measured}{where}, past the {limit} limit."
            elif status == NOT_MEASURABLE:
                template = "{label} could not be measured{where}: {why}."
            else:
                template = "{label}: {measured}{where} (limit {limit})."
            message = template.format(where=where, **fields)

        template = {FAULT: rule.cue, OK: rule.praise}.get(status, "")
        cue = template.format(**fields) if template else ""
        quality = None
        if status != NOT_MEASURABLE:
            quality = self.quality(*(quality_from or ((metric,) if metric else ())))
        return Finding(
            rule_id=rule.id,
            rep=self.rep.number,
            status=status,
            severity=severity or rule.severity,
            message=message,
            moment=moment,
            frame_index=frame_index,
            time_s=time_s,
            value=value,
            threshold=threshold,
            unit=unit,
            metric=metric,
            cue=cue,
            confidence=quality.confidence if quality is not None else None,
            quality=quality.mark if quality is not None else "",
            title=rule.title,
        )

    def fault(
        self,
        value: float,
        threshold: float,
        *,
        moment: str | None = None,
        metric: str | None = None,
        unit: str | None = None,
        severity: Severity | None = None,
        message: str | None = None,
        sample: int | None = None,
        quality_from: tuple[str, ...] | None = None,
        **extra: Any,
    ) -> Finding:
        """A "fault" finding: the rule fired. Extra keywords are available to the templates.

        ``sample``: where the value was measured (default: the metric's sample, if known).
        ``quality_from``: the metrics whose reading quality the finding carries (default: its
        metric; see :meth:`quality`).
        """
        return self._finding(
            FAULT,
            value,
            threshold,
            moment=moment,
            metric=metric,
            unit=unit,
            severity=severity,
            message=message,
            extra=extra,
            sample=sample,
            quality_from=quality_from,
        )

    def ok(
        self,
        value: float,
        threshold: float,
        *,
        moment: str | None = None,
        metric: str | None = None,
        unit: str | None = None,
        message: str | None = None,
        sample: int | None = None,
        quality_from: tuple[str, ...] | None = None,
        **extra: Any,
    ) -> Finding:
        """An "ok" finding: measured and within the threshold (``sample``, ``quality_from`` as for
        :meth:`fault`)."""
        return self._finding(
            OK,
            value,
            threshold,
            moment=moment,
            metric=metric,
            unit=unit,
            severity="info",
            message=message,
            extra=extra,
            sample=sample,
            quality_from=quality_from,
        )

    def not_measurable(self, reason: str, *, moment: str | None = None, metric: str | None = None) -> Finding:
        """A "not measurable" finding: the view or the data cannot support the measurement (say why)."""
        return self._unmeasured(reason, {}, moment=moment, metric=metric)

    def _unmeasured(
        self,
        message: str | None,
        extra: Mapping[str, Any],
        *,
        moment: str | None,
        metric: str | None,
        sample: int | None = None,
    ) -> Finding:
        """A "not measurable" finding with ``message`` (None: the rule's template with ``extra``)."""
        return self._finding(
            NOT_MEASURABLE,
            None,
            None,
            moment=moment,
            metric=metric,
            unit=None,
            severity="info",
            message=message,
            extra=extra,
            sample=sample,
        )

    def compare(
        self,
        metric: str,
        threshold: str,
        *,
        fault_if: str = "above",
        moment: str | None = None,
        value: float | None = None,
        sample: int | None = None,
        **extra: Any,
    ) -> Finding:
        """The common rule: metric vs one threshold; "not measurable" when the metric is NaN.

        ``fault_if`` is "above" (fault when value > threshold) or "below" (value < threshold).
        ``value`` replaces the metric's value (e.g. a sign-flipped metric). The finding is placed
        where the metric was measured (``sample``, default the metric's recorded sample), else at
        ``moment``.
        """
        if fault_if not in ("above", "below"):
            raise ValueError(f"fault_if must be 'above' or 'below', got {fault_if!r}")
        value = self.metric(metric) if value is None else value
        if value is None:
            why = self.unmeasured_reason(metric) or "keypoints missing or the moment was not found"
            # "Hip rise lead could not be measured in your setup: left shoulder not visible.", placed
            # where the metric was read (the sample its reason is about), else at the moment
            return self._unmeasured(
                None,
                {"why": why},
                moment=moment,
                metric=metric,
                sample=sample if sample is not None else self.metric_sample(metric),
            )
        limit = self.threshold(threshold)
        fired = value > limit if fault_if == "above" else value < limit
        make = self.fault if fired else self.ok
        return make(
            value,
            limit,
            moment=moment,
            metric=metric,
            unit=unit_of(metric) or unit_of(threshold),
            sample=sample,
            **extra,
        )
