"""Frames as the float matrices the CART engine reads: categories as codes 0..k-1 (in sorted
order of their labels), numbers as they are, NaN where a number is missing."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Encoding:
    """The columns in order and, for each category column, its labels by code."""

    columns: list[str]
    codebook: dict[str, np.ndarray]

    @classmethod
    def of(cls, frame: pd.DataFrame, text: set[str]) -> Encoding:
        """The encoding of ``frame``: the columns named in ``text`` are categories."""
        book = {}
        for name in frame.columns:
            if name in text:
                _, uniques = pd.factorize(frame[name], sort=True)
                book[name] = np.asarray(uniques, dtype=object)
        return cls(list(frame.columns), book)

    def kinds(self) -> tuple[list[bool], list[int]]:
        """Per column: whether it holds codes, and how many levels."""
        categorical = [name in self.codebook for name in self.columns]
        levels = [len(self.codebook[n]) if n in self.codebook else 0 for n in self.columns]
        return categorical, levels

    def codes(self, name: str, values: object) -> np.ndarray:
        """The codes of category ``name``'s labels ``values``; a label it never held is an error."""
        found = pd.Index(self.codebook[name]).get_indexer(pd.Index(np.asarray(values, dtype=object)))
        if (found < 0).any():
            raise ValueError(f"Encoding.codes: column {name!r} holds labels it was not fitted with.")
        return found.astype(np.float64)

    def values(self, name: str, values: object) -> np.ndarray:
        """Column ``name``'s ``values`` as the matrix holds them: codes, or numbers."""
        if name in self.codebook:
            return self.codes(name, values)
        return pd.to_numeric(pd.Series(np.asarray(values, dtype=object)), errors="coerce").to_numpy(
            dtype=np.float64
        )

    def encode(self, frame: pd.DataFrame, columns: list[str] | None = None) -> np.ndarray:
        """``frame``'s ``columns`` (default: every encoded column) as one float matrix."""
        out = []
        for name in self.columns if columns is None else columns:
            if name in self.codebook:
                out.append(self.codes(name, frame[name].to_numpy(dtype=object)))
            else:
                out.append(frame[name].to_numpy(dtype=np.float64, na_value=np.nan))
        return np.column_stack(out)

    def decode(self, matrix: np.ndarray) -> pd.DataFrame:
        """A matrix of every encoded column back to a frame of labels and numbers."""
        frame = pd.DataFrame(matrix, columns=self.columns)
        for name, labels in self.codebook.items():
            frame[name] = labels[matrix[:, self.columns.index(name)].astype(np.intp)]
        return frame
