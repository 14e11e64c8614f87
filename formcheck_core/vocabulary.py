"""The shared vocabulary: finding statuses, severities, views, verdict labels, key moments, units.

Units and their formatter are defined in :mod:`formcheck_core.units` and re-exported here.

One place for the words and units every layer uses (rules, coach, LLM prompts, stills, report,
widgets). It imports nothing from formcheck but units: any module may depend on it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Protocol, get_args

# Units and the one formatter live in formcheck_core.units; re-exported so every layer keeps one
# import for its words and units.
from formcheck_core.units import MAX_EXTRA_DECIMALS as MAX_EXTRA_DECIMALS
from formcheck_core.units import PLAIN_DECIMALS as PLAIN_DECIMALS
from formcheck_core.units import UNIT_SUFFIXES as UNIT_SUFFIXES
from formcheck_core.units import UNITS as UNITS
from formcheck_core.units import Unit as Unit
from formcheck_core.units import data_decimals as data_decimals
from formcheck_core.units import display_scale as display_scale
from formcheck_core.units import format_limit as format_limit
from formcheck_core.units import format_value as format_value
from formcheck_core.units import unit_of as unit_of
from formcheck_core.units import with_unit as with_unit

#: What a rule found for one rep: it fired, measured within the limit, or could not measure.
Status = Literal["fault", "ok", "not_measurable"]
STATUSES: tuple[Status, ...] = get_args(Status)
FAULT: Status = "fault"
OK: Status = "ok"
NOT_MEASURABLE: Status = "not_measurable"

#: Severities from least to most serious; a verdict is "needs work" if any fault is >= "moderate".
Severity = Literal["info", "minor", "moderate", "major"]
SEVERITIES: tuple[Severity, ...] = get_args(Severity)

#: How a finding counts toward the verdict (its ``verdict_role``, decided once by
#: :func:`formcheck_core.rules.verdicts.verdict_role`): a "fault" makes its rep "needs work"; a
#: "note" is a fault that does not count (below "moderate", e.g. made "minor" because another rule
#: measured the pull fine); a "warning" is a fault read at low pose confidence (reported and cued,
#: but it does not judge the rep); "ok" and "not_measurable" are the statuses of the same name.
VerdictRole = Literal["fault", "note", "warning", "ok", "not_measurable"]
VERDICT_ROLES: tuple[VerdictRole, ...] = get_args(VerdictRole)
NOTE: VerdictRole = "note"
WARNING: VerdictRole = "warning"


@dataclass(frozen=True)
class RoleWords:
    """How a verdict role is shown: ``word`` (summary tag, report card, still caption, explorer),
    ``mark`` (the one-character mark before a still caption or card) and ``help`` (what it means
    for the verdict, in words)."""

    word: str
    mark: str
    help: str


#: The words and mark of each verdict role: the one table every view reads.
ROLE_WORDS: dict[str, RoleWords] = {
    "fault": RoleWords("fault", "✗", "counts toward the verdict: the rep needs work"),
    "note": RoleWords("note", "!", "past the limit, but not counted as a fault"),
    "warning": RoleWords("warning", "?", "read at low pose confidence: not counted as a fault"),
    "ok": RoleWords("ok", "✓", "measured within the limit"),
    "not_measurable": RoleWords("not measurable", "–", "could not be measured"),
}


def rule_title(rule_id: str) -> str:
    """A rule's default name for people (``Rule.title``): its id in words, ``rounded_back`` ->
    "Rounded back". User text names a rule by its title; the id stays the key in the JSON."""
    return rule_id.replace("_", " ").strip().capitalize()


#: Camera view relative to the lifter.
ViewName = Literal["side", "oblique", "front"]
VIEWS: tuple[ViewName, ...] = get_args(ViewName)

#: Verdict of a rep or a set.
VerdictLabel = Literal["clean", "needs work", "unclear"]
VERDICT_LABELS: tuple[VerdictLabel, ...] = get_args(VerdictLabel)
CLEAN: VerdictLabel = "clean"
NEEDS_WORK: VerdictLabel = "needs work"
UNCLEAR: VerdictLabel = "unclear"

# --------------------------------------------------------------------------------------------
# Pulls: complete reps and partial pulls

#: What a partial pull is called (a pull that left the floor, or was seen moving, but is not a
#: complete rep: cut by the clip, not from the floor, never reached lockout, aborted, not measurable).
PARTIAL_PULL = "partial pull"
#: How the warning of a clip without a complete rep starts (the analysis writes it, with why; the
#: coach finds it by this prefix).
NO_COMPLETE_LIFT = "No complete lift was found"


def counted(n: int, word: str) -> str:
    """``n`` and ``word``, plural unless ``n`` is 1: "1 rep", "3 reps", "0 partial pulls"."""
    return f"{n} {word}{'s' if n != 1 else ''}"


def pull_label(number: int, n_reps: int) -> str:
    """How pull ``number`` is named in every view, given ``n_reps`` complete reps in the clip.

    Complete reps are numbered 1..``n_reps`` and read "rep 2"; partial pulls follow them (numbers
    ``n_reps`` + 1, ...) and read "partial pull 1", "partial pull 2", ... (their own count).
    """
    return f"rep {number}" if number <= n_reps else f"{PARTIAL_PULL} {number - n_reps}"


def pull_file_stem(number: int, n_reps: int) -> str:
    """A pull's name in file names: "rep2", "partial1" (from :func:`pull_label`)."""
    return pull_label(number, n_reps).replace(f"{PARTIAL_PULL} ", "partial").replace(" ", "")


