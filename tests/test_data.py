"""Toy data sets: shapes, dtypes, labels, seeds, and the geometry they promise."""

from __future__ import annotations

import math

import numpy as np
import pytest

from micrograd_tw.data import make_circles, make_moons, make_spiral

MAKERS = [make_moons, make_circles, make_spiral]


@pytest.mark.parametrize("make", MAKERS)
@pytest.mark.parametrize("n", [1, 2, 7, 100])
def test_shapes_and_dtypes(make, n):
    X, y = make(n)
    assert X.shape == (n, 2) and X.dtype == np.float64
    assert y.shape == (n,) and y.dtype == np.int64
    assert np.all(np.isfinite(X))


@pytest.mark.parametrize("make", MAKERS)
def test_seeded_and_reproducible(make):
    X1, y1 = make(50, seed=3)
    X2, y2 = make(50, seed=3)
    X3, _ = make(50, seed=4)
    assert np.array_equal(X1, X2) and np.array_equal(y1, y2)
    assert not np.array_equal(X1, X3)
    assert not np.array_equal(make(50, seed=None)[0], make(50, seed=None)[0])


@pytest.mark.parametrize("make", [make_moons, make_circles])
def test_two_balanced_classes(make):
    _, y = make(101)
    assert sorted(np.bincount(y).tolist()) == [50, 51]


def test_spiral_classes():
    _, y = make_spiral(100, classes=4)
    assert np.bincount(y).tolist() == [25, 25, 25, 25]
    _, y = make_spiral(10, classes=3)
    assert np.bincount(y).tolist() == [4, 3, 3]


def test_points_are_shuffled():
    _, y = make_moons(100)
    assert 0 < y[:20].sum() < 20  # not all of one class first


def test_moons_without_noise_lie_on_their_half_circles():
    X, y = make_moons(40, noise=0.0)
    upper, lower = X[y == 0], X[y == 1]
    assert np.allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0)
    assert np.all(upper[:, 1] >= -1e-12)
    assert np.allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0)
    assert np.all(lower[:, 1] <= 0.5 + 1e-12)


def test_circles_without_noise_have_their_radii():
    X, y = make_circles(40, noise=0.0, factor=0.3)
    r = np.hypot(X[:, 0], X[:, 1])
    assert np.allclose(r[y == 0], 1.0) and np.allclose(r[y == 1], 0.3)
    assert len({tuple(p) for p in X.round(12).tolist()}) == 40  # no point repeated


def test_spiral_without_noise_follows_its_arms():
    X, y = make_spiral(60, classes=3, noise=0.0)
    r = np.hypot(X[:, 0], X[:, 1])
    assert r.max() == pytest.approx(1.0) and r.min() == 0.0
    for k in range(3):
        pts = X[y == k]
        rk = np.hypot(pts[:, 0], pts[:, 1])
        keep = rk > 0
        # angle of (sin t, cos t) is t: t = 4k + 4r, modulo a full turn.
        t = np.arctan2(pts[keep, 0], pts[keep, 1])
        diff = np.angle(np.exp(1j * (t - (4 * k + 4 * rk[keep]))))
        assert np.allclose(diff, 0.0, atol=1e-9)


def test_noise_is_gaussian_with_the_given_deviation():
    # Isotropic noise of deviation 0.2 moves points off the unit circle by about 0.2 (radially).
    X, y = make_moons(400, noise=0.2, seed=1)
    upper = X[y == 0]
    assert np.hypot(upper[:, 0], upper[:, 1]).std() == pytest.approx(0.2, rel=0.15)


@pytest.mark.parametrize("make", MAKERS)
def test_bad_arguments(make):
    with pytest.raises(ValueError, match="n must be at least 1"):
        make(0)
    with pytest.raises(TypeError, match="n must be an int"):
        make(10.0)
    with pytest.raises(ValueError, match="noise"):
        make(10, noise=-0.1)
    with pytest.raises(ValueError, match="noise"):
        make(10, noise=math.nan)


def test_bad_shape_parameters():
    with pytest.raises(ValueError, match="factor"):
        make_circles(10, factor=1.0)
    with pytest.raises(ValueError, match="classes"):
        make_spiral(10, classes=0)


# ------------------------------------------------ issue 11: messages in the caller's terms


@pytest.mark.parametrize("make", [make_moons, make_circles, make_spiral])
def test_a_negative_or_non_int_seed_is_named(make):
    name = make.__name__
    with pytest.raises(ValueError, match=f"{name}: seed must be None or an int >= 0, got -1"):
        make(10, seed=-1)
    with pytest.raises(TypeError, match=f"{name}: seed must be None or an int >= 0, got str"):
        make(10, seed="0")


def test_a_factor_given_as_text_is_named():
    with pytest.raises(TypeError, match="make_circles: factor must be a real number .* got str"):
        make_circles(10, factor="0.5")
