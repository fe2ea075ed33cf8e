"""What the marginal-based DP methods (MST, AIM) share: the public domain made ready to measure,
rows of a fitted mbi model turned back into a trial's file, and their measurements stored and
restored (``dp.stored``).

``prepare`` reads the data only to estimate what the operator left undeclared in the domain (under
DP, with ``estimate_share`` of the budget) and to encode it; ``release`` is post-processing of a
fitted model and reads no record.
"""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from trialsynth.domain import PublicDomain, domain_formats
from trialsynth.dp.accounting import Budget, plan_budget
from trialsynth.dp.atoms import Atoms, bin_weights, select_atoms
from trialsynth.dp.domain import complete
from trialsynth.dp.noise import Noise
from trialsynth.dp.stored import Measurement, StoredMeasurements
from trialsynth.errors import TrialDataError
from trialsynth.meta import TrialMeta
from trialsynth.synthesisers.base import restore_dtypes
from trialsynth.synthesisers.clusters import label_mapping
from trialsynth.synthesisers.discretise import ColumnBins, bins_from_domain, decode, encode
from trialsynth.synthesisers.dp_schools import constant_within, form_schools


def load_mbi():
    """mbi, with JAX in double precision and without the persistent compilation cache."""
    import jax

    jax.config.update("jax_enable_x64", True)  # float32 stalls estimation on large trials
    jax.config.update("jax_enable_compilation_cache", False)  # many small programs: cache hurts
    import mbi

    return mbi


@dataclass
class Prepared:
    """A trial ready to measure: its completed public domain, bins and codes."""

    budget: Budget
    domain: PublicDomain
    estimated: dict[str, Any]
    formats: dict[str, tuple[Any, int]]
    scheme: dict[str, ColumnBins]
    school_labels: dict | None
    dataset: Any  # mbi.Dataset of the codes (None when restored from stored measurements)
    n_bins: int
    rows: int | None = None  # the public row count, when there is no dataset
    atoms: dict[str, Atoms] = dataclasses.field(default_factory=dict)  # selected under DP (``dp.atoms``)
    atoms_record: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def bin_scheme(self) -> dict[str, dict]:
        return {name: bins.describe() for name, bins in self.scheme.items()}

    @property
    def n(self) -> int:
        return int(self.dataset.records) if self.dataset is not None else int(self.rows or 0)


def prepare(
    data: pd.DataFrame,
    meta: TrialMeta,
    *,
    epsilon: float,
    delta: float,
    n_bins: int,
    noise: Noise,
    unit_rows: int = 1,
    atoms_share: float = 0.0,
) -> Prepared:
    """Plan the budget, complete the public domain (estimating what is undeclared under DP),
    select the continuous columns' atoms with ``atoms_share`` of rho (``dp.atoms``) and encode the
    trial on the domain. The school labels' order comes from the secret source, never stored.
    ``unit_rows``: the rows each record (a long file's pupil) contributes, exactly
    (``dp.accounting``)."""
    if meta.domain is None:
        raise TrialDataError(
            "a differentially private method needs the trial's public domain: declare it "
            "under the trial's 'domain' (or 'codebook') key"
        )
    mbi = load_mbi()
    declared = meta.domain
    undeclared = declared.undeclared().values()
    budget = plan_budget(
        epsilon,
        delta,
        estimate_share=declared.estimate_share if undeclared else 0.0,
        selects=bool(undeclared),  # one threshold for every estimate: delta/2 set aside
        unit_rows=unit_rows,
        atoms_share=atoms_share,
    )
    delta_selection = budget.delta_each_selection
    domain, estimated = complete(data, declared, budget.parts["domain"], delta_selection, noise, unit_rows)
    scheme = bins_from_domain(domain, n_bins)
    formats = domain_formats(domain)
    atoms, atoms_record = _atoms(data, scheme, formats, budget, delta_selection, noise, unit_rows)
    codes = encode(data[domain.names], scheme)
    columns = list(codes)
    mbi_domain = mbi.Domain(columns, [scheme[c].size for c in columns])
    return Prepared(
        budget=budget,
        domain=domain,
        estimated=estimated,
        formats=formats,
        scheme=scheme,
        school_labels=_school_labels(domain, meta),
        dataset=mbi.Dataset(codes, mbi_domain),
        n_bins=n_bins,
        atoms=atoms,
        atoms_record=atoms_record,
    )


