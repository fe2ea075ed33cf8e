#!/usr/bin/env bash
# Start a worker for trialsynth's deployments on this machine (see prefect.yaml).
# PREFECT_API_URL must point at the Prefect server; TRIALSYNTH_PROJECT_DIR at this checkout.
set -euo pipefail
: "${PREFECT_API_URL:?set PREFECT_API_URL to the Prefect server, e.g. http://prefect-host:4200/api}"
export TRIALSYNTH_PROJECT_DIR="${TRIALSYNTH_PROJECT_DIR:-$(cd "$(dirname "$0")/.." && pwd)}"
POOL="${TRIALSYNTH_WORK_POOL:-trialsynth}"
prefect work-pool inspect "$POOL" >/dev/null 2>&1 || prefect work-pool create "$POOL" --type process
exec prefect worker start --pool "$POOL" --limit "${TRIALSYNTH_WORKER_LIMIT:-1}"
