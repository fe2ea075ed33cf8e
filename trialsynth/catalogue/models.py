"""The catalogue schema: one row per attempt to synthesise a trial (SQLAlchemy 2.0)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Float, Index, Integer, String, Text, false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Attempt(Base):
    __tablename__ = "attempts"
    __table_args__ = (Index("ix_attempts_trial_started", "trial_id", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(36), index=True)
    archive: Mapped[str] = mapped_column(String(200))
    trial_id: Mapped[str] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(16))  # running | succeeded | failed | skipped | unchanged
    method: Mapped[str | None] = mapped_column(String(16))
    route_reason: Mapped[str | None] = mapped_column(Text)
    n_rows: Mapped[int | None] = mapped_column(Integer)
    n_cols: Mapped[int | None] = mapped_column(Integer)
    epsilon: Mapped[float | None] = mapped_column(Float)
    ons_category: Mapped[str | None] = mapped_column(String(32))
    category_rules: Mapped[str | None] = mapped_column(String(32))
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    cleaning: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    timings: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    lineage: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # manifest entry hash, packages
    gate: Mapped[str | None] = mapped_column(Text)
    disclosure: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the gate's rule, keys, counts
    analysis: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the trial's analysis, real vs synthetic
    error: Mapped[str | None] = mapped_column(Text)
    output_path: Mapped[str | None] = mapped_column(Text)
    report_path: Mapped[str | None] = mapped_column(Text)  # the trial's HTML report, beside the file
    seed: Mapped[int | None] = mapped_column(BigInteger)  # 32-bit unsigned: beyond PostgreSQL's int4
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    owner: Mapped[str | None] = mapped_column(String(255))  # host:pid of the process running it
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    duration_s: Mapped[float | None] = mapped_column(Float)
    code_version: Mapped[str] = mapped_column(String(64))
    release_identity: Mapped[str | None] = mapped_column(
        String(64), index=True
    )  # trialsynth.release.identity
    # The sign-off (``trialsynth.release.signoff``): staged | approved | rejected (None: nothing to release)
    release: Mapped[str | None] = mapped_column(String(16))
    access_tier: Mapped[str | None] = mapped_column(String(32))  # who may receive it, from the plan
    reviewer: Mapped[str | None] = mapped_column(String(200))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    review_reason: Mapped[str | None] = mapped_column(Text)
    released_path: Mapped[str | None] = mapped_column(Text)  # where an approved file was released
    # the comparison (``trialsynth compare``) this attempt ran in: never released, never a trial's
    # latest attempt; None for the archive's own attempts
    comparison: Mapped[str | None] = mapped_column(String(36), index=True)


class EpsilonCharge(Base):
    """The privacy budget spent by one differentially private fit of a trial.

    Every private fit is charged, before its noise is drawn (``ledger.reserve``): a forced
    re-release of the same data is a new release. ``release_key`` is the release identity
    (``trialsynth.release.identity``): a release whose identity already has a released file is reported
    ``unchanged`` and never fitted again, so nightly reruns and retries spend nothing; a new release
    of the same data and measurement settings is estimated from the measurements the charged one
    stored (``trialsynth.run.measured``) and adds no row."""

    __tablename__ = "epsilon_ledger"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    archive: Mapped[str] = mapped_column(String(200), index=True)
    trial_id: Mapped[str] = mapped_column(String(200), index=True)
    attempt_id: Mapped[int] = mapped_column(Integer)
    release_key: Mapped[str] = mapped_column(String(64), index=True)
    epsilon: Mapped[float] = mapped_column(Float)
    delta: Mapped[float] = mapped_column(Float)
    seed: Mapped[int | None] = mapped_column(BigInteger)  # no longer written: DP noise has no seed
    forced: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    charged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Review(Base):
    """One person's decision on one release (a trial's release identity): append-only, the
    audit trail of every sign-off. The latest decision on an identity holds; a regenerated file
    with a new identity waits for its own."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    archive: Mapped[str] = mapped_column(String(200), index=True)
    trial_id: Mapped[str] = mapped_column(String(200), index=True)
    attempt_id: Mapped[int] = mapped_column(Integer)
    release_key: Mapped[str | None] = mapped_column(String(64), index=True)
    decision: Mapped[str] = mapped_column(String(16))  # approved | rejected
    reviewer: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    access_tier: Mapped[str | None] = mapped_column(String(32))
    released_path: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
