"""One Prefect test harness (a temporary API server) for every flow test in the session."""

import pytest


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory):
    from flows.environment import configure_prefect

    configure_prefect(tmp_path_factory.mktemp("prefect-home"))
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
