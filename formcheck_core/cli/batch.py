"""``formcheck batch PATH...``: analyse many clips into tidy tables, on local cores or a Dask cluster."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from .analyze import add_analysis_options

    parser.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="clips, folders (searched recursively for video files) or glob patterns",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("formcheck-batch"),
        help="folder for the tables and per-clip results (default: ./formcheck-batch)",
    )
    add_analysis_options(parser)
    run = parser.add_argument_group("running")
    run.add_argument(
        "--workers", type=int, metavar="N", help="local worker processes (default: the number of cores)"
    )
    run.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on an existing Dask cluster, e.g. tcp://host:8786 (see docs/batch.md)",
    )
    run.add_argument(
        "--report",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="also render each clip's HTML report (stills, curves; no annotated clip) "
        "into OUT/clips/<clip>/ (default: --no-report)",
    )
    run.add_argument(
        "--rerun", action="store_true", help="analyse every clip again, even those already finished in --out"
    )
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument(
        "--labels",
        type=Path,
        metavar="JSON",
        help="ground truth (labels_dev.json format): adds the labels and rule_scores tables "
        "(per-rule sensitivity, specificity, balanced accuracy)",
    )


def run(args: argparse.Namespace) -> int:
    from ..batch.options import ClipOptions
    from ..batch.runner import run_batch
    from ..validate import check_scheduler
    from ..vocabulary import CLIP_STATUS_WORDS, CLIP_STATUSES, PARTIAL_PULL, counted
    from .analyze import analysis_options

    scheduler = check_scheduler(args.scheduler)  # with the other checks, before any clip runs
    options = ClipOptions.from_analyze_kwargs(analysis_options(args), plugins=args.plugins)
    try:
        ds = run_batch(
            args.paths,
            args.out,
            options=options,
            workers=args.workers,
            scheduler=scheduler,
            report=args.report,
            rerun=args.rerun,
            progress=not args.quiet,
            notes=lambda msg: print(f"formcheck: {msg}", file=sys.stderr),
            labels=args.labels,
        )
    except KeyboardInterrupt:
        print(
            f"formcheck: interrupted; the finished clips are in {args.out} (tables written from them); "
            "run the same command again to continue",
            file=sys.stderr,
        )
        return 130
    counts = ds.clips["status"].value_counts()
    failed = int(counts.get("error", 0))
    said = ", ".join(
        f"{int(counts.get(s, 0))} {CLIP_STATUS_WORDS[s]}"
        for s in CLIP_STATUSES
        if s in ("ok", "error") or counts.get(s, 0)  # the rarer statuses only when they occur
    )
    # complete reps only, as every other view counts them; the reps table also lists partial pulls
    n_reps = int(ds.clips["reps"].fillna(0).sum())
    n_partial = int(ds.clips["partial_pulls"].fillna(0).sum())
    partial = f" (+{counted(n_partial, PARTIAL_PULL)})" if n_partial else ""
    print(
        f"{len(ds.clips)} clips: {said}"
        f"{f' ({ds.skipped} already done)' if ds.skipped else ''}; {counted(n_reps, 'rep')}{partial}, "
        f"{len(ds.findings)} findings"
    )
    for row in ds.clips[ds.clips["status"] == "error"].itertuples():
        print(f"  failed: {row.clip}: {row.error}", file=sys.stderr)
    if ds.rule_scores is not None:
        print("\nrules against the labels (clips with a true/false label):")
        print(ds.rule_scores.to_string(index=False, float_format=lambda x: f"{x:.2f}"))
    names = ",".join(ds.tables())
    print(f"tables: {args.out}/{{{names}}}.{{parquet,csv}}; per clip: {args.out}/clips/<clip>/")
    return 1 if failed else 0
