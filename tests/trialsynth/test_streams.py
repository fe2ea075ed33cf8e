import numpy as np
import pytest

from trialsynth.streams import STEPS, Streams, derive_seed


def test_seed_depends_on_archive_seed_and_trial_only():
    assert derive_seed(1, "a") == derive_seed(1, "a")
    assert len({derive_seed(1, "a"), derive_seed(2, "a"), derive_seed(1, "b")}) == 3


def test_every_step_has_its_own_stream():
    streams = Streams(7)
    first = {step: streams.generator(step).random(4).tolist() for step in STEPS}
    assert len({tuple(v) for v in first.values()}) == len(STEPS)
    # a step's stream starts at the same point whatever another step drew before
    streams.generator("fit").random(10_000)
    assert streams.generator("sample").random(4).tolist() == first["sample"]


def test_the_trial_seed_is_not_any_steps_state():
    """No step starts in ``default_rng(seed)``'s state."""
    streams = Streams(7)
    plain = np.random.default_rng(7).random(4).tolist()
    assert plain not in [streams.generator(s).random(4).tolist() for s in STEPS]


def test_int_seeds_are_per_step_and_dp_noise_is_no_stream():
    """DP noise is never derived from the stored seed: there is no ``noise`` stream to ask for."""
    streams = Streams(7)
    assert len({streams.seed_of(s) for s in STEPS}) == len(STEPS)
    assert "noise" not in STEPS
    for ask in (streams.generator, streams.seed_of):
        with pytest.raises(ValueError, match="'step' parameter"):
            ask("noise")


def test_each_repetition_of_a_step_has_its_own_stream_and_the_first_is_the_steps_own():
    """A remedy's gate and draws: from the step's one stream, a gate that re-draws the whole file
    gave the first remedy the first draw's file back (demo trial-005: dcr_share 0.677 twice)."""
    streams = Streams(7)
    first = streams.generator("redraw").integers(0, 2**31, 4).tolist()
    assert streams.generator("redraw", 0).integers(0, 2**31, 4).tolist() == first  # unchanged
    again = [streams.generator("redraw", k).integers(0, 2**31, 4).tolist() for k in (1, 2)]
    assert first not in again and again[0] != again[1]
    assert streams.generator("redraw", 1).integers(0, 2**31, 4).tolist() == again[0]  # reproducible
