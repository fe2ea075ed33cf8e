"""The method table: each synthesiser by the permanent name stored in the catalogue.

Engines are imported lazily (``"module:Class"``) so that importing the table never loads a heavy
package. Besides the methods, a manifest may say ``auto`` (route by size) or ``none`` (release
nothing); those two are routes, not methods.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from trialsynth.errors import MethodNotAvailableError
from trialsynth.synthesisers.base import (
    CAPABILITIES,
    DifferentiallyPrivate,
    FromReleasedOutputs,
    Redraws,
    Synthesiser,
    Tunable,
    capabilities_of,
)

SYNTHESISERS: dict[str, str] = {
    "cart": "trialsynth.synthesisers.cart:CartSynthesiser",
    "mst": "trialsynth.synthesisers.mst:MstSynthesiser",
    "aim": "trialsynth.synthesisers.aim:AimSynthesiser",
    "ea": "trialsynth.synthesisers.ea:EaSynthesiser",
    # synthcity's generators, run in the comparator environment (``trialsynth.comparators``)
    "gan": "trialsynth.synthesisers.synthcity_methods:GanSynthesiser",
    "pategan": "trialsynth.synthesisers.synthcity_methods:PateGanSynthesiser",
    "ctgan": "trialsynth.synthesisers.synthcity_methods:CtganSynthesiser",
}
ROUTES = ("auto", "none")
# Each method's version, part of every release identity it may make (``release.identity``):
# bumped whenever its file for the same data, settings and seed changes, so that a deploy
# re-synthesises what changed and nothing else. ``tests/trialsynth/synthesisers/
# test_method_versions.py`` fails when a method's file on a tiny seeded trial changes without a
# bump (and names the bump).
METHOD_VERSIONS: dict[str, str] = {
    "cart": "cart-1",
    "mst": "mst-1",
    "aim": "aim-2",
    "ea": "ea-2",
    "gan": "synthcity-gan-1",
    "pategan": "synthcity-pategan-1",
    "ctgan": "synthcity-ctgan-1",
}


def method_names() -> tuple[str, ...]:
    """Every name a manifest's ``method`` may take in this installation."""
    return (*ROUTES, *sorted(SYNTHESISERS))


def synthesiser_class(name: str) -> type[Synthesiser]:
    """The class registered as ``name``."""
    if name not in SYNTHESISERS:
        available = ", ".join(sorted(SYNTHESISERS))
        raise MethodNotAvailableError(
            f"method {name!r} is not available in this installation (registered: {available})"
        )
    module, _, cls = SYNTHESISERS[name].partition(":")
    return getattr(import_module(module), cls)


def is_private(name: str) -> bool:
    """Whether the method routed as ``name`` is differentially private (``none`` is not)."""
    return name != "none" and "differentially_private" in capabilities_of(synthesiser_class(name))


def get_synthesiser(name: str, **params: Any) -> Synthesiser:
    """A new synthesiser registered as ``name``, built with ``params``."""
    return synthesiser_class(name)(**params)


__all__ = [
    "CAPABILITIES",
    "SYNTHESISERS",
    "DifferentiallyPrivate",
    "FromReleasedOutputs",
    "Synthesiser",
    "Redraws",
    "Tunable",
    "capabilities_of",
    "get_synthesiser",
    "is_private",
    "method_names",
    "synthesiser_class",
]
