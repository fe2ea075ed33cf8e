import hashlib
import json

import pytest

from trialsynth.dp.stored import FORMAT, Measurement, MeasurementStore, StoredMeasurements, measurement_key


def _stored(key: str = "a" * 64) -> StoredMeasurements:
    return StoredMeasurements(
        method="mst",
        measurement_version="mst-1",
        key=key,
        n=100,
        domain={"columns": {"arm": {"kind": "binary", "levels": [0, 1], "missing": False}}},
        n_bins=8,
        mapping={"arm": [0, 1]},
        measurements=[Measurement(("arm",), 2.5, (48.0, 53.0), compressed=False)],
        budget={"epsilon": 1.0},
        record={"tree": []},
    )


def test_a_stored_file_round_trips_as_plain_json(tmp_path):
    store = MeasurementStore(tmp_path)
    path = store.save("archive", "trial-001", _stored())
    data = json.loads(path.read_text())
    assert data["format"] == FORMAT and data["measurements"][0]["noisy"] == [48.0, 53.0]
    stored, digest = store.load("archive", "trial-001", "a" * 64)
    assert stored == _stored() and digest == hashlib.sha256(path.read_bytes()).hexdigest()
    assert not list(path.parent.glob("*.part"))  # written whole, then moved into place


def test_a_missing_damaged_or_mislabelled_file_is_not_read(tmp_path):
    store = MeasurementStore(tmp_path)
    assert store.load("archive", "trial-001", "a" * 64) is None
    path = store.save("archive", "trial-001", _stored())
    path.write_text("{not json")
    with pytest.raises(json.JSONDecodeError):
        json.loads(path.read_text())
    assert store.load("archive", "trial-001", "a" * 64) is None
    path.write_text(json.dumps({**_stored().to_json(), "format": "other/9"}))
    assert store.load("archive", "trial-001", "a" * 64) is None
    path.write_text(json.dumps(_stored("b" * 64).to_json()))  # a file under another key's name
    assert store.load("archive", "trial-001", "a" * 64) is None


def test_names_never_climb_out_of_the_store(tmp_path):
    path = MeasurementStore(tmp_path / "m").path("../..", "../../etc", "k")
    assert tmp_path / "m" in path.parents


def test_the_key_changes_with_any_part_and_not_with_their_order():
    parts = {"data": "x", "epsilon": 1.0, "params": {"n_bins": 8, "levels": 4}}
    same = {"params": {"levels": 4, "n_bins": 8}, "epsilon": 1.0, "data": "x"}
    assert measurement_key(parts) == measurement_key(same)
    assert measurement_key(parts) != measurement_key({**parts, "epsilon": 0.5})
