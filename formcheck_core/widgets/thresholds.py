"""The threshold explorer: move a rule's threshold sliders and watch its findings and cues change.

Works on one analysed clip or many. Every change re-runs the rule on the stored analyses
(:func:`formcheck_core.rules.reevaluate`; no video, no pose model, milliseconds per clip) and
redraws: a plot of the rule's metric per rep against the limit, a table of the findings, a
summary (how many reps and clips the rule flags, and agreement with labels where given) and the
deterministic coach's cues. Slider callbacks may overlap on kernel threads, so updates run under
one lock and always use the sliders' latest values.

Long because the controls, the plot, the table and the summary are one widget's state.
"""

from __future__ import annotations

import html
import math
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from ..analysis import Analysis
from ..coach import deterministic_cues
from ..errors import FormcheckError
from ..findings import Finding
from ..plugins import LoadedRule, collect_rules
from ..rules.reevaluation import reevaluate, sweep
from ..rules.thresholds import DEFAULT_PRESET, threshold_range
from ..rules.verdicts import flags_rule
from ..vocabulary import FAULT, NOT_MEASURABLE, OK, format_limit, format_value, unit_of
from ._ipywidgets import widgets
from .pictures import figure_png

#: Finding status -> colour in the plot and the table.
STATUS_COLOURS = {FAULT: "#e03131", OK: "#2f9e44", NOT_MEASURABLE: "#adb5bd"}


@dataclass(frozen=True)
class ThresholdResult:
    """One evaluation: thresholds used, the re-ruled analyses by clip name, and the rule's findings."""

    rule_id: str
    thresholds: dict[str, float]
    analyses: dict[str, Analysis]
    findings: dict[str, tuple[Finding, ...]]
    seconds: float

    def flagged_clips(self) -> set[str]:
        """Clips where the rule flagged at least one rep (:func:`~formcheck_core.rules.verdicts.flags_rule`:
        not a low-confidence warning)."""
        return {clip for clip, fs in self.findings.items() if any(flags_rule(f) for f in fs)}

    def flagged_reps(self) -> int:
        """Rep findings over all clips that flag their rule (:func:`~formcheck_core.rules.verdicts.flags_rule`)."""
        return sum(flags_rule(f) for fs in self.findings.values() for f in fs)

    def counts(self) -> dict[str, int]:
        """Number of rep findings per status over all clips."""
        out: dict[str, int] = {FAULT: 0, OK: 0, NOT_MEASURABLE: 0}
        for fs in self.findings.values():
            for f in fs:
                out[f.status] = out.get(f.status, 0) + 1
        return out


@dataclass(frozen=True)
class SweepPoint:
    """The rule at one threshold value: reps flagged / measured, clips flagged, agreement with labels."""

    value: float
    faults: int
    measured: int
    clips_flagged: int
    clips: int
    #: Clips with a true/false label for the rule, and how many of them the rule's flag matches.
    labelled: int
    agree: int

    @property
    def accuracy(self) -> float:
        """Share of labelled clips where the rule's flag matches the label (NaN without labels)."""
        return self.agree / self.labelled if self.labelled else float("nan")


def _clip_names(analyses: Analysis | Sequence[Analysis] | Mapping[str, Analysis]) -> dict[str, Analysis]:
    if isinstance(analyses, Analysis):
        analyses = [analyses]
    if isinstance(analyses, Mapping):
        out = dict(analyses)
    else:
        out = {}
        for a in analyses:
            name = Path(a.video.path).stem
            while name in out:
                name += "'"
            out[name] = a
    if not out:
        raise FormcheckError("The threshold explorer needs at least one analysed clip.")
    return out


