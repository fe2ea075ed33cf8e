"""Every default of a run, in one place: the manifest schema, the plans and the methods read them
from here."""

from __future__ import annotations

ARCHIVE_SEED = 20240601  # the archive seed when a manifest names none
SMALL_THRESHOLD = 5_000  # cleaned rows below this: ea (or none)
LARGE_THRESHOLD = 50_000  # cleaned rows at or above this: the large-trial DP method
# The large-trial DP method (``mst`` or ``aim``), chosen on ``bench/dp_methods.py``'s side-by-side:
# at epsilon 1 on the 67,200 x 36 demo AIM's correlation MSD 0.039 and effect CI overlap 0.65
# against untuned MST's 0.22 and -1; on CCES 2016 (64,600 x 20) 0.0066 and 0.98 against 0.0073, 0.87
LARGE_METHOD = "aim"
LARGE_METHODS = ("mst", "aim")
# how a non-private row-level method (CART) treats missing numeric values: modelled as they are,
# Appendix A's indicator + IterativeImputer, or indicator + hyperimpute (the comparator environment)
MISSING_VALUES = "native"
MISSING_VALUES_MODES = ("native", "indicator", "hyperimpute")
SMALL_POLICY = "ea"  # ea | none
EPSILON = 1.0  # the study's choice (typical guidance 0.01-1.1) when a DP trial is neither set nor tuned
EPSILON_CAP = 1.0  # policy: no single DP release above this
EPSILON_LIFETIME = 10.0  # per trial, summed over distinct releases
EA_GENERATIONS = 2_000  # the EA paper's generation budget
# The large-trial DP method's bounds (AIM, ``trialsynth.synthesisers.aim``): seconds of adaptive
# rounds before the last round spends what is left, and the junction tree's size cap in MB.
DP_TIME_BUDGET = 240.0
DP_MODEL_SIZE = 20.0
MST_TUNING_TRIALS = 6  # optuna trials on a public surrogate; 0: EPSILON, untuned
PRIVATE_REMEDY = True  # the risk ladder ends with a DP method over a public domain (false: blocked)
# rows each pupil of a long-format file contributes to that DP method, exactly (``dp.units``): the
# noise grows with it (rho / rows^2 a row); Project STAR's four grades, the RAND HIE's 3-5 years
DP_ROWS_PER_PUPIL = 4
HOLDOUT_SHARE = 0.2  # real rows kept from the synthesiser, to test on rows it never saw; 0: none
# Who may receive a released file (the study's access options; never public): accredited researchers
# in a secure environment, or a lower-security (safeguarded) tier.
ACCESS_TIERS = ("accredited", "safeguarded")
ACCESS_TIER = "accredited"
# The release gate's limits on disclosure measured on each file (``trialsynth.disclosure.gate``): a
# non-private file above any is blocked (``bench/attacks.py``: files that know nothing of their
# training rows score about 0 +- 0.3 on singling out, under 0.02 on linkability, under 0.05 on
# inference and 0.48-0.57 on dcr_share; a copy of the training rows 1.0, 0.73, 0.74 and 1.0).
RISK_LIMITS = {
    "singling_out_risk": 0.5,
    "linkability_risk": 0.1,
    "inference_risk": 0.2,
    "dcr_share": 0.65,
    # share of synthetic schools whose school-level values fit one real school (``metrics.schools``;
    # ``trialsynth.disclosure.schools`` brings a CART file's from 0.95 to 0 on the 9,900-row demo trial)
    "school_reidentification": 0.0,
}
