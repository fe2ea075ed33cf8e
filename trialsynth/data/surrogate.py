"""Public surrogate trials: RCT-like data generated from design knowledge alone, never from a
real trial. They build the demo archive (``registry.demo``), the tests' fixtures and the public
surrogates that DP settings are tuned on (``synthesisers/mst_tuning.py``).

Each trial has a treatment (cluster-randomised by school where sensible), pre- and post-test
outcomes carrying a real treatment effect, FSM/gender/EAL/SEN flags, an ordinal KS2 band, a
categorical ethnicity group, skewed as well as Gaussian continuous columns, school clusters and
realistic missingness (item non-response and attrition in the post-tests). Each file also carries
what Appendix A's cleaning removes: a unit id, a constant project descriptor, a text descriptor of
FSM and, in some trials, an empty column.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# Public ranges of the instruments (test scales, percentages, counts) - design knowledge, not read
# off the data - used by differentially private methods to bin continuous columns.
PUBLIC_BOUNDS = {
    "test": (0.0, 200.0),
    "attendance_pct": (0.0, 100.0),
    "days_absent": (0.0, 150.0),
    "school_context_1": (-4.0, 4.0),
    "school_context_2": (0.0, 3000.0),
}


def _scale(column: str) -> str | None:
    if column.startswith(("pre_test_", "post_test_")):
        return "test"
    return column if column in PUBLIC_BOUNDS else None


def public_bounds(columns) -> dict[str, tuple[float, float]]:
    """The public ranges of the surrogate columns among ``columns`` (instrument scales)."""
    return {c: PUBLIC_BOUNDS[scale] for c in columns if (scale := _scale(c))}


CORE_COLUMNS = 11  # school_id .. school_context_1, see _core_columns
STUDY_SHAPES = {"small": (1200, 20), "mid": (9900, 22), "large": (67200, 36)}


DESIGNS = ("two_arm", "three_arm", "factorial", "long", "narrow")


@dataclass(frozen=True)
class TrialShape:
    """Rows and synthesised columns (after cleaning) of one demo trial, and its design:

    - ``two_arm``: treatment 0/1 (the study's trials);
    - ``three_arm``: ``control``, ``programme_a``, ``programme_b``, with ``unrandomised`` (a share
      of pupils who joined later and were never randomised: their arm is missing);
    - ``factorial``: two crossed programmes as four arms (``control``, ``a``, ``b``, ``a+b``);
    - ``long``: repeated measures, one row per pupil and year (``waves`` years, ``n_rows`` rows in
      all), with the pupil id to declare as the ``unit``;
    - ``narrow``: four coded columns (arm, sex, a 3-level band, a binary ``passed`` outcome).
    """

    n_rows: int
    n_cols: int
    cluster_randomised: bool = True
    design: str = "two_arm"
    unrandomised: float = 0.0
    waves: int = 3

    def __post_init__(self) -> None:
        if self.design not in DESIGNS:
            raise ValueError(f"design must be one of {DESIGNS}. Got {self.design!r} instead.")
        if self.design in ("long", "narrow"):
            return
        if self.n_rows < 50:
            raise ValueError(f"n_rows must be at least 50. Got {self.n_rows!r} instead.")
        if self.n_cols < CORE_COLUMNS + 2:
            raise ValueError(f"n_cols must be at least {CORE_COLUMNS + 2}. Got {self.n_cols!r}.")


def _school_layout(n_rows: int, rng: np.random.Generator) -> np.ndarray:
    n_schools = max(8, n_rows // 60)
    weights = rng.dirichlet(np.full(n_schools, 4.0))
    return rng.choice(n_schools, size=n_rows, p=weights)


def _core_columns(shape: TrialShape, rng: np.random.Generator) -> tuple[dict, np.ndarray]:
    n = shape.n_rows
    school = _school_layout(n, rng)
    n_schools = school.max() + 1
    deprivation = rng.normal(0, 1, n_schools)
    school_effect = rng.normal(0, 0.35, n_schools) - 0.2 * deprivation
    k = {"three_arm": 3, "factorial": 4}.get(shape.design, 2)
    if shape.cluster_randomised and k == 2:
        treated_schools = rng.permutation(n_schools) < n_schools // 2
        treatment = treated_schools[school].astype(int)
    elif shape.cluster_randomised:
        treatment = (rng.permutation(n_schools) % k)[school]
    else:
        treatment = rng.permutation(np.arange(n) % k)
    fsm = rng.random(n) < 1 / (1 + np.exp(-(-1.3 + 0.7 * deprivation[school])))
    sen = rng.random(n) < np.where(fsm, 0.2, 0.12)
    ability = rng.normal(0, 1, n) - 0.35 * fsm - 0.3 * sen + school_effect[school]
    band = np.digitize(ability + rng.normal(0, 0.5, n), [-0.6, 0.6])
    ks2_band = pd.Series(np.array(["low", "middle", "high"])[band], dtype="object")
    ks2_band[rng.random(n) < 0.05] = np.nan
    ethnicity = pd.Series(
        rng.choice(["white", "asian", "black", "mixed", "other"], n, p=[0.7, 0.12, 0.08, 0.06, 0.04]),
        dtype="object",
    )
    ethnicity[rng.random(n) < 0.04] = np.nan
    attendance = 100 * rng.beta(14 - 4 * fsm, 1.3, n)
    attendance[rng.random(n) < 0.02] = np.nan
    columns = {
        "school_id": np.array([f"URN{100000 + 37 * s}" for s in school]),
        "treatment": treatment,
        "pupil_gender": rng.choice(["F", "M"], n),
        "pupil_fsm": fsm.astype(int),
        "pupil_eal": (rng.random(n) < 0.15).astype(int),
        "pupil_sen": sen.astype(int),
        "ks2_band": ks2_band,
        "ethnicity": ethnicity,
        "attendance_pct": np.round(attendance, 1),
        "days_absent": np.round(rng.lognormal(1.2 + 0.4 * fsm, 0.8, n)).astype(int),
        "school_context_1": np.round(deprivation[school], 3),
    }
    return columns, ability


def _outcome_columns(
    shape: TrialShape, ability: np.ndarray, treatment: np.ndarray, rng: np.random.Generator
) -> dict:
    n = shape.n_rows
    n_pairs = (shape.n_cols - CORE_COLUMNS) // 2
    left = rng.random(n) < 0.12  # attrition: these pupils have no post-tests at all
    columns = {}
    for k in range(1, n_pairs + 1):
        pre = 100 + 15 * (0.8 * ability + 0.6 * rng.normal(0, 1, n))
        effect = 3.0 if k == 1 else rng.choice([0.0, 1.5, 3.0])
        post = 30 + 0.7 * pre + 4 * ability + effect * treatment + rng.normal(0, 8, n)
        pre[rng.random(n) < 0.03] = np.nan
        post[left | (rng.random(n) < 0.02)] = np.nan
        columns[f"pre_test_{k}"] = np.round(pre, 1)
        columns[f"post_test_{k}"] = np.round(post, 1)
    if (shape.n_cols - CORE_COLUMNS) % 2:
        columns["school_context_2"] = np.round(rng.gamma(2.0, 150.0, n), 0)  # skewed
    return columns


ARM_LABELS = {
    "three_arm": np.array(["control", "programme_a", "programme_b"]),
    "factorial": np.array(["control", "a", "b", "a+b"]),
}
ARM_EFFECTS = {"three_arm": np.array([0.0, 3.0, 1.5]), "factorial": np.array([0.0, 2.0, 1.5, 4.5])}


def make_trial(shape: TrialShape, seed: int, *, empty_column: bool = False) -> pd.DataFrame:
    """One RCT-like trial of ``shape`` (plus the columns cleaning is expected to drop)."""
    rng = np.random.default_rng(seed)
    if shape.design == "long":
        return _long_trial(shape, rng)
    if shape.design == "narrow":
        return _narrow_trial(shape, rng)
    core, ability = _core_columns(shape, rng)
    arm = core["treatment"]
    dose = ARM_EFFECTS[shape.design][arm] / 3.0 if shape.design in ARM_EFFECTS else arm
    outcomes = _outcome_columns(shape, ability, dose, rng)
    if shape.design in ARM_LABELS:
        labels = pd.Series(ARM_LABELS[shape.design][arm], dtype="object")
        labels[rng.random(shape.n_rows) < shape.unrandomised] = np.nan  # joined later: never randomised
        core["treatment"] = labels
    frame = pd.DataFrame({**core, **outcomes})
    if "school_context_2" in frame:  # school-level: one value per school
        frame["school_context_2"] = frame.groupby("school_id")["school_context_2"].transform("first")
    frame.insert(0, "pupil_id", rng.permutation(shape.n_rows) + 500000)
    frame["project_name"] = "demo project"
    frame["fsm_label"] = np.where(frame["pupil_fsm"] == 1, "Eligible for FSM", "Not eligible")
    if empty_column:
        frame["notes"] = np.nan
    return frame


def _long_trial(shape: TrialShape, rng: np.random.Generator) -> pd.DataFrame:
    """Repeated measures: ``n_rows // waves`` pupils in schools, a row per pupil and year; the arm
    is the pupil's school's, the score grows by year and carries the pupil's ability."""
    pupils = max(shape.n_rows // shape.waves, 20)
    school = _school_layout(pupils, rng)
    arm = (rng.permutation(school.max() + 1) % 2)[school]
    ability = rng.normal(0, 1, pupils)
    sex = rng.choice(["F", "M"], pupils)
    fsm = (rng.random(pupils) < 0.25).astype(int)
    year = np.tile(np.arange(1, shape.waves + 1), pupils)
    each = np.repeat(np.arange(pupils), shape.waves)
    score = 50 + 6 * ability[each] + 4 * year + 2.5 * arm[each] * (year - 1) - 3 * fsm[each]
    score = np.round(score + rng.normal(0, 4, len(each)), 1)
    score[rng.random(len(each)) < 0.05] = np.nan
    return pd.DataFrame(
        {
            "pupil_id": 700000 + np.repeat(rng.permutation(pupils), shape.waves),
            "school_id": np.array([f"URN{200000 + 41 * s}" for s in school])[each],
            "year": year,
            "arm": arm[each],
            "sex": sex[each],
            "fsm": fsm[each],
            "score": score,
        }
    )


def _narrow_trial(shape: TrialShape, rng: np.random.Generator) -> pd.DataFrame:
    """Four coded columns: arm, sex, a 3-level band and a binary outcome ``passed``."""
    n = shape.n_rows
    arm = rng.permutation(np.arange(n) % 2)
    band = rng.choice([1, 2, 3], n, p=[0.3, 0.45, 0.25])
    passed = rng.random(n) < 1 / (1 + np.exp(-(-1.0 + 0.4 * arm + 0.7 * (band - 2))))
    return pd.DataFrame(
        {"arm": arm, "sex": rng.choice(["F", "M"], n), "band": band, "passed": passed.astype(int)}
    )


def design_roles(frame: pd.DataFrame, shape: TrialShape) -> dict:
    """The manifest roles of a demo trial of ``shape`` (``demo_roles`` for the study's designs)."""
    if shape.design == "long":
        return {
            "treatment": "arm",
            "outcomes": ["score"],
            "cluster": "school_id",
            "unit": "pupil_id",
            "categorical": ["year"],
        }
    if shape.design == "narrow":
        return {"treatment": "arm", "outcomes": ["passed"], "categorical": ["band"]}
    return demo_roles(frame)


def demo_roles(frame: pd.DataFrame, outcomes: list[str] | None = None) -> dict:
    """The column roles of a demo trial, as keyword arguments of ``trialsynth.data.cleaning.clean``
    (the demo manifest says the same). Default outcomes: every post-test."""
    return {
        "treatment": "treatment",
        "outcomes": outcomes or [c for c in frame.columns if c.startswith("post_test_")],
        "cluster": "school_id",
        "drop": ["pupil_id"],
        "categorical": ["ks2_band"],
        "tcap_key": ["pupil_gender", "post_test_1"],
        "tcap_target": "pupil_fsm",
    }
