"""Registered synthesisers, by the permanent name stored in the catalogue.

Engines are imported lazily so that importing the registry never loads a heavy package.
"""

from __future__ import annotations

from importlib import import_module

from trialsynth.errors import MethodNotAvailableError
from trialsynth.synthesisers.base import Synthesiser

SYNTHESISERS: dict[str, str] = {
    "cart": "trialsynth.synthesisers.cart:CartSynthesiser",
    "mst": "trialsynth.synthesisers.mst:MstSynthesiser",
    "ea": "trialsynth.synthesisers.ea:EaSynthesiser",
}


def get_synthesiser(name: str, **params) -> Synthesiser:
    """A new synthesiser registered as ``name``, built with ``params``."""
    if name not in SYNTHESISERS:
        available = ", ".join(sorted(SYNTHESISERS))
        raise MethodNotAvailableError(
            f"method {name!r} is not available in this installation (registered: {available})"
        )
    module, _, cls = SYNTHESISERS[name].partition(":")
    return getattr(import_module(module), cls)(**params)


__all__ = ["SYNTHESISERS", "Synthesiser", "get_synthesiser"]
