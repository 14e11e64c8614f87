"""Ground truth joined to a batch: per clip x rule label vs flag, and per-rule accuracy.

Labels come from a ``labels_dev.json``-style file read by :func:`formcheck_core.compare.load_labels`
and mapped to rule ids by :func:`formcheck_core.compare.clip_labels` (the same reading as
``formcheck compare``); the counts and rates are :func:`formcheck_core.scoring.confusion`'s. A
rule *flags* a clip when it has a fault read at a confident pose in any of its reps
(``verdict_role`` "fault" or "note": :func:`formcheck_core.rules.verdicts.flags_rule`; a
low-confidence warning is not a flag). A rule *measured* a clip when it has a "fault" or "ok"
finding on it; a clip it did not measure (a view it cannot judge, no usable lift, the rule switched
off) is left out of that rule's scores and counted in ``not_measured``, as
``scripts/evaluate_rules.py`` counts its "not measured" clips apart: a front view is no true
negative of a side-only rule. Clips that could not be analysed (status "error") are left out of the
scores; "unclear" or missing labels are left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..rules.verdicts import FLAG_ROLES
from ..vocabulary import FAULT, OK

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

#: Columns of the ``labels`` table (one row per labelled clip x rule) and ``rule_scores`` (one per rule).
LABEL_COLUMNS: dict[str, str] = {
    "clip": "string",
    "rule_id": "string",
    "label": "boolean",
    "flagged": "boolean",
    "measured": "boolean",
    "overall": "string",
}
SCORE_COLUMNS: dict[str, str] = {
    "rule_id": "string",
    "n": "Int64",
    "not_measured": "Int64",
    "positives": "Int64",
    "tp": "Int64",
    "fp": "Int64",
    "tn": "Int64",
    "fn": "Int64",
    "sensitivity": "float64",
    "specificity": "float64",
    "precision": "float64",
    "balanced_accuracy": "float64",
}


def label_rows(
    clips: pd.DataFrame, findings: pd.DataFrame, labels: Mapping[str, Mapping], vocabulary: Sequence[str]
) -> list[dict[str, Any]]:
    """One row per labelled clip x rule of the ``clips`` / ``findings`` tables: the label (None =
    unclear), whether the rule flagged the clip and whether it measured it at all (both None when
    the clip could not be analysed). Clips are matched to labels by file stem."""
    from ..compare import clip_labels

    faults = findings[findings["verdict_role"].isin(FLAG_ROLES)]  # rules.verdicts.flags_rule
    flagged = set(zip(faults["clip"], faults["rule_id"], strict=True))
    judged = findings[findings["status"].isin([FAULT, OK])]
    measured = set(zip(judged["clip"], judged["rule_id"], strict=True))
    rows = []
    for clip, path, status in clips[["clip", "path", "status"]].itertuples(index=False):
        entry = labels.get(Path(path).stem)
        if entry is None:
            continue
        for rule_id, label in clip_labels(entry, vocabulary).items():
            said = None if status == "error" else (clip, rule_id) in flagged
            seen = None if status == "error" else (clip, rule_id) in measured
            rows.append(
                {
                    "clip": clip,
                    "rule_id": rule_id,
                    "label": label,
                    "flagged": said,
                    "measured": seen,
                    "overall": entry.get("overall"),
                }
            )
    return rows


def score_rows(rows: Sequence[Mapping[str, Any]], vocabulary: Sequence[str]) -> list[dict[str, Any]]:
    """Per rule: counts and rates of "flagged" against "label" over the labelled rows the rule
    measured; ``not_measured``: labelled, analysed rows it did not measure (left out of the rates)."""
    from ..scoring import confusion

    out = []
    for rule_id in vocabulary:
        analysed = [
            r for r in rows if r["rule_id"] == rule_id and r["label"] is not None and r["flagged"] is not None
        ]
        known = [r for r in analysed if r["measured"]]
        c = confusion([r["label"] for r in known], [r["flagged"] for r in known])
        out.append(
            {
                "rule_id": rule_id,
                "n": c.n,
                "not_measured": len(analysed) - len(known),
                "positives": c.n_pos,
                "tp": c.tp,
                "fp": c.fp,
                "tn": c.tn,
                "fn": c.fn,
                "sensitivity": c.sensitivity,
                "specificity": c.specificity,
                "precision": c.precision,
                "balanced_accuracy": c.balanced_accuracy,
            }
        )
    return out


def label_and_score_rows(
    clips: pd.DataFrame,
    findings: pd.DataFrame,
    labels: str | Path | Mapping[str, Mapping],
    vocabulary: Sequence[str] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows of the ``labels`` and ``rule_scores`` tables (columns :data:`LABEL_COLUMNS`,
    :data:`SCORE_COLUMNS`) against ``labels`` (a file or its parsed content keyed by clip stem).
    ``vocabulary``: rule ids to score (default: every loaded rule,
    :func:`formcheck_core.compare.rule_vocabulary`)."""
    from ..compare import load_labels, rule_vocabulary

    if not isinstance(labels, Mapping):
        labels = load_labels(labels)
    vocab = tuple(vocabulary or rule_vocabulary())
    rows = label_rows(clips, findings, labels, vocab)
    return rows, score_rows(rows, vocab)
