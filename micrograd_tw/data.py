"""Data sets: small 2-D toy sets made with numpy, and two real ones shipped with the package.

Each function returns ``(X, y)``: ``X`` a float64 array of shape ``(n, 2)``
(one point per row), ``y`` an int64 array of shape ``(n,)`` holding class
labels 0, 1, ....  The same ``seed`` gives the same points; ``seed=None``
gives different points every call.  Points are shuffled, so any slice of the
data holds every class.

    X, y = mg.data.make_moons(100, noise=0.1, seed=0)
    Y = 2 * y - 1            # labels as -1 / +1, for a hinge loss

Two real data sets ship inside the package (``micrograd_tw/datasets``, where
SOURCES.md states their origin and licence) and load without a network:
``names()``, 32,033 first names for a character-level language model, and
``digits()``, 1,797 handwritten 8×8 digits for an image model.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import numbers
from importlib import resources
from typing import Any

import numpy as np

from .engine import to_float

__all__ = ["make_moons", "make_circles", "make_spiral", "names", "digits"]


def _rng(seed: Any, name: str) -> np.random.Generator:
    """numpy's generator for ``seed``: None (fresh randomness) or an int >= 0."""
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise TypeError(f"{name}: seed must be None or an int >= 0, got {type(seed).__name__}")
        if seed < 0:
            raise ValueError(f"{name}: seed must be None or an int >= 0, got {seed}")
    return np.random.default_rng(seed)


def _check(n: Any, noise: Any, name: str) -> tuple[int, float]:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{name}: n must be an int number of points, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"{name}: n must be at least 1, got {n}")
    sigma = to_float(noise, f"{name}: noise")
    if not (sigma >= 0.0 and math.isfinite(sigma)):
        raise ValueError(f"{name}: noise must be a finite number >= 0, got {noise!r}")
    return int(n), sigma


def _split(n: int, parts: int) -> list[int]:
    """n points shared among parts as evenly as possible (the first parts get one more)."""
    return [n // parts + (1 if i < n % parts else 0) for i in range(parts)]


def _finish(
    rng: np.random.Generator, X: np.ndarray, y: np.ndarray, noise: float
) -> tuple[np.ndarray, np.ndarray]:
    """Add Gaussian noise of standard deviation ``noise``, then shuffle the points."""
    X = X + rng.normal(0.0, noise, size=X.shape) if noise > 0.0 else X
    order = rng.permutation(len(y))
    return np.ascontiguousarray(X[order], dtype=np.float64), y[order].astype(np.int64)


def make_moons(n: int, noise: float = 0.1, seed: int | None = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles ("moons"), as scikit-learn's ``make_moons``.

    Class 0 is the upper moon, (cos t, sin t) for t in [0, π]; class 1 the lower
    one, (1 − cos t, 0.5 − sin t).  Returns X float64 (n, 2) and y int64 (n,).
    """
    n, noise = _check(n, noise, "make_moons")
    n0, n1 = _split(n, 2)
    t0 = np.linspace(0.0, math.pi, n0)
    t1 = np.linspace(0.0, math.pi, n1)
    X = np.concatenate(
        [np.column_stack([np.cos(t0), np.sin(t0)]), np.column_stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)])]
    )
    y = np.repeat([0, 1], [n0, n1])
    return _finish(_rng(seed, "make_moons"), X, y, noise)


def make_circles(
    n: int, noise: float = 0.05, seed: int | None = 0, factor: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """A circle inside another, as scikit-learn's ``make_circles``.

    Class 0 is the outer circle of radius 1, class 1 the inner circle of radius
    ``factor`` (0 < factor < 1).  Returns X float64 (n, 2) and y int64 (n,).
    """
    n, noise = _check(n, noise, "make_circles")
    factor = to_float(factor, "make_circles: factor")
    if not 0.0 < factor < 1.0:
        raise ValueError(f"make_circles: factor must be between 0 and 1, got {factor!r}")
    n0, n1 = _split(n, 2)
    # endpoint=False: the angle 2π would repeat the point at angle 0.
    t0 = np.linspace(0.0, 2 * math.pi, n0, endpoint=False)
    t1 = np.linspace(0.0, 2 * math.pi, n1, endpoint=False)
    X = np.concatenate(
        [np.column_stack([np.cos(t0), np.sin(t0)]), factor * np.column_stack([np.cos(t1), np.sin(t1)])]
    )
    y = np.repeat([0, 1], [n0, n1])
    return _finish(_rng(seed, "make_circles"), X, y, noise)


def make_spiral(
    n: int, classes: int = 3, noise: float = 0.2, seed: int | None = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``classes`` interleaved spiral arms, as in Stanford's CS231n notes.

    Arm k has points at radius r from 0 to 1 and angle 4k + 4r (radians); the
    noise (standard deviation ``noise``) is added to the angle, so points stay
    on their radius.  Returns X float64 (n, 2) and y int64 (n,).
    """
    n, noise = _check(n, noise, "make_spiral")
    if isinstance(classes, bool) or not isinstance(classes, numbers.Integral) or classes < 1:
        raise ValueError(f"make_spiral: classes must be a positive int, got {classes!r}")
    rng = _rng(seed, "make_spiral")
    points, labels = [], []
    for k, count in enumerate(_split(n, int(classes))):
        r = np.linspace(0.0, 1.0, count)
        t = np.linspace(4.0 * k, 4.0 * (k + 1), count) + rng.normal(0.0, noise, size=count)
        points.append(np.column_stack([r * np.sin(t), r * np.cos(t)]))
        labels.append(np.full(count, k))
    return _finish(rng, np.concatenate(points), np.concatenate(labels), 0.0)


# ------------------------------------------------------- shipped data sets
# Both files are package data (pyproject.toml); datasets/SOURCES.md says where
# they come from and under which licence.

DIGIT_PIXELS = 64  # 8 × 8
DIGIT_MAX = 16  # each pixel counts the 'on' pixels of a 4 × 4 block of the original scan


def _dataset(name: str) -> bytes:
    return (resources.files("micrograd_tw") / "datasets" / name).read_bytes()


def names() -> list[str]:
    """The 32,033 lowercase first names of ``makemore``, in the file's order (a fresh list each call).

    The most common US baby names of 2018 (Social Security Administration
    data, public domain); each is 2 to 15 letters a–z.

        words = mg.data.names()      # ['emma', 'olivia', 'ava', ..., 'zzyzx']
    """
    return _dataset("names.txt").decode("ascii").split()


def digits() -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 handwritten digits of scikit-learn's ``load_digits``: ``(X, y)``.

    ``X`` is float64 of shape (1797, 64): each row one 8×8 image, row by row,
    with the pixel counts 0–16 divided by 16, so in [0, 1]
    (``X[i].reshape(8, 8)`` draws it).  ``y`` is int64 of shape (1797,), the
    digit 0–9.  The test set of the UCI "Optical Recognition of Handwritten
    Digits" data (Alpaydin & Kaynak, 1998; CC BY 4.0).
    """
    text = gzip.decompress(_dataset("digits.csv.gz")).decode("ascii")
    table = np.array(list(csv.reader(io.StringIO(text))), dtype=np.int64)
    X = table[:, :DIGIT_PIXELS].astype(np.float64) / DIGIT_MAX
    return X, table[:, DIGIT_PIXELS].copy()
