import pytest

from trialsynth.plan import Policy
from trialsynth.synthesisers.routing import route

DEFAULTS = Policy()


@pytest.mark.parametrize(
    ("n_rows", "method", "defaults", "expected"),
    [
        (1200, "auto", DEFAULTS, "ea"),
        (4999, "auto", DEFAULTS, "ea"),
        (5000, "auto", DEFAULTS, "cart"),
        (49999, "auto", DEFAULTS, "cart"),
        (50000, "auto", DEFAULTS, "aim"),
        (50000, "auto", Policy(large_method="mst"), "mst"),
        (50000, "mst", DEFAULTS, "mst"),
        (1200, "auto", Policy(small_policy="none"), "none"),
        (1200, "cart", DEFAULTS, "cart"),
        (90000, "none", DEFAULTS, "none"),
        (800, "auto", Policy(small_threshold=500, large_threshold=1000), "cart"),
    ],
)
def test_route(n_rows, method, defaults, expected):
    decision = route(n_rows, method, defaults)
    assert decision.method == expected
    assert f"{n_rows:,}" in decision.reason


def test_none_policy_says_why():
    decision = route(1200, "auto", Policy(small_policy="none"))
    assert "small_policy is none" in decision.reason and "no synthetic file" in decision.reason


def test_an_unknown_large_method_is_refused():
    with pytest.raises(ValueError, match="large_method"):
        Policy(large_method="gan")


def test_thresholds_must_be_ordered():
    with pytest.raises(ValueError, match="must not exceed"):
        Policy(small_threshold=10, large_threshold=5)
