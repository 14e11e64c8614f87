"""The coaching panel: run the configured LLM in this process and watch checked cues arrive.

Press **Coach** (or call :meth:`CoachingPanel.run`): the model is loaded once per process, its
answer streams in, and each cue appears as soon as it has passed the schema and the grounding
check (:func:`formcheck_core.llm.coaching.llm_cues`); raw model text is never shown. Afterwards
the panel lists what the grounding check dropped and why. Without a usable model (none
configured, llama-cpp-python missing, a corrupt file, a timeout) it shows the rule cues with the
one-line reason. Output of the tiny test model is labelled "test model — not advice".
"""

from __future__ import annotations

import html
import re
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..analysis import Analysis
from ..coach import deterministic_cues
from ..cues import Cue
from ..llm.provenance import model_label
from ._ipywidgets import widgets

if TYPE_CHECKING:
    from ..llm.coaching import CoachingResult

TEST_MODEL_LABEL = "test model — not advice"
_SOURCE_NOTE = {"llm": "LLM, grounding-checked", "test-model": TEST_MODEL_LABEL, "rules": "rules"}


def _cue_html(cue: Cue, number: int) -> str:
    where = ", ".join(
        x
        for x in (
            cue.where,
            cue.rule_title,
            f"frame {cue.frame_index}" if cue.frame_index is not None else "",
        )
        if x
    )
    tag = cue.source_detail or _SOURCE_NOTE.get(cue.source, cue.source)
    colour = "#c92a2a" if cue.source == "test-model" else "#666"
    check = "✓ " if cue.source in ("llm", "test-model") else ""
    return (
        f"<li class='fc-cue' data-source='{html.escape(cue.source)}' data-rule='{html.escape(cue.rule_id or '')}' "
        f"value='{number}' data-role='{html.escape(cue.role)}'>"
        + (f"<i>{html.escape(cue.role_tag)}:</i> " if cue.role_tag else "")
        + f"<b>{html.escape(cue.text)}</b><br><span style='font-size:90%;color:#444'>"
        f"{html.escape(cue.why)}</span><br><span style='font-size:85%;color:{colour}'>{check}{html.escape(tag)}"
        f"{' · ' + html.escape(where) if where else ''}</span></li>"
    )


#: The command line's LLM options in a reason, as the panel says them: its ``model=`` argument (the
#: notebooks' ``LLM_MODEL``), its "use the LLM" box, and the ``LLMConfig`` field an option sets.
_PANEL_WORDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"`?--llm-model (\S+?)`?(?=[\s,.;)]|$)"), r'model="\1"'),
    (re.compile(r"`?--no-llm`?"), 'untick "use the LLM"'),
    (re.compile(r"`?--llm-timeout`?"), "config.timeout_s"),
    (re.compile(r"`?--llm-ctx`?"), "config.n_ctx"),
)


def panel_words(reason: str) -> str:
    """``reason`` (written for the command line) with its LLM options said as in the panel."""
    for pattern, words in _PANEL_WORDS:
        reason = pattern.sub(words, reason)
    return reason


def _withdrawn_html(result) -> str:
    """Cues shown while streaming that the final answer withdrew: struck through, with the reason."""
    items = "".join(
        f"<li class='fc-withdrawn'><s>{html.escape(w.cue.text)}</s><br><span style='font-size:85%;color:#c92a2a'>"
        f"withdrawn: {html.escape(w.reason)}</span></li>"
        for w in getattr(result, "withdrawn", ())
    )
    return f"<ul class='fc-withdrawn-list' style='color:#999'>{items}</ul>" if items else ""


