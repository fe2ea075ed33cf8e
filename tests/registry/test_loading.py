import hashlib

import pandas as pd
import pytest

from registry.loading import load_trial_data, read_columns
from trialsynth.errors import TrialDataError


def test_csv_and_parquet_load_with_the_hash_of_their_bytes(tmp_path):
    frame = pd.DataFrame({"treatment": [0, 1], "score": [1.5, 2.5]})
    frame.to_csv(tmp_path / "t.csv", index=False)
    frame.to_parquet(tmp_path / "t.parquet", index=False)
    for name in ("t.csv", "t.parquet"):
        loaded, digest = load_trial_data(tmp_path / name, "t")
        assert loaded.equals(frame)
        assert digest == hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()
        assert read_columns(tmp_path / name) == ["treatment", "score"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "trial 't': t.csv: the file is empty"),
        ("a,b\n", "trial 't': t.csv: the file has a header but no rows"),
    ],
)
def test_unusable_files_name_trial_and_file(tmp_path, content, message):
    (tmp_path / "t.csv").write_text(content)
    with pytest.raises(TrialDataError, match=message):
        load_trial_data(tmp_path / "t.csv", "t")
