"""The three tidy tables of a batch as pandas DataFrames (:class:`Dataset`), assembled from per-clip rows.

Columns and dtypes come from :mod:`.rows` (nullable integers, strings, floats with NaN = not
measured); rows are ordered by clip (the order the clips were given), then rep, then the rules'
order within a rep. Written as Parquet (pyarrow) and CSV.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from .rows import (
    CLIP_COLUMNS,
    FINDING_COLUMNS,
    METRIC_AND_REASON_COLUMNS,
    REASON_SUFFIX,
    REP_COLUMNS,
    ClipRows,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

TABLES = ("clips", "reps", "findings")
#: The tables a labelled batch adds (:meth:`Dataset.with_labels`).
LABEL_TABLES = ("labels", "rule_scores")


def foreign_tables(folder: str | Path) -> list[str]:
    """The table files in ``folder`` that writing a batch's tables would overwrite although no
    batch wrote them: every ``<table>.{csv,parquet}`` present, unless ``clips.csv`` begins with
    the clips table's first columns (a previous batch's, of this version or another)."""
    folder = Path(folder)
    names = [f"{t}.{kind}" for t in (*TABLES, *LABEL_TABLES) for kind in ("csv", "parquet")]
    present = [n for n in names if (folder / n).exists() or (folder / n).is_symlink()]
    if not present:
        return []
    try:
        with (folder / "clips.csv").open(encoding="utf-8") as f:
            header = f.readline()
    except (OSError, UnicodeDecodeError):
        header = ""
    return [] if header.startswith(",".join(list(CLIP_COLUMNS)[:3]) + ",") else present


def typed_frame(
    rows: Sequence[Mapping], columns: Mapping[str, str], extra: Sequence[str] = ()
) -> pd.DataFrame:
    """A DataFrame with ``columns`` (typed as given), then ``extra``, then any further keys in
    first-seen order. Extra columns are metrics (float), why a metric is missing (``_reason``,
    string) or moments (``_frame`` int, ``_time_s`` float)."""
    import pandas as pd

    names = list(columns) + [c for c in extra if c not in columns]
    seen = dict.fromkeys(k for r in rows for k in r)
    names += [k for k in seen if k not in names]
    df = pd.DataFrame.from_records([dict(r) for r in rows], columns=names)
    for name in names:
        kind = columns.get(name) or (
            "string"
            if name.endswith(REASON_SUFFIX)
            else "Int64"
            if name.endswith(("_frame", "_sample"))
            else "float64"
        )
        df[name] = pd.to_numeric(df[name], errors="coerce") if kind == "float64" else df[name].astype(kind)
    return df


@dataclass(frozen=True, eq=False)
class Dataset:
    """The tables of a batch: ``clips`` (one row per clip, failed ones too), ``reps`` (one per rep)
    and ``findings`` (one per rule x rep). ``results``: the per-clip rows they were built from."""

    clips: pd.DataFrame
    reps: pd.DataFrame
    findings: pd.DataFrame
    results: tuple[ClipRows, ...] = field(default=(), repr=False)
    #: Clips skipped because a finished result with the same key was found in the output folder.
    skipped: int = 0
    #: With ground truth (:meth:`with_labels`): one row per labelled clip x rule, and per-rule scores.
    labels: pd.DataFrame | None = field(default=None, repr=False)
    rule_scores: pd.DataFrame | None = field(default=None, repr=False)

    @classmethod
    def from_rows(cls, results: Iterable[ClipRows], *, skipped: int = 0) -> Dataset:
        results = tuple(results)
        return cls(
            clips=typed_frame([r.clip for r in results], CLIP_COLUMNS),
            reps=typed_frame(
                [row for r in results for row in r.reps], REP_COLUMNS, METRIC_AND_REASON_COLUMNS
            ),
            findings=typed_frame([row for r in results for row in r.findings], FINDING_COLUMNS),
            results=results,
            skipped=skipped,
        )

    @classmethod
    def from_analysis(cls, analysis, *, clip: str | None = None) -> Dataset:
        """The tables of one :class:`~formcheck_core.analysis.Analysis` (``clip`` defaults to the file stem)."""
        from ..export import to_dict
        from .rows import rows_from_export

        path = analysis.video.path
        return cls.from_rows(
            [
                rows_from_export(
                    to_dict(analysis, include_series=False), clip=clip or Path(path).stem, path=path
                )
            ]
        )

    def with_labels(self, labels: str | Path | Mapping[str, Mapping]) -> Dataset:
        """This dataset with the ``labels`` and ``rule_scores`` tables (see :mod:`.labels`)."""
        from .labels import LABEL_COLUMNS, SCORE_COLUMNS, label_and_score_rows

        joined, scores = label_and_score_rows(self.clips, self.findings, labels)
        return replace(
            self, labels=typed_frame(joined, LABEL_COLUMNS), rule_scores=typed_frame(scores, SCORE_COLUMNS)
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables by name: clips, reps, findings (and labels, rule_scores when joined)."""
        out = {"clips": self.clips, "reps": self.reps, "findings": self.findings}
        if self.labels is not None and self.rule_scores is not None:
            out.update(labels=self.labels, rule_scores=self.rule_scores)
        return out

    def to_parquet(self, folder: str | Path) -> list[Path]:
        """Write ``clips.parquet``, ``reps.parquet`` and ``findings.parquet`` into ``folder``."""
        return self._write(folder, "parquet")

    def to_csv(self, folder: str | Path) -> list[Path]:
        """Write ``clips.csv``, ``reps.csv`` and ``findings.csv`` into ``folder`` (empty cell = null)."""
        return self._write(folder, "csv")

    def _write(self, folder: str | Path, kind: str) -> list[Path]:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, df in self.tables().items():
            path = folder / f"{name}.{kind}"
            tmp = path.with_name(f".{path.name}.tmp")
            if kind == "parquet":
                df.to_parquet(tmp, index=False, engine="pyarrow")
            else:
                df.to_csv(tmp, index=False)
            tmp.replace(path)
            paths.append(path)
        return paths