def _atoms(
    data: pd.DataFrame,
    scheme: dict[str, ColumnBins],
    formats: dict[str, tuple[Any, int]],
    budget: Budget,
    delta_selection: float,
    noise: Noise,
    held: int,
) -> tuple[dict[str, Atoms], dict[str, Any]]:
    """The continuous columns' atoms (``dp.atoms``) at their released precision, within their
    public bounds, with the budget's ``atoms`` part."""
    continuous = [c for c, bins in scheme.items() if bins.edges is not None]
    return select_atoms(
        data[continuous],
        {c: max(formats[c][1], 0) for c in continuous},
        {c: (scheme[c].edges[0], scheme[c].edges[-1]) for c in continuous},  # type: ignore[index]
        budget.parts.get("atoms", 0.0),
        delta_selection,
        noise,
        held=held,
    )


def _school_labels(domain: PublicDomain, meta: TrialMeta) -> dict | None:
    """A secret order of the school labels (from the secure source, never stored)."""
    if not meta.cluster:
        return None
    levels = domain.column(meta.cluster).levels or ()
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in levels)
    secret = np.random.default_rng(secrets.randbits(128))
    return label_mapping(pd.Series(range(len(levels))), secret, numeric=numeric)


def to_stored(
    estimator: Any, key: str, measurements: list[Measurement], record: dict[str, Any]
) -> StoredMeasurements:
    """What a fitted marginal method measured, as ``dp.stored`` keeps it (the noisy outputs only)."""
    prepared: Prepared = estimator.prepared_
    return StoredMeasurements(
        method=estimator.name,
        measurement_version=estimator.measurement_version,
        key=key,
        n=prepared.n,
        domain=prepared.domain.describe(),
        n_bins=prepared.n_bins,
        mapping={c: [int(v) for v in m] for c, m in estimator.mapping_.items()},
        measurements=measurements,
        budget=dataclasses.asdict(estimator.budget_) | {"estimated": prepared.estimated},
        record=record | _atoms_record(prepared),
    )


def _atoms_record(prepared: Prepared) -> dict[str, Any]:
    """The atoms selected under DP (noisy outputs), as stored beside the measurements."""
    if not prepared.atoms:
        return {}
    return {
        "atoms": {c: a.to_dict() for c, a in prepared.atoms.items()},
        "atoms_selection": prepared.atoms_record,
    }


def noisy(measurement: Any, *, compressed: bool = True) -> Measurement:
    """An mbi measurement over a datavector query, as stored."""
    values = np.asarray(measurement.noisy_measurement, dtype=float).ravel()
    return Measurement(
        tuple(measurement.clique), float(measurement.stddev), tuple(values.tolist()), compressed
    )


@dataclass
class Restored:
    """A fitted marginal method's state rebuilt from its stored measurements (no row read)."""

    prepared: Prepared
    mapping: dict[str, np.ndarray]
    value_weights: dict[str, np.ndarray]
    domain: Any  # the compressed mbi.Domain
    measurements: list


