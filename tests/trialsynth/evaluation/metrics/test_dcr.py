"""``dcr_share`` read against its measured null: unseen rows score 0.5 where values repeat and
in long format, copies are still caught."""

import numpy as np
import pandas as pd

from trialsynth.data.cleaning import clean
from trialsynth.evaluation.holdout import holdout_mask
from trialsynth.evaluation.metrics import METRICS, evaluation_view
from trialsynth.evaluation.metrics.attacks import Space, _dcr
from trialsynth.evaluation.metrics.dcr import dcr_share
from trialsynth.plan import Roles


def _coarse(n, rng, pupils_rows=1):
    """Coded columns whose values repeat (a narrow file): many combinations held by a few rows."""
    pupils = n // pupils_rows
    frame = pd.DataFrame(
        {
            "treatment": rng.integers(0, 2, pupils),
            "sex": rng.choice(["F", "M"], pupils),
            "band": rng.choice(list("abcdefgh"), pupils, p=[0.3, 0.2, 0.15, 0.1, 0.1, 0.07, 0.05, 0.03]),
            "post_test_1": np.round(rng.gamma(2.0, 4.0, pupils), 1),  # a long thin tail
        }
    )
    frame = frame.loc[frame.index.repeat(pupils_rows)].reset_index(drop=True)  # a pupil's rows alike
    return frame, np.repeat(np.arange(pupils), pupils_rows)


def _coarse_attack(real, synthetic, held, units=None):
    data, meta = clean(
        pd.concat([real, synthetic], ignore_index=True),
        Roles.of(treatment="treatment", outcomes=["post_test_1"], categorical=["band"]),
        trial_id="t",
    )
    real_view, synth_view, ctx = evaluation_view(
        data.iloc[: len(real)], data.iloc[len(real) :], meta, 3, held, units
    )
    return METRICS["dcr"](real_view, synth_view, ctx)["dcr_share"]


def test_on_coarse_data_unseen_rows_score_no_closer_and_copies_still_are_caught():
    """Values that repeat sit in the larger (training) set alone more often than its size says
    (read against the sets' sizes alone, unseen rows scored 0.61 here): the share is read against
    what real rows score against the two sets less themselves, over the rows not tied."""
    unseen = []
    for seed in range(3):
        rng = np.random.default_rng(10 + seed)
        real, _ = _coarse(3000, rng)
        other, _ = _coarse(3000, rng)
        held = holdout_mask(len(real), 0.2, np.random.default_rng(seed))
        unseen.append(_coarse_attack(real, other, held))
    assert 0.4 < float(np.median(unseen)) < 0.57  # the null is measured, so noisy on coarse data
    training = real.loc[~held]
    copy = training.sample(len(real), replace=True, random_state=2).reset_index(drop=True)
    assert _coarse_attack(real, copy, held) > 0.95
    quarter = pd.concat([training.sample(750, random_state=3), other.iloc[750:]], ignore_index=True)
    assert _coarse_attack(real, quarter, held) > max(unseen) + 0.05


def test_every_row_tied_reads_as_no_closer():
    """A file whose every row is as close to both sets (a handful of values, held by every
    set) says nothing of where its rows came from."""
    trained = np.zeros((400, 2))
    held = np.zeros((100, 2))
    assert dcr_share(trained, held, np.zeros((300, 2)), np.random.default_rng(0)) == (0.5, 0.5, 0.5)


def test_in_long_format_unseen_pupils_score_no_closer_and_copied_pupils_are_caught():
    """Rows of a pupil held out together, the null leaving each real row's own pupil out."""
    rng = np.random.default_rng(5)
    real, units = _coarse(3000, rng, pupils_rows=3)
    other, _ = _coarse(3000, rng, pupils_rows=3)
    held = np.isin(units, np.random.default_rng(1).choice(units.max() + 1, 200, replace=False))
    copy = real.loc[~held].sample(len(real), replace=True, random_state=2).reset_index(drop=True)
    assert abs(_coarse_attack(real, other, held, units) - 0.5) < 0.08
    assert _coarse_attack(real, copy, held, units) > 0.9


def _ratings(pupils, rng, rows=8):
    """A narrow coded long file: each pupil's ratings of five coded columns (insteval-like), a
    pupil's ratings leaning its own way."""
    lean = rng.normal(0, 1, pupils)
    unit = np.repeat(np.arange(pupils), rows)
    score = np.clip(np.round(3 + lean[unit] + rng.normal(0, 1, len(unit))), 1, 5)
    frame = pd.DataFrame(
        {
            "treatment": rng.integers(0, 2, len(unit)),
            "age": rng.integers(0, 4, pupils)[unit].astype(str),
            "dept": rng.choice(list("abcdefgh"), len(unit)),
            "post_test_1": score,
        }
    )
    return frame, unit


