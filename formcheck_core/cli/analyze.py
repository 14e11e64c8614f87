"""``formcheck analyze VIDEO``: analyse a clip, print a per-rep summary and write the report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..config import DEFAULT_FPS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("video", type=Path, help="the clip to analyse (mp4, mov, ...)")
    parser.add_argument(
        "--out",
        type=Path,
        help="folder for the report; its previous formcheck outputs are replaced, other files are "
        "kept, and a folder holding an index.html, plots/, ... that formcheck did not write is refused "
        "(default: ./formcheck-out/<clip name>-<6 hex of the clip's path>)",
    )
    add_analysis_options(parser)
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the analysis as JSON instead of the summary: the same document as "
        "analysis.json, cues included",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--no-report", action="store_true", help="write only analysis.json and summary.txt")
    parser.add_argument(
        "--no-clip", action="store_true", help="skip the annotated video in the report (much faster)"
    )
    parser.add_argument(
        "--embed-clip", action="store_true", help="put the annotated video inside index.html too"
    )
    from ..llm.cli_options import add_llm_arguments

    add_llm_arguments(parser)


def add_analysis_options(parser: argparse.ArgumentParser) -> None:
    """The options that decide what is measured (shared with ``formcheck batch``): sampling, pose
    model, lifter height, cache, thresholds and plugins. Read them back with :func:`analysis_options`."""
    parser.add_argument(
        "--fps",
        type=float,
        default=DEFAULT_FPS,
        help=f"frames per second to analyse (default {DEFAULT_FPS:g}; 0 = every frame)",
    )
    parser.add_argument(
        "--mode",
        choices=("video", "image"),
        default="video",
        help="pose running mode: video tracks between frames (default), image detects every frame",
    )
    parser.add_argument(
        "--people",
        type=int,
        default=1,
        metavar="N",
        help="people to look for; 2 reports bystanders (slower). The largest person is analysed",
    )
    parser.add_argument("--pose-model", help="pose model: lite/full/heavy or a path to a .task file")
    parser.add_argument("--height-cm", type=float, help="lifter's height in cm, to report bar drift in cm")
    parser.add_argument("--no-cache", action="store_true", help="recompute the pose even if it is cached")
    from .rules import add_rule_options

    add_rule_options(parser)


def analysis_options(args: argparse.Namespace) -> dict:
    """Keyword arguments for :func:`formcheck_core.analyze` from :func:`add_analysis_options`'s options
    (numbers range-checked and thresholds resolved here: a bad value raises before any clip is read)."""
    from ..validate import check_fps, check_height_cm, check_people
    from .rules import thresholds_from_args

    return dict(
        fps=check_fps(args.fps),
        running_mode=args.mode,
        num_poses=check_people(args.people),
        pose_model=args.pose_model,
        height_cm=check_height_cm(args.height_cm),
        thresholds=thresholds_from_args(args),
        cache=not args.no_cache,
    )


def run(args: argparse.Namespace) -> int:
    from ..llm.cli_options import llm_config_from_args
    from ..outdir import check_out_dir, default_out_dir, missing_dirs, remove_unused

    # everything the user gave is checked before any pose work
    options = analysis_options(args)
    config = llm_config_from_args(args)
    out = args.out or default_out_dir(args.video)
    created = missing_dirs(out)
    try:
        return _run_with_worker(args, options, config, check_out_dir(out, args.video))
    except BaseException:  # a bad clip, Ctrl-C, ...: no empty report folder is left behind
        remove_unused(created)
        raise


def _run_with_worker(args: argparse.Namespace, options: dict, config, out: Path) -> int:
    """:func:`_run` with the render worker started once the pose is known, and closed after."""
    workers: list = []  # the render worker, once started

    def start_worker() -> None:
        """Started once the pose is known: its start-up (imports, warm-up: about 0.7 CPU s) then
        runs beside the rest of the analysis, which leaves a core idle, not beside the pose pass,
        which keeps both busy."""
        from ..render.outputs import start_render_worker

        if not workers:
            workers.append(start_render_worker())

    try:
        code = _run(args, options, config, out, workers, None if args.no_report else start_worker)
    except BaseException:
        for worker in filter(None, workers):
            worker.close(kill=True)  # it may still be warming up: do not wait for it
        raise
    for worker in filter(None, workers):  # every job it ran has returned (files written): nothing to wait for
        worker.close(kill=True)
    return code


def _run(args: argparse.Namespace, options: dict, config, out: Path, workers: list, on_pose) -> int:
    """:func:`run` after the checks: analyse (calling ``on_pose`` once the pose is known), print,
    coach and write the outputs (with the render worker in ``workers``, if one was started)."""
    from ..analysis import analyze

    analysis = analyze(args.video, **options, progress=not args.quiet, on_pose=on_pose)
    worker = workers[0] if workers else None
    from ..export import to_json
    from ..pulls import partial_note
    from ..render.summary import format_summary

    if not args.json:  # --json prints the whole document, cues included, once they are known
        print(format_summary(analysis), flush=True)
    llm = config is not None and analysis.ok
    cues, notes = rule_coaching(analysis, live=not args.json and not llm)
    # written before any coaching starts, so an LLM failure cannot lose them (with an LLM the
    # clip is rendered once, with the final cues); without a model file to load, the LLM step
    # only falls back to these cues, so the report is rendered once, after it
    if not llm or _llm_may_run(config):
        report = write_outputs(
            analysis, cues, notes, out, args, clip=not args.no_clip and not llm, quiet=llm, worker=worker
        )
    if llm:
        cues, notes = llm_coaching(analysis, config, live=not args.json)
        report = write_outputs(analysis, cues, notes, out, args, clip=not args.no_clip, worker=worker)
    if args.json:  # the same document as analysis.json: the analysis with its cues and their source
        print(to_json(analysis, cues=cues, coaching=notes), flush=True)
    print(f"report: {report}", file=sys.stderr if args.json else sys.stdout)
    if not analysis.ok:
        more = (
            f" ({partial_note(analysis)}: judged above)"
            if analysis.partial_pulls
            else " (see warnings above)"
        )
        print(f"formcheck: no complete rep was measured{more}", file=sys.stderr)
        return 1
    return 0


def _llm_may_run(config) -> bool:
    """Whether the LLM step may load a model: its file is there, or a model was named and may be
    downloaded (the implicit recommended model is never downloaded unasked)."""
    from ..errors import FormcheckError
    from ..models.llm_model import resolve_llm_model

    try:
        resolve_llm_model(config.model, download=False)
    except FormcheckError:
        return bool(config.download and config.model not in (None, ""))
    return True


def write_outputs(
    analysis,
    cues,
    notes: list[str],
    out: Path,
    args: argparse.Namespace,
    *,
    clip: bool,
    quiet: bool = False,
    worker=None,
) -> str:
    """analysis.json, summary.txt and (unless --no-report) the HTML report, replacing ``out``'s
    previous formcheck outputs atomically. Returns where the report is, for the user.
    ``worker``: a render worker started earlier (left open)."""
    from ..export import write_json
    from ..outdir import staged_output
    from ..render.summary import format_summary

    with staged_output(out) as stage:
        write_json(analysis, stage / "analysis.json", cues=cues, coaching=notes)  # with the cues' sources
        (stage / "summary.txt").write_text(format_summary(analysis, cues) + "\n" + "\n".join(notes) + "\n")
        if not args.no_report:
            from ..render.report import REPORT_NAME, write_report

            if not (args.quiet or args.json or quiet):
                print(
                    "\nrendering the report (stills, curves, bar path"
                    + (", annotated clip" if clip else "")
                    + ")...",
                    flush=True,
                )
            write_report(analysis, cues, stage, clip=clip, embed_clip=args.embed_clip, worker=worker)
    if args.no_report:
        return f"{out}/ (analysis.json, summary.txt)"
    return str(out / REPORT_NAME)


def rule_coaching(analysis, *, live: bool) -> tuple[tuple, list[str]]:
    """The deterministic cues (printed when ``live``) and the line saying where they came from."""
    from ..coach import deterministic_cues

    cues = deterministic_cues(analysis)
    if live and cues:
        from ..llm.live import format_cue

        print("\ncoaching cues (rules):")
        for i, cue in enumerate(cues, 1):
            print("  " + format_cue(cue, i))
    return tuple(cues), ["Cues from the rules (no LLM)."]


def llm_coaching(analysis, config, *, live: bool) -> tuple[tuple, list[str]]:
    """The LLM's checked cues, generated in a child process (a llama.cpp abort costs only them)."""
    if live:
        from ..llm import print_cues_live

        if _llm_may_run(config):  # say "asking" only when a model may load (the child reports any trouble)
            print("\nasking the LLM (the report written so far has the rule cues)...", flush=True)
        result = print_cues_live(analysis, config, isolated=True)
    else:
        from ..llm import llm_cues

        result = llm_cues(analysis, config, isolated=True)
    return tuple(result.cues), result.report_lines()
