"""The trial's design as the data show it: the roles present, the arms and the reference arm."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from trialsynth.errors import TrialDataError
from trialsynth.missing import as_label, plain


def check_roles(frame: pd.DataFrame, trial_id: str, treatment: str, outcomes: Iterable[str]) -> None:
    for name in [treatment, *outcomes]:
        if name not in frame.columns:
            raise TrialDataError(f"trial {trial_id!r}: column {name!r} is not in the data")
    for name in outcomes:
        if frame[name].isna().all():
            raise TrialDataError(
                f"trial {trial_id!r}: outcome column {name!r} has no values (every row is missing)"
            )
    arms = frame[treatment].dropna().unique()
    if len(arms) == 0:
        raise TrialDataError(
            f"trial {trial_id!r}: treatment column {treatment!r} is missing in every row "
            "(key 'treatment' must name the arm column)"
        )
    if len(arms) == 1:
        raise TrialDataError(
            f"trial {trial_id!r}: treatment column {treatment!r} holds one arm only: a trial "
            "needs at least 2 arms (key 'treatment' must name the arm column)"
        )


CONTROL_LABELS = ("control", "ctrl", "placebo", "comparison", "business as usual", "usual care", "bau")


def arm_sizes(
    column: pd.Series, reference: object = None, trial_id: str = ""
) -> tuple[tuple[object, int], ...]:
    """``(arm, rows)`` for every arm, the reference arm first, then the others in sorted order.

    The reference arm is the manifest's ``reference_arm`` when given (matched as text, so 0 and
    "0" alike), else an arm labelled like a control (``CONTROL_LABELS``, any case), else the
    first arm in sorted order (0 of a 0/1 coding)."""
    counts = column.value_counts(dropna=True)
    try:
        levels = sorted(counts.index)
    except TypeError:
        levels = sorted(counts.index, key=str)
    first = reference_arm(levels, reference)
    if first is None:
        raise TrialDataError(
            f"trial {trial_id!r}: key 'reference_arm': {reference!r} is not an arm of "
            f"{column.name!r} (arms: {', '.join(_arm_text(level) for level in levels)})"
        )
    ordered = [first, *(level for level in levels if level != first)]
    return tuple((plain(level), int(counts[level])) for level in ordered)


def reference_arm(levels: list, reference: object = None) -> object:
    """The reference arm among ``levels``: the manifest's ``reference``, matched as text (so 0
    and "0" alike; None when it is not among them), else an arm labelled like a control
    (``CONTROL_LABELS``, any case), else the first level (0 of a 0/1 coding)."""
    if not levels:
        return None
    text = {_arm_text(level): level for level in levels}
    if reference is not None:
        return text.get(_arm_text(reference))
    return next((text[t] for t in text if t.lower() in CONTROL_LABELS), levels[0])


def _arm_text(value: object) -> str:
    return as_label(value).strip()
