"""Neighbouring datasets, as an adversary builds them: the real trial with one record replaced by
a planted one holding a label, a missing value or a number the public domain does not hold. The
release of the neighbour must never show it - through the whole DP path (public cleaning, MST,
sampling), with the production noise, for every differentially private method."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from trialsynth.domain import ColumnDomain, PublicDomain
from trialsynth.dp.cleaning import clean_public
from trialsynth.plan import Roles, TrialPlan
from trialsynth.synthesisers.aim import AimSynthesiser
from trialsynth.synthesisers.mst import MstSynthesiser

RELEASES = 4

DECLARED = PublicDomain(
    (
        ColumnDomain("arm", levels=("control", "treated"), missing=False),
        ColumnDomain("sex", levels=("F", "M"), missing=False),
        ColumnDomain("band", levels=("low", "mid", "high"), missing=True),
        ColumnDomain("score", bounds=(0.0, 100.0), missing=False, decimals=0),
        ColumnDomain("post", bounds=(0.0, 100.0), missing=True, decimals=0),
    )
)


def _trial(n: int = 800) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    arm = rng.choice(["control", "treated"], n)
    score = rng.integers(20, 80, n)
    return pd.DataFrame(
        {
            "arm": arm,
            "sex": rng.choice(["F", "M"], n),
            "band": rng.choice(["low", "mid", "high"], n),
            "score": score,
            "post": np.clip(score + 5 * (arm == "treated") + rng.integers(-5, 6, n), 0, 100),
        }
    )


def _plan(domain: PublicDomain) -> TrialPlan:
    return TrialPlan(
        archive="a",
        trial_id="t",
        roles=Roles(treatment="arm", outcomes=("post",)),
        seed=1,
        data_path="t.csv",
        method="mst",
        domain=domain,
    )


METHODS = {
    "mst": lambda: MstSynthesiser(epsilon=1.0, iterations=60, n_bins=10),
    "aim": lambda: AimSynthesiser(
        epsilon=1.0, n_bins=10, rounds_per_column=1, max_rounds=3, round_iterations=20, final_iterations=60
    ),
}


def _releases(
    frame: pd.DataFrame, domain: PublicDomain, count: int = RELEASES, method: str = "mst"
) -> list[pd.DataFrame]:
    data, meta = clean_public(frame, _plan(domain))
    out = []
    for i in range(count):
        model = METHODS[method]().fit(data, meta)  # SecureNoise
        out.append(model.sample(len(data), np.random.default_rng(i)))
    return out


PLANTED = {
    "unique-label": ({"sex": "Z-unique"}, lambda r: not (r["sex"] == "Z-unique").any()),
    "missing-in-a-complete-column": ({"score": None}, lambda r: not r["score"].isna().any()),
    "bound-breaking-value": ({"score": 10**6}, lambda r: r["score"].max() <= 100),
    "unknown-arm": ({"arm": "secret-arm"}, lambda r: set(r["arm"]) <= {"control", "treated"}),
}


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("case", list(PLANTED))
def test_a_planted_record_outside_the_declared_domain_never_appears(case, method):
    planted, never_shown = PLANTED[case]
    neighbour = _trial()
    for column, value in planted.items():
        neighbour[column] = neighbour[column].astype(object)
        neighbour.loc[0, column] = value
    for release in _releases(neighbour, DECLARED, method=method):
        assert never_shown(release)
        assert len(release) == len(neighbour)  # the row count is the public n


def test_the_declared_domain_decides_the_released_schema_not_the_data():
    """D and its neighbour give releases with the same columns, dtypes and possible values."""
    real = _trial()
    neighbour = real.copy()
    neighbour["band"] = neighbour["band"].astype(object)
    neighbour.loc[0, "band"] = "Z-unique"
    a, b = _releases(real, DECLARED, 1)[0], _releases(neighbour, DECLARED, 1)[0]
    assert list(a.columns) == list(b.columns) and (a.dtypes == b.dtypes).all()
    assert set(a["band"].dropna()) <= {"low", "mid", "high"} and set(b["band"].dropna()) <= {
        "low",
        "mid",
        "high",
    }


@pytest.mark.parametrize("method", sorted(METHODS))
def test_estimated_levels_do_not_admit_a_value_one_record_holds(method):
    estimated = dataclasses.replace(
        DECLARED,
        columns=(
            DECLARED.columns[0],
            ColumnDomain("sex", "categorical", missing=None),
            *DECLARED.columns[2:],
        ),
        estimate=True,
    )
    neighbour = _trial()
    neighbour["sex"] = neighbour["sex"].astype(object)
    neighbour.loc[0, "sex"] = "Z-unique"
    neighbour.loc[1, "sex"] = None
    for release in _releases(neighbour, estimated, method=method):
        assert set(release["sex"].dropna()) <= {"F", "M"} and not release["sex"].isna().any()


def test_nothing_real_is_restored_into_a_dp_file():
    """Columns outside the domain (here a constant and an id) come back empty, not as real values."""
    from trialsynth.data.restore import restore_dropped

    frame = _trial().assign(site="London", pupil_id=np.arange(800))
    data, meta = clean_public(frame, _plan(DECLARED))
    released = restore_dropped(_releases(frame, DECLARED, 1)[0], meta)
    assert released["site"].isna().all() and released["pupil_id"].isna().all()
    assert list(released.columns) == list(frame.columns)


def test_a_dp_file_keeps_the_format_of_the_cleaned_trial():
    """Numeric codes (0/1 arms, numbered bands) are numbers on both sides: the file is not
    'structural' for a dtype the domain decided."""
    from trialsynth.evaluation.metrics.evaluate import format_preserved

    domain = dataclasses.replace(
        DECLARED, columns=(ColumnDomain("arm", levels=(0, 1), missing=False), *DECLARED.columns[1:])
    )
    frame = _trial().assign(arm=lambda f: (f["arm"] == "treated").astype(int))
    data, _ = clean_public(frame, _plan(domain))
    release = _releases(frame, domain, 1)[0]
    assert format_preserved(data, release)
    assert pd.api.types.is_numeric_dtype(data["arm"]) and pd.api.types.is_numeric_dtype(release["arm"])


def test_one_record_cannot_change_how_the_rest_of_its_column_is_read(tmp_path):
    """A CSV reader types a whole column at once: one stray "x" turns every 1.0 into the text
    "1.0". The encoded marginal of the neighbour must still differ from the real one by one
    record (two cells by one), not by the whole column."""
    from trialsynth.data.loading import load_trial_data
    from trialsynth.synthesisers.discretise import bins_from_domain, encode

    domain = dataclasses.replace(
        DECLARED,
        columns=(*DECLARED.columns[:2], ColumnDomain("band", levels=(1, 2, 3)), *DECLARED.columns[3:]),
    )
    real = _trial(200).assign(band=np.resize([1.0, 2.0, 3.0, np.nan], 200))
    neighbour = real.astype({"band": object})
    neighbour.loc[5, "band"] = "x"
    counts = []
    for name, frame in (("d", real), ("d2", neighbour)):
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
        loaded, _ = load_trial_data(tmp_path / f"{name}.csv")
        data, _ = clean_public(loaded, _plan(domain))
        codes = encode(data, bins_from_domain(domain, 10))["band"]
        counts.append(np.bincount(codes, minlength=4))
    assert np.abs(counts[0] - counts[1]).sum() <= 2, counts


def test_estimated_levels_have_one_type_whatever_the_column_holds():
    """An integer-coded column with one missing value is read as floats: the estimated levels,
    and so the released dtype, must not show it."""
    from trialsynth.domain import domain_formats
    from trialsynth.dp.domain import complete
    from trialsynth.dp.noise import PublicNoise

    estimated = PublicDomain((ColumnDomain("band", "categorical", missing=False),), estimate=True)
    whole = pd.DataFrame({"band": np.resize([1, 2, 3], 3000)})
    with_gap = whole.astype(float)
    with_gap.loc[0, "band"] = np.nan
    found = []
    for frame in (whole, with_gap):
        done, _ = complete(frame, estimated, 0.05, 1e-6, PublicNoise(np.random.default_rng(0)))
        found.append((done.column("band").levels, domain_formats(done)["band"]))
    assert found[0] == found[1] and found[0][0] == (1, 2, 3)


def test_estimating_only_bounds_works():
    data = _trial(400)
    domain = dataclasses.replace(
        DECLARED,
        columns=(
            *DECLARED.columns[:3],
            ColumnDomain("score", "continuous", missing=False),
            DECLARED.columns[4],
        ),
        estimate=True,
    )
    release = _releases(data, domain, 1)[0]
    assert release["score"].notna().all() and len(release) == 400