def partial_kind(reason: str) -> str:
    """The short reason of a partial pull: the head of its ``partial_reason`` (the words before its
    first ":" or "("): "cut by the clip", "not from the floor", "never reached lockout",
    "aborted", "not measurable". "" for a complete rep."""
    head = reason.split(":", 1)[0].split("(", 1)[0]
    return head.strip()


#: How a clip ended up, one word per clip (the batch table's ``status`` column and the CLI's
#: counts): at least one complete rep; no complete rep but partial pulls (judged on what was
#: seen); no pull at all; the analysis failed.
ClipStatus = Literal["ok", "partial_only", "no_lift", "error"]
CLIP_STATUSES: tuple[ClipStatus, ...] = get_args(ClipStatus)
#: The status of each clip in words (CLI counts: "3 analysed, 1 with only partial pulls, ...").
CLIP_STATUS_WORDS: dict[str, str] = {
    "ok": "analysed",
    "partial_only": "with only partial pulls",
    "no_lift": "with no usable lift",
    "error": "failed",
}


def clip_status(n_reps: int, n_partial: int) -> ClipStatus:
    """The status of an analysed clip with ``n_reps`` complete reps and ``n_partial`` partial pulls."""
    return "ok" if n_reps else "partial_only" if n_partial else "no_lift"


# --------------------------------------------------------------------------------------------
# Key moments

#: Names of the key moments of a deadlift rep, in time order.
MomentName = Literal["setup", "liftoff", "knee_pass", "lockout"]
MOMENT_NAMES: tuple[str, ...] = get_args(MomentName)


@dataclass(frozen=True)
class MomentWords:
    """How one key moment is said: ``label`` (still headers, tables), ``help`` (a still with no
    finding attached), ``phrase`` (``{at}`` in message and cue templates), and ``before`` /
    ``after`` for a finding measured shortly before / after the moment (the nearest one)."""

    label: str
    help: str
    phrase: str
    before: str
    after: str