def slider_range(default: float, observed: Sequence[float]) -> tuple[float, float, float]:
    """(min, max, step) for a threshold slider covering ``default`` and the observed metric values.

    Pads the span by a quarter on each side, keeps non-negative quantities non-negative and uses
    a round step of about a two-hundredth of the range.
    """
    vals = [v for v in list(observed) + [default] if math.isfinite(v)]
    if not vals:
        return 0.0, 1.0, 0.01
    lo, hi = min(vals), max(vals)
    span = hi - lo if hi > lo else max(abs(hi), 1.0)
    lo_p, hi_p = lo - 0.25 * span, hi + 0.25 * span
    if lo >= 0 > lo_p:
        lo_p = 0.0
    step = 10 ** math.floor(math.log10((hi_p - lo_p) / 200)) if hi_p > lo_p else 0.01
    lo_p = math.floor(lo_p / step) * step
    hi_p = math.ceil(hi_p / step) * step
    return float(lo_p), float(hi_p), float(step)


class ThresholdExplorer:
    """Sliders for one rule's thresholds over one or more analysed clips (display it in a notebook).

    ``analyses``: an Analysis, a list of them (named by file stem) or a mapping name -> Analysis.
    ``rule_id``: the rule to start with (default: the first rule that fired, else the first rule).
    ``labels``: optional labels per clip name (``labels_dev.json`` entries: ``{"faults": {...}}``)
    to show how often the rule agrees with them. ``plugin_manager``: which rules (default: all
    installed). ``cues_for``: clip whose coaching cues are shown (default: the first).
    """

    def __init__(
        self,
        analyses: Analysis | Sequence[Analysis] | Mapping[str, Analysis],
        rule_id: str | None = None,
        *,
        labels: Mapping[str, Mapping] | None = None,
        plugin_manager=None,
        cues_for: str | None = None,
    ) -> None:
        self.analyses = _clip_names(analyses)
        self.labels = dict(labels or {})
        rules, _errors = collect_rules(plugin_manager)
        lifts = {a.lift for a in self.analyses.values()}
        self.rules: dict[str, LoadedRule] = {
            rid: lr for rid, lr in rules.items() if any(lr.rule.applies_to(lift) for lift in lifts)
        }
        if not self.rules:
            raise FormcheckError(f"No loaded rule applies to {', '.join(sorted(lifts))}.")
        if rule_id is None:
            fired = [
                f.rule_id
                for a in self.analyses.values()
                for f in a.findings
                if flags_rule(f) and f.rule_id in self.rules
            ]
            rule_id = fired[0] if fired else next(iter(self.rules))
        if rule_id not in self.rules:
            raise FormcheckError(f"Unknown rule {rule_id!r}; loaded rules: {', '.join(self.rules)}.")
        self.cues_for = cues_for if cues_for in self.analyses else next(iter(self.analyses))
        self._lock = threading.RLock()
        self._shown: tuple | None = None
        self._sliders: dict[str, widgets.FloatSlider] = {}
        self._off: dict[str, widgets.Checkbox] = {}
        self.result: ThresholdResult | None = None
        self.update_times_s: list[float] = []
        self._building = False
        self._build_widgets(rule_id)

    # -- widgets -------------------------------------------------------------------------------
    def _build_widgets(self, rule_id: str) -> None:
        self.rule_picker = widgets.Dropdown(options=list(self.rules), value=rule_id, description="rule")
        self.rule_picker.add_class("fc-rule")
        self.preset = widgets.Dropdown(description="preset")
        self.preset.add_class("fc-preset")
        self.reset_button = widgets.Button(
            description="Reset to defaults", layout=widgets.Layout(width="auto")
        )
        self.reset_button.on_click(lambda _b: self.reset())
        self.description = widgets.HTML()
        self.slider_box = widgets.VBox()
        self.plot = widgets.Image(format="png", layout=widgets.Layout(max_width="100%", height="auto"))
        self.plot.add_class("fc-threshold-plot")
        self.summary = widgets.HTML()
        self.summary.add_class("fc-summary")
        self.table = widgets.HTML()
        self.table.add_class("fc-findings")
        self.cues = widgets.HTML()
        self.cues.add_class("fc-cues")
        self.message = widgets.HTML()
        self.widget = widgets.VBox(
            [
                widgets.HBox(
                    [self.rule_picker, self.preset, self.reset_button],
                    layout=widgets.Layout(flex_flow="row wrap"),
                ),
                self.description,
                self.slider_box,
                self.summary,
                widgets.HBox(
                    [self.plot, self.cues],
                    layout=widgets.Layout(flex_flow="row wrap", align_items="flex-start"),
                ),
                self.table,
                self.message,
            ]
        )
        self.widget.add_class("formcheck-thresholds")
        self.rule_picker.observe(lambda _c: self._select_rule(self.rule_picker.value), names="value")
        self.preset.observe(self._on_preset, names="value")
        self._select_rule(rule_id)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    @property
    def rule_id(self) -> str:
        return str(self.rule_picker.value)

    def _start_values(self, rule_id: str) -> dict[str, float]:
        rule = self.rules[rule_id].rule
        values = dict(rule.thresholds)
        first = next(iter(self.analyses.values()))
        values.update(first.options.get("thresholds", {}).get(rule_id, {}))
        return values

    def _select_rule(self, rule_id: str) -> None:
        rule = self.rules[rule_id].rule
        self._building = True
        try:
            sliders, boxes, rows = {}, {}, []
            for name, value in self._start_values(rule_id).items():
                # the range covers the measured values of the metric(s) in the threshold's unit
                same_unit = [m for m in rule.metrics if unit_of(m) == unit_of(name)] or list(rule.metrics)
                observed = [
                    float(r.metrics.get(m, math.nan))
                    for a in self.analyses.values()
                    for r in a.pulls  # partial pulls too: rules judge them
                    for m in same_unit
                ]
                lo, hi, step = slider_range(value if math.isfinite(value) else math.nan, observed)
                if (span := threshold_range(rule, name)) is not None:  # what --threshold accepts
                    lo, hi = max(lo, span[0]), min(hi, span[1])
                s = widgets.FloatSlider(
                    value=min(max(value, lo), hi) if math.isfinite(value) else hi,
                    min=lo,
                    max=hi,
                    step=step,
                    description=name,
                    continuous_update=True,
                    readout_format=".3g" if step < 0.1 else ".1f",
                    style={"description_width": "initial"},
                    layout=widgets.Layout(width="560px"),
                )
                s.add_class("fc-threshold")
                s.observe(lambda _c: self.update(), names="value")
                sliders[name] = s
                row = [s, widgets.Label(unit_of(name))]
                if not math.isfinite(value):  # a limit that is switched off by default
                    off = widgets.Checkbox(
                        value=True, description="off", indent=False, layout=widgets.Layout(width="70px")
                    )
                    off.observe(lambda _c: self.update(), names="value")
                    boxes[name] = off
                    row.append(off)
                rows.append(widgets.HBox(row, layout=widgets.Layout(align_items="center")))
            self._sliders, self._off = sliders, boxes
            self.slider_box.children = rows
            presets = [DEFAULT_PRESET] + [p for p in rule.presets if p != DEFAULT_PRESET]
            self.preset.options = ["(custom)"] + presets
            self.preset.value = "(custom)"
            doc = html.escape(rule.doc or rule.description).replace("\n", "<br>")
            self.description.value = (
                f"<div style='max-width:760px'><b>{html.escape(rule.id)}</b>: {html.escape(rule.description)}"
                f"<details><summary>what it can and cannot see</summary><div style='font-size:90%'>{doc}</div>"
                f"</details><div style='color:#666'>metric(s): {', '.join(rule.metrics)}</div></div>"
            )
        finally:
            self._building = False
        self._shown = None
        self.update()

    def _on_preset(self, _change=None) -> None:
        name = self.preset.value
        if self._building or name in (None, "(custom)"):
            return
        rule = self.rules[self.rule_id].rule
        values = dict(rule.thresholds)
        if name != DEFAULT_PRESET:
            values.update(rule.presets.get(name, {}))
        self.set_thresholds(**values)

    # -- thresholds ----------------------------------------------------------------------------
    def thresholds(self) -> dict[str, float]:
        """The thresholds the sliders set now (``inf`` where a limit is switched off)."""
        out = {}
        for name, s in self._sliders.items():
            off = self._off.get(name)
            out[name] = math.inf if off is not None and off.value else float(s.value)
        return out

    def set_thresholds(self, **values: float) -> ThresholdResult:
        """Move the sliders (``name=value``; ``inf`` switches a limit off) and re-evaluate once."""
        unknown = set(values) - set(self._sliders)
        if unknown:
            raise FormcheckError(
                f"Rule {self.rule_id} has no threshold {sorted(unknown)}; it has {sorted(self._sliders)}."
            )
        self._building = True
        try:
            for name, value in values.items():
                s = self._sliders[name]
                if not math.isfinite(value) and name in self._off:
                    self._off[name].value = True
                    continue
                if name in self._off:
                    self._off[name].value = False
                if math.isfinite(value) and not s.min <= value <= s.max:  # widen the range to reach it
                    s.min, s.max = min(s.min, value), max(s.max, value)
                s.value = value
        finally:
            self._building = False
        self.update()
        assert self.result is not None
        return self.result

    def reset(self) -> ThresholdResult:
        """Back to the rule's default thresholds."""
        return self.set_thresholds(**self.rules[self.rule_id].rule.thresholds)

    # -- evaluation ----------------------------------------------------------------------------
    def evaluate(self, thresholds: Mapping[str, float] | None = None) -> ThresholdResult:
        """Re-run the rules on every clip with ``thresholds`` for the current rule (default: the sliders')."""
        rid = self.rule_id
        values = dict(self.thresholds() if thresholds is None else thresholds)
        t0 = time.perf_counter()
        analyses = {name: self._rerule(a, rid, values) for name, a in self.analyses.items()}
        findings = {name: tuple(f for f in a.findings if f.rule_id == rid) for name, a in analyses.items()}
        return ThresholdResult(rid, values, analyses, findings, time.perf_counter() - t0)

    def _rerule(self, a: Analysis, rid: str, values: Mapping[str, float]) -> Analysis:
        """``a`` with rule ``rid``'s findings re-evaluated at ``values`` (other rules' findings kept).

        Uses the rule object captured when the explorer was built, so it keeps working if the rule
        is later unregistered (e.g. a rule defined in a notebook cell).
        """
        return reevaluate(a, {rid: dict(values)}, rules={rid: self.rules[rid]})

    def update(self) -> bool:
        """Re-evaluate and redraw for the current sliders unless already shown; True if it did."""
        if self._building:
            return False
        with self._lock:
            key = (self.rule_id, tuple(sorted(self.thresholds().items())))
            if key == self._shown:
                return False
            t0 = time.perf_counter()
            try:
                result = self.evaluate()
                self.plot.value = figure_png(self.figure(result))
                self.summary.value = self._summary_html(result)
                self.table.value = self._table_html(result)
                self.cues.value = self._cues_html(result)
                if self.message.value:
                    self.message.value = ""
            except Exception as exc:
                self.message.value = (
                    f"<span style='color:#c92a2a'>{html.escape(type(exc).__name__)}: "
                    f"{html.escape(str(exc))}</span>"
                )
                raise
            self.result = result
            self._shown = key
            self.update_times_s.append(time.perf_counter() - t0)
            self._building = True  # the preset the sliders match, without applying it again
            try:
                self.preset.value = self._preset_of(result.thresholds)
            finally:
                self._building = False
            return True

    def sweep(self, name: str, values: Sequence[float]) -> tuple[SweepPoint, ...]:
        """Evaluate the current rule at each value of threshold ``name`` (others as the sliders set
        them), without moving the sliders."""
        base = self.thresholds()
        if name not in base:
            raise FormcheckError(f"Rule {self.rule_id} has no threshold {name!r}; it has {sorted(base)}.")
        rid, names = self.rule_id, list(self.analyses)
        points = []
        for p in sweep(list(self.analyses.values()), rid, name, values, thresholds=base, rules=self.rules):
            analyses = dict(zip(names, p.analyses, strict=True))
            findings = dict(zip(names, p.findings(), strict=True))
            r = ThresholdResult(rid, {**base, name: p.value}, analyses, findings, 0.0)
            faults, measured = p.counts()
            agree = self.label_agreement(r) or (0, 0)
            points.append(
                SweepPoint(p.value, faults, measured, sum(p.flagged()), len(names), agree[1], agree[0])
            )
        return tuple(points)

    def _preset_of(self, values: Mapping[str, float]) -> str:
        """The preset ``values`` are: the one selected if they still match it, else the first that
        matches, else "(custom)" (a new explorer at the defaults says "calibrated", not "(custom)")."""
        names = [p for p in self.preset.options if p != "(custom)"]
        if self.preset.value in names and self._matches_preset(values, self.preset.value):
            return str(self.preset.value)
        return next((p for p in names if self._matches_preset(values, p)), "(custom)")

    def _matches_preset(self, values: Mapping[str, float], name: str) -> bool:
        rule = self.rules[self.rule_id].rule
        want = dict(rule.thresholds)
        if name != DEFAULT_PRESET:
            want.update(rule.presets.get(name, {}))
        return all(
            math.isclose(values.get(k, math.nan), v, rel_tol=1e-6) or values.get(k) == v
            for k, v in want.items()
        )

    # -- pictures and text ---------------------------------------------------------------------
    def _pull_name(self, clip: str, number: int | None) -> str:
        """Pull ``number`` of ``clip`` as every view names it: "rep 2", "partial pull 1"."""
        a = self.analyses.get(clip)
        if number is None:
            return "set"
        return a.pull_label(number) if a is not None else f"rep {number}"

    def figure(self, result: ThresholdResult | None = None) -> Figure:
        """The rule's metric per rep (dots coloured by status) against the threshold lines."""
        result = result or self.result
        assert result is not None
        rule = self.rules[result.rule_id].rule
        metric = rule.metrics[0] if rule.metrics else None
        points = []
        for clip, fs in result.findings.items():
            for f in fs:
                name = self._pull_name(clip, f.rep)
                short = name.replace("partial pull ", "p").replace("rep ", "r")  # "r2", "p1"
                label = f"{clip} {short}" if len(result.findings) > 1 else name
                points.append((label, f.value, f.status, f))  # the value the rule compared
        n = max(len(points), 1)
        fig = Figure(figsize=(min(3.0 + 0.3 * n, 7.5), 3.4 if n > 6 else 2.6), dpi=100, layout="constrained")
        ax = fig.add_subplot()
        xs = np.arange(len(points))
        for x, (_label, value, status, _f) in zip(xs, points, strict=False):
            if value is None or not math.isfinite(value):
                ax.scatter([x], [0], marker="x", color=STATUS_COLOURS[NOT_MEASURABLE], zorder=3)
                continue
            ax.scatter(
                [x],
                [value],
                s=36,
                color=STATUS_COLOURS.get(status, "#495057"),
                zorder=3,
                edgecolor="white",
                linewidth=0.6,
            )
        unit = unit_of(metric or "")
        for name, value in result.thresholds.items():
            if math.isfinite(value) and unit_of(name) == unit:
                ax.axhline(value, color="#e03131", ls="--", lw=1.2, zorder=2)
                ax.text(
                    0.995,
                    value,
                    f"{name} = {value:g}",
                    transform=ax.get_yaxis_transform(),
                    ha="right",
                    va="bottom",
                    fontsize=8,
                    color="#c92a2a",
                )
        # upright labels only while they fit side by side (~0.075 in a character at 8 pt)
        longest = max((len(p[0]) for p in points), default=0)
        slanted = n > 6 or longest * 0.075 > 0.85 * fig.get_figwidth() / n
        ax.set_xticks(
            xs,
            [p[0] for p in points],
            rotation=60 if slanted else 0,
            ha="right" if slanted else "center",
            rotation_mode="anchor" if slanted else "default",
            fontsize=7 if n > 12 else 8,
        )
        ax.set_ylabel(unit.replace("_", " ") or "value", fontsize=8)
        ax.tick_params(axis="y", labelsize=8)
        ax.grid(True, axis="y", color="#e9ecef", lw=0.6)
        ax.set_title(f"{metric} per rep\nred = fault, green = ok, × = not measurable", fontsize=9, loc="left")
        if not points:
            ax.text(0.5, 0.5, "no reps measured", ha="center", va="center", transform=ax.transAxes)
        return fig

    def _summary_html(self, result: ThresholdResult) -> str:
        c = result.counts()
        measured = c[FAULT] + c[OK]
        flagged = result.flagged_clips()
        parts = [
            f"<b>{result.flagged_reps()}</b> of {measured} measured reps flagged"
            + (f" ({c[NOT_MEASURABLE]} not measurable)" if c[NOT_MEASURABLE] else "")
        ]
        if len(result.findings) > 1:
            parts.append(f"<b>{len(flagged)}</b> of {len(result.findings)} clips flagged")
        agree = self.label_agreement(result)
        if agree is not None:
            n_ok, n = agree
            parts.append(f"agrees with the labels on <b>{n_ok}</b> of {n} labelled clips")
        parts.append(f"evaluated in {1000 * result.seconds:.0f} ms")
        return "<div class='fc-summary-text'>" + " · ".join(parts) + "</div>"

    def label_agreement(self, result: ThresholdResult | None = None) -> tuple[int, int] | None:
        """(clips where the rule's flag matches a true/false label, labelled clips), or None without labels."""
        result = result or self.result
        if not self.labels or result is None:
            return None
        from ..compare import clip_labels

        flagged = result.flagged_clips()
        n = n_ok = 0
        for clip in result.findings:
            entry = self.labels.get(clip)
            label = clip_labels(entry, [result.rule_id]).get(result.rule_id) if entry else None
            if label is None:
                continue
            n += 1
            n_ok += (clip in flagged) == label
        return n_ok, n

    def _table_html(self, result: ThresholdResult) -> str:
        rows = []
        for clip, fs in result.findings.items():
            for f in fs:
                colour = STATUS_COLOURS.get(f.status, "#495057")
                value = format_value(f.value, f.unit, limit=f.threshold) if f.value is not None else "–"
                limit = format_limit(f.threshold, f.unit) if f.threshold is not None else "–"
                rows.append(
                    f"<tr data-clip='{html.escape(clip)}' data-rep='{f.rep}' data-status='{f.status}'>"
                    f"<td>{html.escape(clip)}</td><td>{html.escape(self._pull_name(clip, f.rep))}</td>"
                    f"<td style='color:{colour};font-weight:bold'>"
                    f"{f.status.replace('_', ' ')}</td><td>{html.escape(value)}</td><td>{html.escape(limit)}</td>"
                    f"<td>{html.escape(f.message)}</td></tr>"
                )
        head = (
            "<tr><th>clip</th><th>pull</th><th>status</th><th>value</th><th>limit</th><th>message</th></tr>"
        )
        return (
            f"<details {'open' if len(rows) <= 12 else ''}><summary>findings ({len(rows)})</summary>"
            f"<table class='fc-findings-table' style='font-size:90%'>{head}{''.join(rows)}</table></details>"
        )

    def _cues_html(self, result: ThresholdResult) -> str:
        a = result.analyses[self.cues_for]
        cues = deterministic_cues(a)
        items = "".join(
            f"<li data-rule='{html.escape(c.rule_id or '')}' data-role='{html.escape(c.role)}'>"
            # "warning:" / "note:" before a cue the verdict does not count, as every other view says it
            + (f"<i>{html.escape(c.role_tag)}:</i> " if c.role_tag else "")
            + f"<b>{html.escape(c.text)}</b><br>"
            f"<span style='color:#666;font-size:90%'>{html.escape(c.why)}</span></li>"
            for c in cues
        )
        title = f"Cues for {html.escape(self.cues_for)}" + (" (rules)" if cues else "")
        return f"<div style='max-width:520px'><b>{title}</b><ol>{items or '<li>none</li>'}</ol></div>"
