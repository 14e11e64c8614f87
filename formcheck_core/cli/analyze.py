"""``formcheck analyze VIDEO``: analyse a clip, print a per-rep summary and write the report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..config import DEFAULT_FPS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("video", type=Path, help="the clip to analyse (mp4, mov, ...)")
    parser.add_argument("--out", type=Path, help="folder for the report (default: ./formcheck-out/<clip name>)")
    add_analysis_options(parser)
    parser.add_argument("--json", action="store_true", help="print the analysis as JSON instead of the summary")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--no-report", action="store_true", help="write only analysis.json and summary.txt")
    parser.add_argument("--no-clip", action="store_true", help="skip the annotated video in the report (much faster)")
    parser.add_argument("--embed-clip", action="store_true", help="put the annotated video inside index.html too")
    # fmt: skip
    from ..llm.cli_options import add_llm_arguments

    add_llm_arguments(parser)


def add_analysis_options(parser: argparse.ArgumentParser) -> None:
    """The options that decide what is measured (shared with ``formcheck batch``): sampling, pose
    model, lifter height, cache, thresholds and plugins. Read them back with :func:`analysis_options`."""
    parser.add_argument("--fps", type=float, default=DEFAULT_FPS,
                        help=f"frames per second to analyse (default {DEFAULT_FPS:g}; 0 = every frame)")
    parser.add_argument("--mode", choices=("video", "image"), default="video",
                        help="pose running mode: video tracks between frames (default), image detects every frame")
    parser.add_argument("--people", type=int, default=1, metavar="N",
                        help="people to look for; 2 reports bystanders (slower). The largest person is analysed")
    parser.add_argument("--pose-model", help="pose model: lite/full/heavy or a path to a .task file")
    parser.add_argument("--height-cm", type=float, help="lifter's height in cm, to report bar drift in cm")
    parser.add_argument("--no-cache", action="store_true", help="recompute the pose even if it is cached")
    # fmt: skip
    from .rules import add_rule_options

    add_rule_options(parser)


def analysis_options(args: argparse.Namespace) -> dict:
    """Keyword arguments for :func:`formcheck_core.analyze` from :func:`add_analysis_options`'s options
    (thresholds resolved and validated here: a bad threshold raises before any clip is read)."""
    from .rules import thresholds_from_args

    return dict(
        fps=args.fps or None,
        running_mode=args.mode,
        num_poses=args.people,
        pose_model=args.pose_model,
        height_cm=args.height_cm,
        thresholds=thresholds_from_args(args),
        cache=not args.no_cache,
    )


def run(args: argparse.Namespace) -> int:
    from ..analysis import analyze
    from ..export import to_json, write_json
    from ..summary import format_summary

    analysis = analyze(args.video, **analysis_options(args), progress=not args.quiet)
    out = args.out or Path("formcheck-out") / Path(args.video).stem
    write_json(analysis, out / "analysis.json")
    if args.json:
        print(to_json(analysis))
    else:
        print(format_summary(analysis), flush=True)
    cues, coaching_notes = coach(analysis, args, live=not args.json)
    (out / "summary.txt").write_text(format_summary(analysis, cues) + "\n" + "\n".join(coaching_notes) + "\n")
    write_json(analysis, out / "analysis.json", cues=cues, coaching=coaching_notes)  # now with the cues' sources
    if not args.no_report:
        from ..report import write_report

        if not args.quiet and not args.json:
            print("\nrendering the report (stills, curves, bar path" + ("" if args.no_clip else ", annotated clip") + ")...",
                  flush=True)  # fmt: skip
        report = write_report(analysis, cues, out, clip=not args.no_clip, embed_clip=args.embed_clip)
        where = f"report: {report}"
    else:
        where = f"report: {out}/ (analysis.json, summary.txt)"
    print(where, file=sys.stderr if args.json else sys.stdout)
    if not analysis.ok:
        print("formcheck: no usable lift was measured (see warnings above)", file=sys.stderr)
        return 1
    return 0


def coach(analysis, args: argparse.Namespace, *, live: bool) -> tuple[tuple, list[str]]:
    """Cues for ``analysis``: the LLM's (checked) when one is configured, else the rules'.

    ``live``: print cues to the terminal as they are generated. Returns the cues and the lines
    saying where they came from (and what the grounding check dropped).
    """
    from ..coach import deterministic_cues
    from ..llm.cli_options import llm_config_from_args

    config = llm_config_from_args(args)
    if config is None or not analysis.ok:
        cues = deterministic_cues(analysis)
        if live and cues:
            from ..llm.live import format_cue

            print("\ncoaching cues (rules):")
            for i, cue in enumerate(cues, 1):
                print("  " + format_cue(cue, i))
        return cues, ["Cues from the rules (no LLM)."]
    if live:
        from ..llm import print_cues_live

        result = print_cues_live(analysis, config)
    else:
        from ..llm import llm_cues

        result = llm_cues(analysis, config)
    return tuple(result.cues), result.report_lines()