#: The words of each key moment: the one table the dicts below derive from.
MOMENT_WORDS: dict[str, MomentWords] = {
    "setup": MomentWords(
        "setup",
        "Setup: last still position before the pull.",
        "in your setup",
        "in your setup",
        "as you start the pull",
    ),
    "liftoff": MomentWords(
        "lift-off",
        "Lift-off: the bar leaves the floor.",
        "as the bar leaves the floor",
        "just before the bar leaves the floor",
        "just after the bar leaves the floor",
    ),
    "knee_pass": MomentWords(
        "knee pass",
        "The bar passes the knees.",
        "as the bar passes your knees",
        "just before the bar reaches your knees",
        "just after the bar passes your knees",
    ),
    # Lockout values are read over the half second after the lockout moment: still the lockout.
    "lockout": MomentWords(
        "lockout",
        "Lockout: the top of the pull, where the hips and shoulders finish rising.",
        "at lockout",
        "just before lockout",
        "at lockout",
    ),
}
MOMENT_LABEL: dict[str, str] = {name: w.label for name, w in MOMENT_WORDS.items()}
MOMENT_HELP: dict[str, str] = {name: w.help for name, w in MOMENT_WORDS.items()}
MOMENT_PHRASES: dict[str, str] = {name: w.phrase for name, w in MOMENT_WORDS.items()}
PHRASES_BEFORE: dict[str, str] = {name: w.before for name, w in MOMENT_WORDS.items()}
PHRASES_AFTER: dict[str, str] = {name: w.after for name, w in MOMENT_WORDS.items()}


#: Appended to a value drawn in a picture (still, clip, curve marker) when it was read from a
#: low-confidence joint; the picture greys the same samples, and the summary, JSON and explorer
#: read-out name the joint and why.
LOW_CONFIDENCE_SUFFIX = " ?"


#: A reading at most this far from a key moment (in seconds, as shown: rounded to 0.1 s) is
#: "near" it: the accuracy the moments themselves are held to (lift-off and lockout within
#: +-0.2 s of the labels). Farther, a tag or phrase says how far and which way ("0.6 s before
#: lockout"). The one definition of "near" every view uses (:func:`moment_offset_s`).
NEAR_MOMENT_S = 0.2


class MomentLike(Protocol):
    """A key moment as the views place it (``biomech.body.Moment``): its source frame and time.
    Here as a protocol so this module imports nothing from formcheck."""

    @property
    def frame_index(self) -> int: ...

    @property
    def time_s(self) -> float: ...


def moment_label(name: str) -> str:
    """A key moment's name for people: "lift-off", "knee pass" (:data:`MOMENT_LABEL`); a name
    not in it (a plugin's) with its underscores as spaces. The one lookup every view uses."""
    return MOMENT_LABEL.get(name, name.replace("_", " "))


#: ``{at}`` of a reading placed at a key moment the pull lacks (a lift-off rule on a pull the
#: clip shows from mid-pull): no "as the bar leaves the floor" for a moment that is not there.
MISSING_MOMENT_PHRASE = "in this pull"


def lacks_moment(frame_index: int | None, own: MomentLike | None) -> bool:
    """A reading placed nowhere (no frame) on a pull without its moment (``own`` None): the one
    test of "the pull lacks this moment" that :func:`moment_tag` (no moment named) and
    :func:`moment_phrase` (:data:`MISSING_MOMENT_PHRASE`) follow."""
    return frame_index is None and own is None


def moment_offset_s(
    frame_index: int | None,
    time_s: float | None,
    moment_frame: int | None,
    moment_time_s: float | None,
) -> float | None:
    """Where a reading (``frame_index``, ``time_s``) lies from its key moment's own frame and
    time, in seconds rounded to 0.1 s as shown (negative = before the moment). None when it was
    read at the moment's own frame (or either frame is unknown: nothing says otherwise); 0.0 when
    the frames differ but a time is unknown (read "near"). :func:`offset_from` takes the moment."""
    if frame_index is None or moment_frame is None or frame_index == moment_frame:
        return None
    if time_s is None or moment_time_s is None or not math.isfinite(time_s - moment_time_s):
        return 0.0
    return round(time_s - moment_time_s, 1) + 0.0  # + 0.0: no "-0.0"


def offset_from(own: MomentLike | None, frame_index: int | None, time_s: float | None) -> float | None:
    """:func:`moment_offset_s` of a reading from its key moment ``own`` (None: unknown or missing,
    so nothing says the reading is off it)."""
    if own is None:
        return None
    return moment_offset_s(frame_index, time_s, own.frame_index, own.time_s)


