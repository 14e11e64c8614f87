"""One-page HTML report: cues first, then per rep the stills, curves, bar path and clip.

:func:`write_report` renders every picture into ``out_dir`` (``stills/``, ``plots/``,
``annotated.mp4``) and writes ``out_dir/index.html``. The page embeds its pictures as data URIs
sized for the page (stills and bar paths as 540 px JPEGs, curves as 256-colour PNGs) and its CSS
inline, so ``index.html`` alone can be sent to a coach. To keep the page light for long clips,
pictures are embedded in order of importance until :data:`PAGE_BUDGET_BYTES` is reached: the
stills of faults and of cues and the whole-clip curves first, then rep by rep the key moments,
bar path and rep curves. Pictures left out are listed per rep as links to their files in
``stills/`` and ``plots/``. The annotated clip is the sibling file ``annotated.mp4`` referenced
relatively (send the folder, or pass ``embed_clip=True`` to put the video inside the page too).
The page works offline: no scripts, fonts or styles are fetched.

Long because the page is one self-contained HTML document (sections, styles, picture budget);
the pictures themselves are made in :mod:`.outputs`.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from .. import __version__
from ..analysis import Analysis
from ..biomech.body import Moment
from ..clip_warnings import insufficient_headline
from ..coach import pull_moments
from ..cues import Cue, fallback_reason
from ..findings import Finding
from ..pulls import no_rep_note, partial_note, pull_heading
from ..readings import metric_readings
from ..rules.verdicts import verdict_role
from ..vocabulary import (
    CLEAN,
    NEEDS_WORK,
    ROLE_WORDS,
    VERDICT_ROLES,
    counted,
    format_limit,
    format_value,
    moment_tag,
)
from .bar_path import bar_path_caption
from .outputs import CLIP_NAME, RenderedOutputs, render_all
from .stills import Still
from .worker import RenderWorker

REPORT_NAME = "index.html"
#: Bytes of embedded pictures (base64 adds a third) a page may hold before the rest become links;
#: keeps ``index.html`` under ~5 MB for a 90 s set.
PAGE_BUDGET_BYTES = 3_000_000
_NOTE = (
    '<p class="note">Measured from the video by a pose model: an aid for you and your coach, not a '
    "diagnosis. Angles are measured in the picture, so they are most accurate from a side view.</p>"
)

_CSS = """
*{box-sizing:border-box}
body{font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1f2328;background:#f6f7f9}
main{max-width:1100px;margin:0 auto;padding:12px}
h1{font-size:1.5rem;margin:.4em 0}
h2{font-size:1.25rem;margin:1.2em 0 .4em;border-bottom:2px solid #dee2e6;padding-bottom:.2em}
h3{font-size:1.05rem;margin:1em 0 .3em}
.meta{color:#555;font-size:.92rem}
.note{background:#fff3bf;border-left:4px solid #f59f00;padding:.5em .8em;margin:.6em 0;font-size:.92rem}
.warn{background:#fff5f5;border-left:4px solid #e03131;padding:.5em .8em;margin:.6em 0}
ol.cues{padding-left:1.4em}
ol.cues li{margin:.5em 0;background:#fff;padding:.6em .8em;border-radius:8px;box-shadow:0 1px 2px #0001}
.cue{font-weight:600;font-size:1.05rem}
.why{color:#444;font-size:.92rem}
.where{font-size:.88rem;color:#555}
.quality{font-size:.88rem;color:#868e96}
.verdict{display:inline-block;padding:.1em .6em;border-radius:1em;font-size:.9rem;font-weight:600}
.v-clean{background:#d3f9d8;color:#2b8a3e}.v-needs{background:#ffe3e3;color:#c92a2a}.v-other{background:#e9ecef;color:#495057}
ul.findings{list-style:none;padding:0;margin:.4em 0}
ul.findings li{background:#fff;margin:.35em 0;padding:.45em .7em;border-radius:6px;border-left:5px solid #adb5bd}
ul.findings li.fault{border-left-color:#e03131}ul.findings li.ok{border-left-color:#37b24d}
ul.findings li.note,ul.findings li.warning{border-left-color:#f08c00}
ul.findings li.not_measurable{color:#555}
.num{white-space:nowrap;color:#333}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,330px),1fr));gap:10px}
figure{margin:0;background:#fff;border-radius:8px;overflow:hidden;box-shadow:0 1px 2px #0001}
figure img,video{display:block;width:100%;height:auto}
video{max-height:80vh;background:#000}
figcaption{font-size:.85rem;padding:.3em .6em;color:#444}
details{margin:.5em 0}
.more{font-size:.88rem;color:#555}
footer{color:#666;font-size:.85rem;margin:2em 0 1em}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


class _Pictures:
    """Which pictures the page embeds (see the module docstring) and their data URIs."""

    def __init__(
        self,
        analysis: Analysis,
        cues: Sequence[Cue],
        outputs: RenderedOutputs,
        budget_bytes: int | None = None,
    ) -> None:
        budget_bytes = PAGE_BUDGET_BYTES if budget_bytes is None else budget_bytes
        self.outputs = outputs
        cue_frames = {(c.rep, c.frame_index) for c in cues if c.frame_index is not None}
        first: list[Path] = [
            s.path
            for s in outputs.stills
            if any(f.is_fault for f in s.findings) or (s.rep, s.frame_index) in cue_frames
        ]
        if outputs.curves is not None:
            first.append(outputs.curves)
        rest: list[Path] = []
        for rep in analysis.pulls:  # complete reps, then partial pulls
            rest += [s.path for s in outputs.stills if s.rep == rep.number]
            rest += [b.path for b in outputs.bar_paths if b.rep == rep.number]
            if rep.number in outputs.rep_curves:
                rest.append(outputs.rep_curves[rep.number])
        rest += [s.path for s in outputs.stills if s.rep is None]
        if outputs.curves_raw is not None:
            rest.append(outputs.curves_raw)
        self.embedded: set[Path] = set()
        used = 0
        for path in dict.fromkeys(first + rest):
            page = outputs.page_images.get(path)  # every picture render_all wrote has its page version
            size = len(page.data) if page is not None else 0
            if size and used + size <= budget_bytes:
                self.embedded.add(path)
                used += size
        self.embedded_bytes = used

    def uri(self, path: Path) -> str:
        """The embedded picture's page version (540 px JPEG, or the curve's PNG) as a data URI."""
        page = self.outputs.page_images[path]
        return f"data:{page.mime};base64," + base64.b64encode(page.data).decode("ascii")

    def img(self, path: Path | None, alt: str, caption: str = "", anchor: str = "") -> str:
        """A figure with the embedded picture, or "" when it is not embedded (or missing)."""
        if path is None or path not in self.embedded:
            return ""
        ident = f' id="{_e(anchor)}"' if anchor else ""
        cap = f"<figcaption>{_e(caption)}</figcaption>" if caption else ""
        return f'<figure{ident}><img src="{self.uri(path)}" alt="{_e(alt)}" decoding="async">{cap}</figure>'

    def link(self, path: Path | None, text: str, anchor: str = "") -> str:
        """A link to a picture file that is not embedded ("" when it is embedded or missing)."""
        if path is None or path in self.embedded or not path.is_file():
            return ""
        ident = f' id="{_e(anchor)}"' if anchor else ""
        rel = (
            path.relative_to(self.outputs.out_dir).as_posix()
            if path.is_relative_to(self.outputs.out_dir)
            else path.name
        )
        return f'<a{ident} href="{_e(rel)}">{_e(text)}</a>'


def _data_uri(path: Path, mime: str = "image/png") -> str:
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _anchor(still: Still) -> str:
    return f"still-{still.path.stem}"


def _verdict_badge(label: str) -> str:
    cls = "v-clean" if label == CLEAN else "v-needs" if label == NEEDS_WORK else "v-other"
    return f'<span class="verdict {cls}">{_e(label)}</span>'


def _still_for(stills: Sequence[Still], rep: int | None, frame: int | None) -> Still | None:
    if frame is None:
        return None
    same = [s for s in stills if s.frame_index == frame and (rep is None or s.rep == rep)]
    return same[0] if same else None


def _where(
    pull: str,
    moment: str | None,
    time_s: float | None,
    frame: int | None,
    own: Moment | None,
    window: str = "",
) -> str:
    """ "rep 2 · lift-off · 3.13 s · frame 94" (``pull``: the pull in words, "" for none);
    "near lift-off" / "0.6 s before lockout" when ``frame`` is not the moment's own (``own``)
    (:func:`~formcheck_core.vocabulary.moment_tag`); no moment named for a finding placed nowhere
    on a pull that lacks that moment (a lift-off rule on a pull the clip shows from mid-pull).
    A median over a window (``window``: "median over frames 474–492") is placed by it, and its
    frame is only where its still is drawn: "rep 3 · median over frames 474–492 · still at frame 480"."""
    if window:
        return " · ".join(
            p for p in (pull, window, f"still at frame {frame}" if frame is not None else "") if p
        )
    parts = [pull, moment_tag(moment, frame, own, time_s=time_s) if moment else ""]
    if time_s is not None and math.isfinite(time_s):
        parts.append(f"{time_s:.2f} s")
    if frame is not None:
        parts.append(f"frame {frame}")
    return " · ".join(p for p in parts if p)


def _own_frame(frames: dict[tuple[int, str], Moment], rep: int | None, moment: str | None) -> Moment | None:
    return frames.get((rep, moment)) if rep is not None and moment else None


#: (rep, metric) -> the window a median reading covers, in words (``MetricReading.where``).
Windows = Mapping[tuple[int, str], str]


def _window(windows: Windows, rep: int | None, metric: str | None) -> str:
    return windows.get((rep, metric), "") if rep is not None and metric else ""


def _cues_html(
    cues: Sequence[Cue],
    stills: Sequence[Still],
    frames: dict[tuple[int, str], Moment],
    windows: Windows | None = None,
) -> str:
    if not cues:
        return "<p>No coaching cues for this clip (see the findings and warnings below).</p>"
    parts = []
    if any(c.source == "test-model" for c in cues):
        parts.append(
            '<p class="warn">These cues come from a tiny <b>test model</b>: its text is not advice.</p>'
        )
    elif any(c.source == "llm" for c in cues):
        parts.append(
            '<p class="note">Worded by a local language model from the measured numbers below '
            "(each cue was checked against them).</p>"
        )
    reason = fallback_reason(cues)
    if reason:
        parts.append(f'<p class="note">From the rules; the LLM was not used: {_e(reason)}</p>')
    parts.append('<ol class="cues">')
    for c in sorted(cues, key=lambda c: c.priority):
        where = _where(
            c.where,
            c.moment,
            c.time_s,
            c.frame_index,
            _own_frame(frames, c.rep, c.moment),
            _window(windows or {}, c.rep, c.metric),
        )
        still = _still_for(stills, c.rep, c.frame_index)
        link = f' · <a href="#{_anchor(still)}">see still</a>' if still is not None else ""
        parts.append(
            f'<li><div class="cue">{_role_tag(c)}{_e(c.text)}</div><div class="why">{_e(c.why)}</div>'
            + (f'<div class="where">{_e(where)}{link}</div>' if where or link else "")
            + f'<div class="where source">from: {_e(c.source_detail or c.source)}</div>'
            + "</li>"
        )
    parts.append("</ol>")
    return "\n".join(parts)


def _role_tag(c: Cue) -> str:
    """ "<b>! note</b> " before a cue on a fault the verdict does not count, else ""."""
    if not c.role_tag:
        return ""
    words = ROLE_WORDS[c.role]
    return f'<b class="role" title="{_e(words.help)}">{_e(words.mark)} {_e(words.word)}:</b> '


def _role_text(f: Finding) -> str:
    """A card's mark and word: "✗ fault" only for a fault the verdict counts, "! note", "? warning"."""
    words = ROLE_WORDS[verdict_role(f)]
    return f"{words.mark} {words.word}"


def _findings_list(
    findings: Sequence[Finding],
    stills: Sequence[Still],
    frames: dict[tuple[int, str], Moment],
    windows: Windows | None = None,
) -> str:
    """Findings as a list of cards (a table does not fit a phone): result, measured vs limit, detail."""
    if not findings:
        return "<p>No rule findings.</p>"
    order = {role: i for i, role in enumerate(VERDICT_ROLES)}  # fault, note, warning, ok, not measurable
    items = []
    for f in sorted(findings, key=lambda f: (order.get(verdict_role(f), 9), f.rule_id)):
        still = _still_for(stills, f.rep, f.frame_index)
        window = _window(windows or {}, f.rep, f.metric)
        when = _e(_where("", f.moment, f.time_s, f.frame_index, _own_frame(frames, f.rep, f.moment), window))
        if still is not None:
            when = f'<a href="#{_anchor(still)}">{when}</a>'
        numbers = ""
        if f.value is not None or f.threshold is not None:
            numbers = (
                f' <span class="num">{_e(format_value(f.value, f.unit, limit=f.threshold))}'
                f" · limit {_e(format_limit(f.threshold, f.unit))}</span>"
            )
        items.append(
            f'<li class="{_e(verdict_role(f))}" title="{_e(ROLE_WORDS[verdict_role(f)].help)}">'
            f"<div><b>{_e(_role_text(f))}</b> "
            f"{_e(f.name)}{numbers}</div>"
            f'<div class="why">{_e(f.message)}</div>'
            + (f'<div class="quality">({_e(f.quality)})</div>' if f.quality else "")
            + (f'<div class="where">{when}</div>' if when else "")
            + "</li>"
        )
    return f'<ul class="findings">{"".join(items)}</ul>'


def _more(links: Sequence[str]) -> str:
    """The index of pictures left out of the page (links to their files), or ""."""
    links = [x for x in links if x]
    if not links:
        return ""
    return (
        '<p class="more">More pictures (files beside this page, not embedded to keep it light): '
        + " · ".join(links)
        + "</p>"
    )


def _video(src: str, caption: str, ident: str = "") -> str:
    i = f' id="{ident}"' if ident else ""
    return (
        f'<figure><video{i} controls playsinline preload="metadata" src="{_e(src)}"></video>'
        f"<figcaption>{_e(caption)}</figcaption></figure>"
    )


def render_html(
    analysis: Analysis, cues: Sequence[Cue], outputs: RenderedOutputs, *, embed_clip: bool = False
) -> str:
    """The report page for already-rendered ``outputs`` (see :func:`write_report`)."""
    pics = _Pictures(analysis, cues, outputs)
    info = analysis.video
    name = Path(info.path).name
    set_verdict = next((v for v in analysis.verdicts if v.rep is None), None)
    view = analysis.view
    # no person (or too little pose) to measure: say so, in the warning's words, not "0 reps · view unknown"
    nothing = insufficient_headline(analysis.warnings) if not analysis.pulls else ""
    meta = [
        f"{analysis.lift}",
        *(
            [nothing]
            if nothing
            else [
                counted(len(analysis.reps), "rep")
                + (f" (+{partial_note(analysis)})" if analysis.partial_pulls else ""),
                f"{view.view} view ({view.side} side facing the camera)" if view else "view unknown",
            ]
        ),
        f"{info.width_px}×{info.height_px}, {info.fps:.1f} fps, {info.duration_s:.1f} s",
    ]
    moments_by_pull = pull_moments(analysis)
    windows = {(m.rep, m.metric): m.where for m in metric_readings(analysis) if not m.at_one_frame}
    out: list[str] = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>formcheck: {_e(name)}</title><style>{_CSS}</style></head><body><main>",
        f"<h1>Form check: {_e(name)}</h1>",
        f'<p class="meta">{_e(" · ".join(meta))}'
        + (f" · overall {_verdict_badge(set_verdict.label)}" if set_verdict else "")
        + (f" ({_e(no_rep_note(analysis))})" if set_verdict and no_rep_note(analysis) else "")
        + "</p>",
        _NOTE,
        "<h2>Cues</h2>",
        _cues_html(cues, outputs.stills, moments_by_pull, windows),
    ]
    if analysis.warnings:
        out.append(
            "<h2>Warnings</h2><ul>" + "".join(f"<li>{_e(w)}</li>" for w in analysis.warnings) + "</ul>"
        )
    if analysis.rule_errors:
        out.append(
            '<p class="warn">Some rules were skipped because they failed: '
            + ", ".join(_e(f"{e.rule_id} ({e.error})") for e in analysis.rule_errors)
            + "</p>"
        )

    clip_src = None
    if outputs.clip is not None and outputs.clip.path.is_file():
        clip_src = _data_uri(outputs.clip.path, "video/mp4") if embed_clip else outputs.clip.path.name
    out.append("<h2>Whole clip</h2>")
    if clip_src:
        out.append(
            _video(
                clip_src, "Annotated clip: skeleton, live angles, cues captioned at their moments.", "clip"
            )
        )
    if outputs.curves is not None:
        out.append(
            pics.img(
                outputs.curves,
                "Angle curves of the whole clip",
                "Angles over time (smoothed; raw faint behind). Shaded: reps. Dashed horizontal: rule limits.",
            )
        )
    if outputs.curves_raw is not None and outputs.curves_raw in pics.embedded:
        out.append(
            "<details><summary>Raw (unsmoothed) angles</summary>"
            + pics.img(outputs.curves_raw, "Raw angle curves", "Raw angles, no filtering or gap filling.")
            + "</details>"
        )
    more = [pics.link(outputs.curves, "angle curves"), pics.link(outputs.curves_raw, "raw angle curves")]
    more += [pics.link(s.path, s.title, _anchor(s)) for s in outputs.stills if s.rep is None]
    out.append(_more(more))
    loose = [f for f in analysis.findings if f.rep is None]
    if loose:
        out.append(
            "<h3>Findings for the whole set</h3>"
            + _findings_list(loose, outputs.stills, moments_by_pull, windows)
        )

    for rep in analysis.pulls:  # complete reps, then partial pulls ("Partial pull 1 (never reached lockout)")
        verdict = next((v for v in analysis.verdicts if v.rep == rep.number), None)
        badge = f" {_verdict_badge(verdict.label)}" if verdict else ""
        name = analysis.pull_label(rep.number).capitalize()
        heading = _e(pull_heading(analysis, rep).capitalize())
        out.append(f'<section id="rep-{rep.number}"><h2>{heading}{badge}</h2>')
        if not rep.complete:
            out.append(f"<p>Not counted as a rep: {_e(rep.partial_reason)}.</p>")
        mine = [f for f in analysis.findings if f.rep == rep.number]
        out.append(_findings_list(mine, outputs.stills, moments_by_pull, windows))
        out.append('<h3>Key moments and findings</h3><div class="grid">')
        for s in outputs.stills:
            if s.rep == rep.number:
                out.append(pics.img(s.path, s.title, "", _anchor(s)))
        out.append("</div>")
        out.append('<div class="grid">')
        bar = next((b for b in outputs.bar_paths if b.rep == rep.number), None)
        if bar is not None:
            out.append(
                pics.img(
                    bar.path,
                    f"{name} bar path",
                    bar_path_caption(rep),
                )
            )
        if rep.number in outputs.rep_curves:
            out.append(
                pics.img(
                    outputs.rep_curves[rep.number],
                    f"{name} angle curves",
                    f"Angles during this {'rep' if rep.complete else 'pull'} with its key moments.",
                )
            )
        out.append("</div>")
        more = [
            pics.link(s.path, s.title.split(" · ")[1] if " · " in s.title else s.title, _anchor(s))
            for s in outputs.stills
            if s.rep == rep.number
        ]
        more += [
            pics.link(bar.path if bar else None, "bar path"),
            pics.link(outputs.rep_curves.get(rep.number), "angle curves"),
        ]
        out.append(_more(more))
        if clip_src and not embed_clip:
            moments = list(rep.moments.values())
            if moments:
                t0 = max(0.0, min(m.time_s for m in moments) - 0.5)
                t1 = max(m.time_s for m in moments) + 1.0
                out.append(_video(f"{clip_src}#t={t0:.2f},{t1:.2f}", f"{name} ({t0:.1f}–{t1:.1f} s)"))
        out.append("</section>")

    body = analysis.body
    how = [
        f"formcheck {__version__}",
        f"pose model {analysis.pose.model_id} ({analysis.pose.running_mode} mode)",
        f"sampled at {analysis.pose.sample_fps or info.fps:g} fps",
    ]
    if body is not None:
        how.append(body.filter_note)
    how.append(f"generated {_dt.datetime.now().strftime('%Y-%m-%d %H:%M')}")
    if clip_src and not embed_clip:
        how.append(f"the clip is the file {CLIP_NAME} next to this page")
    out.append(f"<footer>{_e(' · '.join(how))}</footer></main></body></html>")
    return "\n".join(p for p in out if p)


def write_report(
    analysis: Analysis,
    cues: Sequence[Cue],
    out_dir: str | Path,
    *,
    clip: bool = True,
    embed_clip: bool = False,
    worker: RenderWorker | None = None,
) -> Path:
    """Render all pictures into ``out_dir`` and write ``out_dir/index.html``; returns its path.

    ``cues``: the cues to show first (from the deterministic coach or the LLM; the caller
    decides). ``clip``: also write the annotated clip ``annotated.mp4`` (the slow part).
    ``embed_clip``: put the clip inside the page as well (one file to send, but larger).
    ``worker``: a render worker started earlier (:func:`~.outputs.start_render_worker`; left open).
    """
    out = Path(out_dir)
    outputs = render_all(analysis, cues, out, clip=clip, worker=worker)
    path = out / REPORT_NAME
    path.write_text(render_html(analysis, cues, outputs, embed_clip=embed_clip), encoding="utf-8")
    return path
