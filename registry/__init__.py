"""The archive registry: manifest schema, validation, plans, trial loading and the demo archive."""

from registry.loading import load_trial_data, read_columns
from registry.manifest import Manifest, RegistryDefaults, TcapSpec, Trial, load_manifest
from registry.plans import build_plan, build_plans
from registry.validation import validate_registry

__all__ = [
    "Manifest",
    "RegistryDefaults",
    "TcapSpec",
    "Trial",
    "build_plan",
    "build_plans",
    "load_manifest",
    "load_trial_data",
    "read_columns",
    "validate_registry",
]
