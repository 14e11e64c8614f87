"""Show cues while the model writes them: a terminal printer (spinner + checked cues) and a
notebook display (a list that grows as each checked cue arrives). Only checked cues are shown;
the raw token stream drives the spinner only.
"""

from __future__ import annotations

import html
import sys
import time
from typing import IO, Any

from ..cues import Cue
from .coaching import TEST_MODEL_LABEL, CoachingResult, llm_cues
from .settings import LLMConfig

_SPIN = "|/-\\"


def format_cue(cue: Cue, number: int | None = None) -> str:
    """One line: ``1. text — why`` plus where it is from (rep, rule) and the test-model label;
    ``1. [note] text — why`` for a cue on a fault the verdict does not count."""
    head = f"{number}. " if number is not None else "• "
    head += f"[{cue.role_tag}] " if cue.role_tag else ""  # a cue on a fault the verdict does not count
    where = ", ".join(x for x in (cue.where, cue.rule_title) if x)  # the rule by its title
    label = f" [{TEST_MODEL_LABEL}]" if cue.source == "test-model" else ""
    source = f" [from: {cue.source_detail}]" if cue.source_detail else ""
    return f"{head}{cue.text} — {cue.why}" + (f" ({where})" if where else "") + label + source


def print_cues_live(
    analysis,
    config: LLMConfig | None = None,
    *,
    out: IO[str] | None = None,
    err: IO[str] | None = None,
    engine=None,
    isolated: bool = False,
) -> CoachingResult:
    """Coach ``analysis`` with the LLM, printing each checked cue to ``out`` as it completes and a
    spinner with the token count to ``err`` (only when ``err`` is a terminal). Ends with the cue
    source, the fallback reason or the dropped cues. ``isolated``: generate in a child process
    (see :func:`~formcheck_core.llm.coaching.llm_cues`). Returns the :class:`CoachingResult`."""
    out = out or sys.stdout
    err = err or sys.stderr
    tty = hasattr(err, "isatty") and err.isatty()
    state: dict[str, Any] = {"tokens": 0, "last": 0.0, "shown": 0, "header": False}

    def clear() -> None:
        if tty and state["last"]:
            err.write("\r\033[K")
            err.flush()

    def header() -> None:
        if not state["header"]:
            print("\ncoaching cues (LLM, checked against the measurements):", file=out)
            state["header"] = True

    def on_token(_piece: str) -> None:
        state["tokens"] += 1
        now = time.monotonic()
        if tty and now - state["last"] > 0.1:
            err.write(f"\r{_SPIN[state['tokens'] % 4]} LLM writing… {state['tokens']} tokens")
            err.flush()
            state["last"] = now

    def on_cue(cue: Cue) -> None:
        clear()
        header()
        state["shown"] += 1
        print("  " + format_cue(cue, state["shown"]), file=out, flush=True)

    if tty:
        err.write("… loading the LLM\r")
        err.flush()
    result = llm_cues(analysis, config, on_token=on_token, on_cue=on_cue, engine=engine, isolated=isolated)
    clear()
    for w in result.withdrawn:  # shown above while streaming: say plainly it no longer stands
        print(f"  ✗ withdrawn: {w.cue.text} ({w.reason})", file=out)
    if result.source == "rules":
        print(f"\ncoaching cues (rules; LLM not used: {result.fallback_reason}):", file=out)
        for i, cue in enumerate(result.cues, 1):
            print("  " + format_cue(cue, i), file=out)
        if not result.cues:
            print("  none: no fault to cue", file=out)
    else:
        header()
        streamed = 0 if result.withdrawn else state["shown"]
        if result.withdrawn:
            print("  final cues:", file=out)
        for i, cue in enumerate(result.cues[streamed:], streamed + 1):
            print("  " + format_cue(cue, i), file=out)
        if result.label:
            print(f"  [{result.label}: the tiny test model's text is not coaching]", file=out)
    for line in result.report_lines()[1:]:
        if not line.startswith("withdrawn: "):
            print("  " + line, file=out)
    out.flush()
    return result


def _html(result_cues: list[Cue], status: str, extra: list[str]) -> str:
    items = "".join(f"<li>{html.escape(format_cue(c)[2:])}</li>" for c in result_cues)
    notes = "".join(f"<div style='color:#666'>{html.escape(x)}</div>" for x in extra)
    return f"<div><b>Coaching cues</b> <span style='color:#666'>{html.escape(status)}</span><ol>{items}</ol>{notes}</div>"


def show_cues_live(
    analysis, config: LLMConfig | None = None, *, engine=None, isolated: bool | None = None
) -> CoachingResult:
    """Notebook version: a display that grows by one checked cue at a time, then the final list.
    ``isolated`` (default: True unless ``engine`` is given): generate in a child process, so a
    llama.cpp abort costs the LLM's cues, not the kernel."""
    from IPython.display import HTML, display

    shown: list[Cue] = []
    handle = display(HTML(_html([], "(LLM loading…)", [])), display_id=True)
    tokens = [0]

    def on_token(_piece: str) -> None:
        tokens[0] += 1
        if tokens[0] % 20 == 0 and handle is not None:
            handle.update(HTML(_html(shown, f"(LLM writing… {tokens[0]} tokens)", [])))

    def on_cue(cue: Cue) -> None:
        shown.append(cue)
        if handle is not None:
            handle.update(HTML(_html(shown, f"(LLM writing… {tokens[0]} tokens)", [])))

    isolated = engine is None if isolated is None else isolated
    result = llm_cues(analysis, config, on_token=on_token, on_cue=on_cue, engine=engine, isolated=isolated)
    lines = result.report_lines()
    status = f"({result.label})" if result.label else f"({lines[0]})"
    if handle is not None:
        handle.update(HTML(_html(list(result.cues), status, lines[1:] if not result.label else lines)))
    return result