def _pupil_attack(real, units, synthetic, synth_units, held):
    codes = [c for c in ("age", "dept") if c in real]
    data, meta = clean(
        pd.concat([real, synthetic], ignore_index=True),
        Roles.of(treatment="treatment", outcomes=["post_test_1"], categorical=codes),
        trial_id="t",
    )
    real_view, synth_view, ctx = evaluation_view(
        data.iloc[: len(real)], data.iloc[len(real) :], meta, 3, held, units, synth_units
    )
    space = Space(real_view, ctx)  # the attacks' own reading of dcr_share, without the attacks
    embedded = [space.embed(real_view.loc[~held]), space.embed(real_view.loc[held]), space.embed(synth_view)]
    return _dcr(*embedded, ctx, np.random.default_rng(3))[0]


def test_a_long_files_new_pupils_are_compared_with_real_pupils_whole():
    """Rows of five codes are held by many pupils (mostly tied, the null near 1): compared as
    pupils, unseen pupils score 0.5 and copied pupils are caught."""
    unseen = []
    for seed in range(3):
        rng = np.random.default_rng(seed)
        real, units = _ratings(1500, rng)
        other, other_units = _ratings(1500, rng)
        held = np.isin(units, np.random.default_rng(2).choice(1500, 300, replace=False))
        unseen.append(_pupil_attack(real, units, other, other_units, held))
    assert abs(float(np.median(unseen)) - 0.5) < 0.1  # one file: +-0.1 at 1,500 pupils
    copied = real.loc[~held].reset_index(drop=True)
    assert _pupil_attack(real, units, copied, units[~held], held) > 0.95
    # the same rows dealt to other pupils: no pupil copied, and rows of five codes tell nothing
    shuffled = rng.permutation(len(copied))
    assert _pupil_attack(real, units, copied.iloc[shuffled], units[~held], held) < 0.65


def _measured(pupils, rng):
    """A long file of measurements (rows rarely tied), 4-12 rows a pupil."""
    counts = rng.integers(4, 13, pupils)
    unit = np.repeat(np.arange(pupils), counts)
    wave = np.concatenate([np.arange(c) for c in counts])
    pre = rng.normal(0, 1, pupils)[unit]
    frame = pd.DataFrame(
        {
            "treatment": rng.integers(0, 2, pupils)[unit],
            "age": rng.integers(0, 4, pupils)[unit].astype(str),
            "wave": wave.astype(float),
            "pre_test_1": (pre + rng.normal(0, 0.3, len(unit))).round(3),
            "post_test_1": (pre + 0.2 * wave + rng.normal(0, 1, len(unit))).round(3),
        }
    )
    return frame, unit


def test_rows_copied_into_new_pupils_or_a_pupils_first_rows_are_caught_between_rows():
    """Compared as pupils (mean of rows, row count) such copies look new (0.56-0.64): a long
    file's share is the larger of the pupils' and the rows', where the rows can tell."""
    rng = np.random.default_rng(4)
    real, units = _measured(800, rng)
    other, other_units = _measured(800, rng)
    held = np.isin(units, np.random.default_rng(3).choice(800, 160, replace=False))
    assert _pupil_attack(real, units, other, other_units, held) < 0.6
    training, trained_units = real.loc[~held].reset_index(drop=True), units[~held]
    regrouped = training.iloc[rng.permutation(len(training))].reset_index(drop=True)
    assert _pupil_attack(real, units, regrouped, trained_units, held) > 0.95
    first = pd.Series(trained_units).groupby(trained_units).cumcount().to_numpy() < 2
    assert _pupil_attack(real, units, training.loc[first], trained_units[first], held) > 0.95


def test_pupil_profiles_are_the_mean_of_a_pupils_rows_and_its_row_count():
    from trialsynth.evaluation.metrics.dcr import pupil_profiles

    points = np.array([[0.0, 1.0], [1.0, 1.0], [0.5, 0.0]])
    profiles = pupil_profiles(points, np.array(["b", "b", "a"]), most_rows=4)
    assert profiles.tolist() == [[0.5, 1.0, 0.5], [0.5, 0.0, 0.25]]


def _cloud(n, rng):
    """Correlated measurements: the real pupils' rows as points."""
    base = rng.normal(0, 1, (n, 1))
    return base + rng.normal(0, 0.5, (n, 6))


def test_a_file_that_ignores_the_data_reads_no_closer_wherever_its_rows_fall():
    """Rows far from every real row share a handful of nearest rows at the data's edge, and which
    set holds those decided the whole file (0.73-0.94 before rows out of reach were set aside)."""
    for offset in (0.0, 1.5, 6.0):  # a box around the data, beside it, far from it
        readings = []
        for seed in range(5):
            rng = np.random.default_rng(seed)
            real = _cloud(3000, rng)
            held = holdout_mask(len(real), 0.2, np.random.default_rng(seed + 50))
            ignoring = rng.uniform(-3, 3, (3000, 6)) + offset  # no use of the real rows at all
            readings.append(dcr_share(real[~held], real[held], ignoring, np.random.default_rng(seed))[0])
        assert all(0.45 <= r <= 0.55 for r in readings), (offset, readings)


