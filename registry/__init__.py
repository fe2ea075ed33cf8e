"""The archive registry: manifest schema, validation, trial loading and the demo archive."""

from registry.loading import load_trial_data, read_columns
from registry.manifest import Manifest, RegistryDefaults, TcapSpec, Trial, load_manifest
from registry.validation import validate_registry

__all__ = [
    "Manifest",
    "RegistryDefaults",
    "TcapSpec",
    "Trial",
    "load_manifest",
    "load_trial_data",
    "read_columns",
    "validate_registry",
]
