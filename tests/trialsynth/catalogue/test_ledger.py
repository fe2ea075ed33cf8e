import pytest

from trialsynth.catalogue import ledger
from trialsynth.catalogue.session import make_engine, make_sessionmaker
from trialsynth.errors import PrivacyBudgetError


@pytest.fixture()
def sessions(tmp_path):
    return make_sessionmaker(make_engine(f"sqlite:///{tmp_path / 'c.db'}"))


def _release(data_hash="h1", epsilon=1.0, seed=7):
    return ledger.Release("a", "t", epsilon, 1e-9, seed, data_hash, {"iterations": 10})


def test_cap_is_enforced(sessions):
    with pytest.raises(PrivacyBudgetError, match="epsilon 2 exceeds the policy cap epsilon_cap 1"):
        ledger.check(sessions, _release(epsilon=2.0), cap=1.0, lifetime=10.0)


def test_lifetime_budget_refuses_the_release_that_would_exceed_it(sessions):
    for attempt, data_hash in enumerate(["v1", "v2"]):
        release = _release(data_hash)
        assert ledger.check(sessions, release, cap=1.0, lifetime=2.5) == 1.0
        ledger.charge(sessions, release, attempt_id=attempt)
    assert ledger.spent(sessions, "a", "t") == 2.0
    with pytest.raises(PrivacyBudgetError, match="needs epsilon 1 but 2 of the lifetime budget"):
        ledger.check(sessions, _release("v3"), cap=1.0, lifetime=2.5)


def test_the_identical_release_is_charged_once(sessions):
    release = _release()
    ledger.charge(sessions, release, attempt_id=1)
    assert ledger.check(sessions, release, cap=1.0, lifetime=1.0) == 0.0  # a retry: no new spend
    ledger.charge(sessions, release, attempt_id=2)
    assert ledger.spent(sessions, "a", "t") == 1.0
    assert _release(seed=8).key != release.key
