"""What shapes a released file outside its method, each rule with the version its own module
declares - the release identity holds them (``release.identity``), so a deploy that changes one
re-synthesises the trials it touches and a deploy that changes none re-synthesises nothing.

``PIPELINE_VERSION`` covers the rest of a file's path: Appendix A's cleaning (``data.cleaning``,
``dp.cleaning``), the holdout (``evaluation.holdout``), the school labels dealt to a file
(``disclosure.schools.assign_schools``), the dropped columns put back (``data.restore``) and the
released format (``data.files``). Bump it when any of them changes a file:
``tests/trialsynth/synthesisers/test_method_versions.py`` releases a tiny seeded trial through
``run_trial`` and fails when its file changes while no version here or in
``synthesisers.METHOD_VERSIONS`` did."""

from __future__ import annotations

from trialsynth.disclosure import risk, schools, uniques

PIPELINE_VERSION = "pipeline-1"


def file_rules() -> dict[str, str]:
    """Every rule's version, by what it decides."""
    return {
        "pipeline": PIPELINE_VERSION,
        "replicated_uniques": uniques.GATE_RULE,
        "risk_ladder": risk.RISK_RULE,
        "school_control": schools.RULE,
    }
