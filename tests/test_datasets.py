"""The data sets shipped with the package: mg.data.names() and mg.data.digits().

The expected facts were read from the source files independently of the
loaders (with awk/zcat) and agree with makemore's names.txt (32,033 names,
'emma' first, 2 to 15 letters) and scikit-learn's load_digits (its class counts
and its first image, a 0).
"""

from __future__ import annotations

import string
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import micrograd_tw as mg

ROOT = Path(__file__).resolve().parents[1]


def test_names_count_order_and_alphabet():
    names = mg.data.names()
    assert isinstance(names, list) and len(names) == 32_033
    assert names[:3] == ["emma", "olivia", "ava"] and names[-1] == "zzyzx"
    assert min(map(len, names)) == 2 and max(map(len, names)) == 15
    assert Counter(map(len, names))[2] == 65  # awk '{print length}' | sort | uniq -c
    assert set("".join(names)) == set(string.ascii_lowercase)  # 26 letters, + the end mark = 27 symbols


def test_names_is_a_fresh_list_each_call():
    a = mg.data.names()
    a.clear()
    assert len(mg.data.names()) == 32_033


def test_digits_shape_scale_and_labels():
    X, y = mg.data.digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    assert np.all((X * 16) == np.round(X * 16))  # the pixel counts 0..16, divided by 16
    assert np.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    assert y[:10].tolist() == list(range(10))


def test_first_digit_is_scikit_learns_zero():
    X, y = mg.data.digits()
    first = [
        [0, 0, 5, 13, 9, 1, 0, 0],
        [0, 0, 13, 15, 10, 15, 5, 0],
        [0, 3, 15, 2, 0, 11, 8, 0],
        [0, 4, 12, 0, 0, 8, 8, 0],
        [0, 5, 8, 0, 0, 9, 8, 0],
        [0, 4, 11, 0, 1, 12, 7, 0],
        [0, 2, 14, 5, 10, 12, 0, 0],
        [0, 0, 6, 13, 10, 0, 0, 0],
    ]
    assert y[0] == 0
    assert np.array_equal(X[0].reshape(8, 8), np.array(first) / 16)
    assert X[-1, 2] == 10 / 16 and y[-1] == 8  # the last line of the file: 0,0,10,14,... then 8


def test_digits_are_fresh_arrays():
    X, y = mg.data.digits()
    X[:] = -1
    y[:] = -1
    X2, y2 = mg.data.digits()
    assert X2[0, 2] == 5 / 16 and y2[1] == 1


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib is Python 3.11+")
def test_shipped_files_are_package_data_with_their_sources():
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    shipped = config["tool"]["setuptools"]["package-data"]["micrograd_tw"]
    folder = ROOT / "micrograd_tw" / "datasets"
    for name in ("names.txt", "digits.csv.gz", "SOURCES.md"):
        assert (folder / name).is_file() and f"datasets/{name}" in shipped
    sources = (folder / "SOURCES.md").read_text(encoding="utf-8")
    assert "public domain" in sources and "CC BY 4.0" in sources