def test_rows_copied_beside_rows_that_ignore_the_data_are_still_caught():
    """Far rows read as no closer, copies as copies: half and half reads 0.75."""
    rng = np.random.default_rng(7)
    real = _cloud(3000, rng)
    held = holdout_mask(len(real), 0.2, np.random.default_rng(8))
    training = real[~held]
    copies = training[rng.choice(len(training), 1500)]
    far = rng.uniform(-3, 3, (1500, 6)) + 6.0
    share, low, _ = dcr_share(training, real[held], np.vstack([copies, far]), np.random.default_rng(1))
    assert 0.72 < low <= share < 0.78
    assert dcr_share(training, real[held], copies, np.random.default_rng(1))[0] > 0.95
    other = _cloud(3000, rng)  # other pupils of the same population: no closer
    assert abs(dcr_share(training, real[held], other, np.random.default_rng(2))[0] - 0.5) < 0.06


def test_rows_that_share_one_nearest_real_row_count_as_one_in_the_interval():
    """A file of a few rows repeated many times: which set holds their nearest rows is known
    from a few rows only, and the interval says so."""
    rng = np.random.default_rng(3)
    real = _cloud(3000, rng)
    held = holdout_mask(len(real), 0.2, np.random.default_rng(4))
    few = real[~held][:5] + 0.01  # five training rows, nudged, repeated 600 times each
    share, low, high = dcr_share(real[~held], real[held], np.repeat(few, 600, axis=0), rng)
    assert share > 0.9 and high - low > 0.3  # five rows' worth of evidence, not 3,000
    spread = dcr_share(real[~held], real[held], real[~held][:3000] + 0.01, rng)
    assert spread[0] > 0.9 and spread[2] - spread[1] < 0.05


def test_a_trial_file_drawn_without_the_data_reads_no_closer_through_the_whole_evaluation(cleaned_trial):
    """The demo trial's columns, training and held-out rows in one form (the evaluation view):
    every column drawn within its real range or levels and ignoring the rows, near the data or
    shifted far from it, reads about 0.5 whatever the holdout split."""
    from trialsynth.evaluation.metrics.evaluate import evaluate

    data, meta = cleaned_trial
    for shift in (0.0, 2.0):
        shares = []
        for seed in range(3):
            rng = np.random.default_rng(seed)
            drawn = {}
            for name in data.columns:
                values = data[name].dropna()
                if meta.kinds[name] == "categorical" or not pd.api.types.is_numeric_dtype(values):
                    drawn[name] = rng.choice(values.unique(), len(data))
                else:
                    low, high = float(values.min()), float(values.max())
                    drawn[name] = rng.uniform(low, high, len(data)) + shift * (high - low)
            held = holdout_mask(len(data), 0.2, np.random.default_rng(100 + seed))
            shares.append(evaluate(data, pd.DataFrame(drawn), meta, seed, held)["dcr_share"])
        # far from the data: its rows are set aside; around it (800 real rows), each is read and
        # which set holds its nearest row is chance (the demo's 9,900-row trial: 0.51-0.52)
        low, high = (0.45, 0.55) if shift else (0.38, 0.62)
        assert all(low <= share <= high for share in shares), (shift, shares)
        assert 0.45 <= float(np.median(shares)) <= 0.55, (shift, shares)


def test_copies_pushed_out_of_reach_by_one_column_are_still_read(cleaned_trial):
    """A copy with one column set to an unseen level, or a numeric column to a sentinel value,
    is farther from every real row than real pupils are from each other, but it still sits
    nearest its own source (no hub): read as a copy, not set aside as chance."""
    from trialsynth.evaluation.metrics.evaluate import evaluate

    data, meta = cleaned_trial
    held = holdout_mask(len(data), 0.2, np.random.default_rng(4))
    training = data.loc[~held].reset_index(drop=True)
    copies = training.sample(len(data), replace=True, random_state=1).reset_index(drop=True)
    level = copies.copy()
    coded = next(c for c in data.columns if meta.kinds[c] == "categorical" and c != meta.cluster)
    level[coded] = "never-seen"
    sentinel = copies.copy()
    measured = next(c for c in data.columns if meta.kinds[c] == "continuous" and data[c].notna().all())
    sentinel[measured] = 999_999.0
    for pushed in (level, sentinel):
        assert evaluate(data, pushed, meta, 3, held)["dcr_share"] > 0.9
