"""An attempt's lease: renewed from a background thread while its trial runs, so a run can tell
an attempt whose process died (lease run out) from one still at work."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy.orm import sessionmaker

from trialsynth.catalogue.models import Attempt

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 30  # a running attempt refreshes heartbeat_at this often
LEASE_SECONDS = 300  # a running attempt silent this long belongs to a process that died


def beat(sessions: sessionmaker, attempt_id: int) -> None:
    """Renew a running attempt's lease."""
    with sessions.begin() as session:
        session.get(Attempt, attempt_id).heartbeat_at = datetime.now(UTC)


@contextmanager
def heartbeat(sessions: sessionmaker, attempt_id: int, every: float = HEARTBEAT_SECONDS) -> Iterator[None]:
    """Renew the attempt's lease from a background thread while the block runs."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every):
            try:
                beat(sessions, attempt_id)
            except Exception:  # noqa: BLE001 - a missed beat must not kill the trial
                log.warning("heartbeat of attempt %s failed", attempt_id, exc_info=True)

    thread = threading.Thread(target=loop, name=f"heartbeat-{attempt_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