def is_near_moment(offset_s: float) -> bool:
    """A reading ``offset_s`` seconds from its moment (:func:`moment_offset_s`) is near it."""
    return abs(offset_s) <= NEAR_MOMENT_S + 1e-9  # 0.2 after rounding is near


def relative_to_moment(label: str, offset_s: float | None, *, at: str = "") -> str:
    """A moment's ``label`` with where a reading lies from it (``offset_s`` from
    :func:`moment_offset_s`): ``at`` + label when read at the moment's own frame (None), "near
    lift-off" within :data:`NEAR_MOMENT_S`, else "0.6 s before lockout" / "0.3 s after lift-off"."""
    if offset_s is None:
        return f"{at}{label}"
    if is_near_moment(offset_s):
        return f"near {label}"
    return f"{abs(offset_s):.1f} s {'before' if offset_s < 0 else 'after'} {label}"


def moment_tag(
    moment: str,
    frame_index: int | None,
    own: MomentLike | None,
    *,
    time_s: float | None = None,
    at: str = "",
) -> str:
    """A finding's or cue's moment as a tag, the one place every view's tag comes from:
    ``at`` + "lift-off" when the value was read at the moment's own frame (``own``: the pull's
    moment of that name; or the frame or the moment is unknown), "near lift-off" when read at
    another frame within :data:`NEAR_MOMENT_S` of it, "0.6 s before lockout" when farther
    (``time_s``: the reading's time; without it a reading off the moment's frame reads "near").
    So no tag names a moment for a frame that is not that moment's frame, nor calls a far reading
    "near". "" for a reading placed nowhere on a pull that lacks the moment (:func:`lacks_moment`).
    ``at``: a word before an exact moment ("at " in the cues' "rep 2 at lift-off")."""
    if lacks_moment(frame_index, own):
        return ""
    return relative_to_moment(moment_label(moment), offset_from(own, frame_index, time_s), at=at)


def moment_phrase(
    moment: str | None, frame_index: int | None, own: MomentLike | None, *, time_s: float | None = None
) -> str:
    """``{at}`` of a rule's message or cue, the gym phrase for where a reading lies from key
    moment ``moment`` (``own``: the pull's moment of that name): "as the bar passes your knees" at
    the moment's own frame (or an unknown frame), "just after the bar leaves the floor" near it
    (:func:`is_near_moment`, or ``time_s`` unknown), "0.6 s before lockout" farther (the words
    of :func:`moment_tag`); :data:`MISSING_MOMENT_PHRASE` on a pull that lacks the moment
    (:func:`lacks_moment`); "during the rep" without a moment."""
    if not moment:
        return "during the rep"
    if lacks_moment(frame_index, own):
        return MISSING_MOMENT_PHRASE
    exact = MOMENT_PHRASES.get(moment, f"near {moment_label(moment)}")
    if own is None or frame_index is None or frame_index == own.frame_index:
        return exact
    offset = offset_from(own, frame_index, time_s) if time_s is not None else None
    if offset is not None and not is_near_moment(offset):
        return relative_to_moment(moment_label(moment), offset)
    table = PHRASES_BEFORE if frame_index < own.frame_index else PHRASES_AFTER
    return table.get(moment, exact)


def metric_name_in_words(name: str) -> str:
    """A metric name in words: the label of a
    :class:`~formcheck_core.biomech.metric_spec.MetricSpec` that declares none, a key moment at
    its end read "at" its label: ``torso_lean_liftoff_deg`` -> "Torso lean at lift-off"
    (:data:`MOMENT_LABEL`). Views name a metric by its spec's label,
    :func:`formcheck_core.metric_labels.metric_label`, never by this directly."""
    for suffix in UNIT_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    words = name.split("_")
    for moment in MOMENT_NAMES:  # "knee_pass" is two words of the name
        tail = moment.split("_")
        if len(words) > len(tail) and words[-len(tail) :] == tail:
            words = [*words[: -len(tail)], "at", moment_label(moment)]
            break
    return " ".join(words).strip().capitalize()
