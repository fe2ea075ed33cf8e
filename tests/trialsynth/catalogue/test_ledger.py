import threading

import pytest

from trialsynth.catalogue import ledger
from trialsynth.catalogue.session import make_engine, make_sessionmaker
from trialsynth.errors import PrivacyBudgetError

LIMITS = ledger.Limits(cap=1.0, lifetime=2.5)


@pytest.fixture()
def sessions(tmp_path):
    return make_sessionmaker(make_engine(f"sqlite:///{tmp_path / 'c.db'}"))


@pytest.fixture(scope="module")
def postgres_sessions(postgres_url):
    return make_sessionmaker(make_engine(postgres_url))


def _release(identity="i1", epsilon=1.0, trial="t", archive="a", forced=False):
    return ledger.Release(archive, trial, epsilon, 1e-9, identity, forced)


def test_cap_is_enforced_and_nothing_is_charged(sessions):
    with pytest.raises(PrivacyBudgetError, match="epsilon 2 exceeds the policy cap epsilon_cap 1"):
        ledger.reserve(sessions, _release(epsilon=2.0), 1, LIMITS)
    assert ledger.spent(sessions, "a", "t") == 0.0


def test_lifetime_budget_refuses_the_release_that_would_exceed_it(sessions):
    for attempt, identity in enumerate(["v1", "v2"]):
        assert ledger.reserve(sessions, _release(identity), attempt, LIMITS) == 1.0
    assert ledger.spent(sessions, "a", "t") == 2.0
    with pytest.raises(PrivacyBudgetError, match="needs epsilon 1 but 2 of the lifetime budget"):
        ledger.reserve(sessions, _release("v3"), 3, LIMITS)
    assert ledger.spent(sessions, "a", "t") == 2.0


def test_every_fit_is_charged_even_of_the_same_identity(sessions):
    """A forced re-release of the same data draws new noise: it is a new release and pays."""
    ledger.reserve(sessions, _release("same"), 1, LIMITS)
    ledger.reserve(sessions, _release("same", forced=True), 2, LIMITS)
    assert ledger.spent(sessions, "a", "t") == 2.0


def test_the_archive_budget_spans_trials(sessions):
    limits = ledger.Limits(cap=1.0, lifetime=5.0, archive_lifetime=1.5)
    ledger.reserve(sessions, _release(trial="t1"), 1, limits)
    with pytest.raises(PrivacyBudgetError, match="archive's budget epsilon_archive_lifetime 1.5"):
        ledger.reserve(sessions, _release(trial="t2"), 2, limits)
    assert ledger.spent(sessions, "a") == 1.0


def _race(sessions, writers: int, limits) -> tuple[list, list]:
    barrier = threading.Barrier(writers)
    charged, refused = [], []

    def write(i: int) -> None:
        barrier.wait()
        try:
            charged.append(ledger.reserve(sessions, _release(f"r{i}"), i, limits))
        except PrivacyBudgetError:
            refused.append(i)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return charged, refused


def test_concurrent_reservations_never_overspend_on_sqlite(sessions):
    charged, refused = _race(sessions, 6, ledger.Limits(cap=1.0, lifetime=2.0))
    assert len(charged) == 2 and len(refused) == 4
    assert ledger.spent(sessions, "a", "t") == 2.0


def test_concurrent_reservations_never_overspend_on_postgresql(postgres_sessions):
    """Six writers start at once against a lifetime only two fit: serialisable check-and-charge
    lets exactly two through (without it, every writer reads 0 spent and all six pass)."""
    charged, refused = _race(postgres_sessions, 6, ledger.Limits(cap=1.0, lifetime=2.0))
    assert len(charged) == 2 and len(refused) == 4
    assert ledger.spent(postgres_sessions, "a", "t") == 2.0
