"""Released outputs travel as JSON and come back identical; a bad file is a clear error."""

import json

import pytest

from tests.trialsynth.outputs.test_clearance import _trial
from trialsynth.errors import TrialDataError
from trialsynth.outputs import ReleasedOutputs, clear_outputs


def test_json_round_trip(tmp_path):
    frame, meta = _trial()
    out = clear_outputs(frame, meta, source="owner-a")
    out.to_json(tmp_path / "o.json")
    back = ReleasedOutputs.from_json(tmp_path / "o.json")
    assert back == out


def test_unreadable_or_malformed_outputs_are_clear_errors(tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(TrialDataError, match="cannot be read"):
        ReleasedOutputs.from_json(tmp_path / "bad.json")
    (tmp_path / "old.json").write_text(json.dumps({"format": 99}))
    with pytest.raises(TrialDataError, match="unsupported format 99"):
        ReleasedOutputs.from_json(tmp_path / "old.json")
    (tmp_path / "short.json").write_text(json.dumps({"format": 1, "n_rows": 3}))
    with pytest.raises(TrialDataError, match="malformed entry"):
        ReleasedOutputs.from_json(tmp_path / "short.json")