class CoachingPanel:
    """Coaching cues for one analysis, from the in-process LLM or the rules (display it in a notebook).

    ``config``: an :class:`~formcheck_core.llm.settings.LLMConfig` (default: environment and
    config file, see :func:`~formcheck_core.llm.settings.load_config`); ``model`` is a shortcut for
    ``config.model`` (a ``.gguf`` path, ``"test"``, ``"recommended"``). ``use_llm=False`` shows
    the rule cues only. ``engine``: an already loaded engine to reuse (in this process).
    ``isolated`` (default: True unless ``engine`` is given): load the model and generate in a
    child process, so a native abort in llama.cpp costs the LLM's cues, not the kernel (the model
    is loaded again on each run).
    """

    def __init__(
        self,
        analysis: Analysis,
        config=None,
        *,
        model: str | None = None,
        use_llm: bool = True,
        engine=None,
        isolated: bool | None = None,
    ) -> None:
        from ..llm.settings import load_config, with_options

        self.analysis = analysis
        self.config = with_options(config, model=model) if config is not None else load_config(model=model)
        self.engine = engine
        self.isolated = engine is None if isolated is None else isolated
        self.result: CoachingResult | None = None
        self.streamed: list[Cue] = []
        self.tokens = 0
        self.time_to_first_cue_s: float | None = None
        self.total_s: float | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._build_widgets(use_llm)

    def _build_widgets(self, use_llm: bool) -> None:
        name = Path(self.analysis.video.path).name
        model = self.config.model or "recommended"
        self.header = widgets.HTML(
            f"<b>Coaching</b> · {html.escape(name)} · model: <code>{html.escape(str(model))}</code>"
        )
        self.use_llm = widgets.Checkbox(
            value=use_llm,
            description="use the LLM",
            indent=False,
            layout=widgets.Layout(width="130px", flex="0 0 auto"),
        )
        self.use_llm.add_class("fc-use-llm")
        # never shrunk by a long status line beside it (it read "Co…")
        self.button = widgets.Button(
            description="Coach",
            button_style="primary",
            icon="comment",
            layout=widgets.Layout(width="auto", flex="0 0 auto"),
        )
        self.button.add_class("fc-coach-run")
        self.button.on_click(lambda _b: self.run(block=False))
        self.status = widgets.HTML(
            "<span style='color:#666'>press Coach</span>",
            layout=widgets.Layout(flex="1 1 auto", min_width="0"),
        )
        self.status.add_class("fc-coach-status")
        self.cues = widgets.HTML()
        self.cues.add_class("fc-coach-cues")
        self.grounding = widgets.HTML()
        self.grounding.add_class("fc-grounding")
        self.widget = widgets.VBox(
            [
                self.header,
                widgets.HBox(
                    [self.button, self.use_llm, self.status], layout=widgets.Layout(align_items="center")
                ),
                self.cues,
                self.grounding,
            ]
        )
        self.widget.add_class("formcheck-coaching")

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    # -- running -------------------------------------------------------------------------------
    def run(self, block: bool = True):
        """Coach now; with ``block`` wait and return the :class:`~formcheck_core.llm.coaching.CoachingResult`.

        From the button it runs on a background thread so the notebook stays responsive; a second
        press while it runs is ignored.
        """
        if not self._lock.acquire(blocking=False):
            return None
        self.button.disabled = True
        if block:
            try:
                return self._run()
            finally:
                self._done()
        self._thread = threading.Thread(target=self._run_then_release, name="formcheck-coach", daemon=True)
        self._thread.start()
        return None

    def wait(self, timeout_s: float | None = None):
        """Wait for a background run to finish; returns the result (None if still running)."""
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                return None
        return self.result

    def _run_then_release(self) -> None:
        try:
            self._run()
        except Exception as exc:
            self.status.value = f"<span style='color:#c92a2a'>failed: {html.escape(type(exc).__name__)}: {html.escape(str(exc))}</span>"
        finally:
            self._done()

    def _done(self) -> None:
        self.button.disabled = False
        self._lock.release()

    def _run(self):
        self.streamed, self.tokens = [], 0
        self.time_to_first_cue_s = self.total_s = None
        self.cues.value = self.grounding.value = ""
        t0 = time.perf_counter()
        if not self.use_llm.value:
            from ..llm.coaching import CoachingResult

            result = CoachingResult(
                cues=deterministic_cues(self.analysis, max_cues=self.config.max_cues),
                source="rules",
                fallback_reason="LLM switched off",
            )
        else:
            from ..llm.coaching import llm_cues

            self.status.value = "<span style='color:#666'>loading the model…</span>"
            last = [0.0]

            def on_token(_piece: str) -> None:
                self.tokens += 1
                now = time.perf_counter()
                if now - last[0] > 0.25:  # progress only: unchecked text is never shown
                    last[0] = now
                    self.status.value = f"<span style='color:#666'>writing… {self.tokens} tokens</span>"

            def on_cue(cue: Cue) -> None:
                if self.time_to_first_cue_s is None:
                    self.time_to_first_cue_s = time.perf_counter() - t0
                self.streamed.append(cue)
                self.cues.value = self._cues_html(self.streamed, live=True)

            result = llm_cues(
                self.analysis,
                self.config,
                on_token=on_token,
                on_cue=on_cue,
                engine=self.engine,
                isolated=self.isolated,
            )
        self.total_s = time.perf_counter() - t0
        self.result = result
        self.cues.value = self._cues_html(
            list(result.cues), live=False, label=result.label
        ) + _withdrawn_html(result)
        self.grounding.value = self._grounding_html(result)
        self.status.value = self._status_html(result)
        return result

    # -- text ----------------------------------------------------------------------------------
    def _cues_html(self, cues: list[Cue], *, live: bool, label: str = "") -> str:
        items = "".join(_cue_html(c, i) for i, c in enumerate(cues, 1))
        banner = (
            (
                f"<div class='fc-test-model' style='color:#c92a2a;font-weight:bold'>{html.escape(label)}: "
                "the tiny test model's text is not coaching</div>"
            )
            if label
            else ""
        )
        more = "<li style='color:#999;list-style:none'>…</li>" if live else ""
        return f"{banner}<ol class='fc-cue-list' data-live='{str(live).lower()}'>{items}{more}</ol>"

    def _status_html(self, result) -> str:
        if result.source == "rules":
            why = panel_words(result.fallback_reason or "LLM not used")
            return (
                f"<span class='fc-source' data-source='rules'>Cues from the rules — {html.escape(why)}</span>"
            )
        first = (
            f", first cue after {self.time_to_first_cue_s:.1f} s"
            if self.time_to_first_cue_s is not None
            else ""
        )
        return (
            f"<span class='fc-source' data-source='{html.escape(result.source)}'>Cues from the "
            f"{html.escape(model_label(result.model_name, result.quantization, result.source == 'test-model'))} "
            f"in {self.total_s:.1f} s{first}, "
            f"{self.tokens} tokens</span>"
        )

    def _grounding_html(self, result) -> str:
        shown_llm = sum(c.source in ("llm", "test-model") for c in result.cues)
        lines = []
        if result.source != "rules":
            lines.append(
                f"<b>Grounding check:</b> {shown_llm} model cue(s) shown — every number they cite matches "
                "a measured value of this clip."
            )
        elif result.rejected:
            lines.append("<b>Grounding check:</b> no model cue passed, so the rule cues are shown.")
        else:
            lines.append("<b>Grounding check:</b> not needed — rule cues quote the measurements directly.")
        if result.rejected:
            items = "".join(
                f"<li class='fc-rejected'>{html.escape(r.text)}<br><span style='color:#c92a2a;font-size:90%'>"
                f"{html.escape('; '.join(f'{i.kind}: {i.detail}' for i in r.issues))}</span></li>"
                for r in result.rejected
            )
            lines.append(
                f"<details><summary>{len(result.rejected)} model cue(s) dropped</summary><ul>{items}</ul></details>"
            )
        lines += [f"<div style='color:#666'>{html.escape(n)}</div>" for n in result.notes]
        return "<div class='fc-grounding-text'>" + "".join(lines) + "</div>"