def restore(stored: StoredMeasurements, meta: TrialMeta) -> Restored:
    """The prepared trial, compression and mbi measurements of ``stored`` (post-processing:
    the school labels' secret order is drawn anew)."""
    mbi = load_mbi()
    spec = stored.domain
    domain = PublicDomain.from_mapping(spec, source=spec.get("source", "manifest"))
    scheme = bins_from_domain(domain, stored.n_bins)
    fields = dict(stored.budget)
    estimated = fields.pop("estimated", {})
    budget = Budget(**fields)
    columns = list(stored.mapping)
    full = mbi.Domain(columns, [scheme[c].size for c in columns])
    mapping = {c: np.asarray(m, dtype=np.int64) for c, m in stored.mapping.items()}
    small = mbi.Domain(columns, [int(mapping[c].max()) + 1 for c in columns])
    measurements, weights = [], {}
    atoms = {c: Atoms.from_dict(a) for c, a in stored.record.get("atoms", {}).items()}
    for m in stored.measurements:
        values = np.asarray(m.noisy, dtype=float)
        measured = mbi.LinearMeasurement(values, m.clique, m.sigma)
        if not m.compressed:  # a one-way marginal over the bins' codes: its noisy weights too
            weights[m.clique[0]] = value_weights(m.clique[0], values, m.sigma, scheme, atoms)
            measured = measured.compress(mapping, full)
        measurements.append(measured)
    prepared = Prepared(
        budget=budget,
        domain=domain,
        estimated=estimated,
        formats=domain_formats(domain),
        scheme=scheme,
        school_labels=_school_labels(domain, meta),
        dataset=None,
        n_bins=stored.n_bins,
        rows=stored.n,
        atoms=atoms,
        atoms_record=stored.record.get("atoms_selection", {}),
    )
    return Restored(prepared, mapping, weights, small, measurements)


def value_weights(
    column: str, noisy: np.ndarray, sigma: float, scheme: dict[str, ColumnBins], atoms: dict[str, Atoms]
) -> np.ndarray:
    """A column's weights per code from its noisy one-way counts (clipped at 0): what decompression
    and decoding share a drawn group or bin by. A column with atoms weighs a bin by them and by its
    rest beyond them, that rest only from 3 sigma (``dp.atoms.bin_weights``). Post-processing."""
    edges = scheme[column].edges
    if column not in atoms or edges is None:
        return np.clip(noisy, 0, None)
    return bin_weights(atoms[column], np.asarray(edges), noisy, 3 * sigma)


def adopt(estimator: Any, stored: StoredMeasurements, meta: TrialMeta) -> Restored:
    """Set a marginal method's fitted state (all but its model) from ``stored``; its guarantee
    is the stored one."""
    if (stored.method, stored.measurement_version) != (estimator.name, estimator.measurement_version):
        raise ValueError(
            f"stored measurements measured by {stored.method} ({stored.measurement_version}) cannot be "
            f"estimated by {estimator.name} ({estimator.measurement_version})"
        )
    restored = restore(stored, meta)
    prepared = restored.prepared
    estimator.prepared_, estimator.meta_ = prepared, meta
    estimator.domain_, estimator.domain_estimated_ = prepared.domain, prepared.estimated
    estimator.scheme_, estimator.bin_scheme_ = prepared.scheme, prepared.bin_scheme
    estimator.school_labels_ = prepared.school_labels
    estimator.mapping_, estimator.value_weights_ = restored.mapping, restored.value_weights
    estimator.budget_ = prepared.budget
    estimator.epsilon_spent_ = float(prepared.budget.epsilon)
    estimator.rho_spent_ = prepared.budget.rho_per_unit
    estimator.from_stored_ = stored.key
    return restored


@dataclass(frozen=True)
class SchoolForm:
    """New schools formed from the drawn rows (``dp_schools``): by these school-level columns,
    each school one arm when ``by_arm``."""

    covariates: tuple[str, ...]
    by_arm: bool


def school_form(
    mapping: dict[str, np.ndarray], meta: TrialMeta, covariates: tuple[str, ...], randomised: str | None
) -> SchoolForm | None:
    """Schools are formed from the drawn rows when the model tells fewer than half of them apart
    (their noisy counts merged them); else the model's own schools are kept."""
    cluster = meta.cluster
    if not cluster or cluster not in mapping:
        return None
    if 2 * (int(mapping[cluster].max()) + 1) > mapping[cluster].size:
        return None
    return SchoolForm(tuple(c for c in covariates if c != cluster), randomised == "school")


