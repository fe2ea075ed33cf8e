import numpy as np
import pandas as pd

from trialsynth import missing


def test_missing_categories_round_trip():
    frame = pd.DataFrame({"band": ["low", None, "high"], "code": [1.0, 2.0, np.nan]})
    encoded = missing.encode_missing_categories(frame, ["band", "code"])
    assert encoded["band"].tolist() == ["low", "NA", "high"]
    assert encoded["code"].tolist() == ["1", "2", "NA"]
    labels = {c: frame[c].dropna().unique() for c in frame}
    decoded = missing.decode_missing_categories(encoded, labels)
    assert decoded["band"].tolist()[::2] == ["low", "high"] and pd.isna(decoded["band"][1])
    assert decoded["code"].tolist()[:2] == [1.0, 2.0] and pd.isna(decoded["code"][2])


def test_missing_indicators_round_trip():
    frame = pd.DataFrame({"x": [1.0, np.nan, 3.0], "y": [1.0, 2.0, 3.0]})
    with_indicators = missing.add_missing_indicators(frame, ["x", "y"])
    assert list(with_indicators.columns) == ["x", "y", "x__missing"]
    with_indicators["x"] = with_indicators["x"].fillna(0.0)
    back = missing.apply_missing_indicators(with_indicators)
    assert back["x"].isna().tolist() == [False, True, False] and list(back.columns) == ["x", "y"]
