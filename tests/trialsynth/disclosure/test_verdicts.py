"""A comparison's verdicts: each rule of the release gate measured against its limit, recorded and
never enforced; a file the gate would refuse is one the comparison does not keep."""

from trialsynth.defaults import RISK_LIMITS
from trialsynth.disclosure.risk import RiskGate
from trialsynth.disclosure.uniques import Gate
from trialsynth.disclosure.verdicts import OVER, UNMEASURED, WITHIN, Verdicts

LIMITS = tuple(RISK_LIMITS.items())


def _gate(replicated=0, enforced=True, pupils=None):
    return Gate(
        keys=(),
        key_basis="every synthesised column",
        compared=("a", "b"),
        real_uniques=40,
        exact_matches=5,
        replicated_initial=replicated,
        replicated_uniques=replicated,
        enforced=enforced,
        pupils=pupils,
    )


def _risks(enforced=True, **values):
    measured = {name: 0.0 for name in RISK_LIMITS} | {"dcr_share": 0.5} | values
    why = "" if enforced else "differentially private"
    return RiskGate(LIMITS, tuple(measured.items()), enforced=enforced, why_not_enforced=why)


def test_a_file_within_every_limit_would_be_released():
    verdicts = Verdicts(_gate(), _risks())
    assert verdicts.would_release
    checks = verdicts.checks()
    assert set(checks) == {"replicated_uniques", *RISK_LIMITS}
    assert all(check["verdict"] == WITHIN for check in checks.values())
    assert verdicts.record()["disclosure"]["file_kept"] is True


def test_each_rule_over_its_limit_is_named_and_the_file_not_kept():
    copied = Verdicts(_gate(replicated=3), _risks())
    assert not copied.would_release and copied.checks()["replicated_uniques"] == {
        "value": 3,
        "limit": 0,
        "verdict": OVER,
        "enforced": True,
    }
    near = Verdicts(_gate(), _risks(dcr_share=0.81, school_reidentification=0.25))
    checks = near.checks()
    assert not near.would_release and near.record()["disclosure"]["file_kept"] is False
    assert checks["dcr_share"]["verdict"] == OVER and checks["dcr_share"]["limit"] == 0.65
    assert checks["school_reidentification"]["verdict"] == OVER
    assert checks["singling_out_risk"]["verdict"] == WITHIN
    pupils = Verdicts(_gate(pupils=(4, 2)), _risks())  # a long file's copied pupils left
    assert not pupils.would_release and pupils.checks()["replicated_uniques"]["value"] == 2


def test_an_attack_that_could_not_be_measured_blocks_as_the_gate_reads_it():
    verdicts = Verdicts(_gate(), _risks(linkability_risk=None))
    assert verdicts.checks()["linkability_risk"]["verdict"] == UNMEASURED
    assert not verdicts.would_release


def test_a_private_file_over_a_limit_is_released_as_drawn_and_says_so():
    verdicts = Verdicts(_gate(replicated=2, enforced=False), _risks(enforced=False, dcr_share=0.9))
    assert verdicts.would_release
    checks = verdicts.checks()
    assert checks["dcr_share"]["verdict"] == OVER and checks["dcr_share"]["enforced"] is False
    assert checks["replicated_uniques"]["verdict"] == OVER


def test_a_private_method_on_a_domain_drafted_from_the_rows_is_judged_as_any_file():
    """Not private (its domain was read from the rows): both rules hold for it."""
    drafted = Verdicts(_gate(replicated=2, enforced=False), _risks(enforced=False), private_as_drawn=False)
    assert not drafted.would_release and drafted.checks()["replicated_uniques"]["enforced"] is True
    near = Verdicts(_gate(enforced=False), _risks(enforced=False, dcr_share=0.9), private_as_drawn=False)
    assert not near.would_release
    assert Verdicts(_gate(enforced=False), _risks(enforced=False), private_as_drawn=False).would_release