def release(
    codes: dict[str, np.ndarray],
    prepared: Prepared,
    meta: TrialMeta,
    rng: np.random.Generator,
    schools: SchoolForm | None = None,
    bin_mass: dict[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Codes drawn from a fitted model as the trial's columns: un-binned (to the atoms where
    selected, in their share of ``bin_mass``, the bins' noisy one-way counts), schools labelled (or
    formed from the rows: ``schools``), dtypes and decimals of the public domain
    (post-processing)."""
    decimals = {name: max(fmt[1], 0) for name, fmt in prepared.formats.items()}
    synthetic = decode(codes, prepared.scheme, decimals, rng, prepared.atoms, bin_mass)
    formats = dict(prepared.formats)
    cluster, labels = meta.cluster, prepared.school_labels
    if cluster and labels is not None:
        levels = list(prepared.domain.column(cluster).levels or ())
        if schools is not None:
            arm = meta.treatment if schools.by_arm else None
            formed = form_schools(synthetic, len(levels), covariates=schools.covariates, arm=arm, rng=rng)
            synthetic = constant_within(synthetic, formed, schools.covariates)
            synthetic[cluster] = [labels.get(int(i)) for i in formed]
        else:
            index = {level: i for i, level in enumerate(levels)}
            synthetic[cluster] = synthetic[cluster].map(lambda v: labels.get(index.get(v)))
        numeric = all(isinstance(v, int) for v in labels.values())
        formats[cluster] = (np.dtype("int64"), 0) if numeric else (np.dtype("object"), -1)
    return restore_dtypes(synthetic, formats).reset_index(drop=True)


def compression(noisy: np.ndarray, threshold: float, bins: ColumnBins) -> np.ndarray:
    """Mapping of original codes to compressed codes (post-processing of noisy counts).

    Categories: values whose noisy count is below ``threshold`` share one code (MST's rule).
    Bins of a continuous column: neighbouring bins are merged until each group's noisy count
    reaches ``threshold`` - merging the two tails into one code would scramble the order; the
    missing-value code stays its own."""
    if bins.edges is not None:
        return contiguous_groups(noisy, threshold, bins.has_missing_code)
    rare = noisy < threshold
    if rare.sum() <= 1:
        return np.arange(noisy.size)
    mapping = np.empty(noisy.size, dtype=np.int64)
    mapping[~rare] = np.arange((~rare).sum())
    mapping[rare] = (~rare).sum()
    return mapping


def contiguous_groups(noisy: np.ndarray, threshold: float, has_missing_code: bool) -> np.ndarray:
    values = noisy[:-1] if has_missing_code else noisy
    mapping = np.empty(noisy.size, dtype=np.int64)
    group, mass = 0, 0.0
    for i, count in enumerate(values):
        mapping[i] = group
        mass += max(count, 0.0)
        if mass >= threshold and i < values.size - 1:
            group, mass = group + 1, 0.0
    if mass < threshold and group > 0:  # a light last group joins its neighbour
        mapping[: values.size][mapping[: values.size] == group] = group - 1
        group -= 1
    if has_missing_code:
        mapping[-1] = group + 1
    return mapping


def decompress(
    codes: np.ndarray, mapping: np.ndarray, weights: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Each compressed code back to one of its original codes, in proportion to their noisy
    one-way counts (uniformly where those are all zero) - post-processing, no extra budget."""
    if mapping.max() + 1 == mapping.size:
        return codes
    out = np.empty(codes.size, dtype=np.int64)
    for k in range(mapping.max() + 1):
        members = np.flatnonzero(mapping == k)
        rows = np.flatnonzero(codes == k)
        mass = weights[members]
        p = mass / mass.sum() if mass.sum() > 0 else None
        out[rows] = rng.choice(members, rows.size, p=p)
    return out
