"""Which process owns a running attempt or a temporary file: ``host:pid``.

On the owner's own host a dead pid proves the owner is gone (killed, out of memory), so its
attempt or file can be cleaned up at once; elsewhere only the lease (heartbeat) can tell.
A reused pid only makes a dead owner look alive, which errs on the safe side: the lease still
expires.
"""

from __future__ import annotations

import os
import socket


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def is_gone(owner: str | None) -> bool:
    """True only when ``owner`` ran on this host and its process no longer exists."""
    if not owner or ":" not in owner:
        return False
    host, _, pid = owner.rpartition(":")
    if _plain(host) != _plain(socket.gethostname()) or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _plain(host: str) -> str:
    return host.replace(".", "_")  # as written into file names


def file_tag() -> str:
    """This process as a file-name part (no dots or colons): ``host@pid``."""
    return _plain(this_process()).replace(":", "@")
