import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pinnfreq as pf
from pinnfreq.geometry import METHODS, sample_region, time_factor


@pytest.mark.parametrize("method", METHODS)
def test_box_interior_and_boundary(method):
    box = pf.Box([0, -1, 2], [1, 1, 5])
    p = box.sample(500, method, seed=1)
    assert p.shape == (500, 3) and box.contains(p).all()
    b, n = box.sample_boundary(600, method, seed=2)
    assert np.allclose(np.linalg.norm(n, axis=1), 1)
    # each point sits on the face its normal says: moving out leaves the box, moving in stays
    assert not box.contains(b + 1e-3 * n).any()
    assert box.contains(b - 1e-3 * n).all()
    # faces are hit in proportion to their area (2x3, 1x3, 1x2 -> shares 6:3:2 per side pair)
    share = np.array([np.mean(np.abs(n[:, i]) == 1) for i in range(3)])
    assert np.allclose(share, np.array([6, 3, 2]) / 11, atol=0.04)


def test_same_seed_same_points_and_different_seed_different():
    d = pf.Disk([0, 0], 1)
    assert np.array_equal(d.sample(64, "sobol", 3), d.sample(64, "sobol", 3))
    assert not np.array_equal(d.sample(64, "sobol", 3), d.sample(64, "sobol", 4))


@pytest.mark.parametrize("geom", [pf.Disk([0.5, -0.2], 0.7), pf.Ball([0, 0, 0], 2.0),
                                  pf.Polygon([[0, 0], [2, 0], [2, 1], [1, 2], [0, 1]]),
                                  pf.Polygon([[0, 0], [0, 1], [1, 1], [1, 0]])])  # clockwise input
def test_normals_point_outward(geom):
    b, n = geom.sample_boundary(400, seed=5)
    assert np.allclose(np.linalg.norm(n, axis=1), 1)
    assert not geom.contains(b + 1e-4 * n).any()
    assert geom.contains(b - 1e-4 * n).all()


def test_measures():
    assert pf.Disk([0, 0], 2).volume() == pytest.approx(4 * math.pi)
    assert pf.Disk([0, 0], 2).boundary_measure() == pytest.approx(4 * math.pi)
    assert pf.Ball([0, 0, 0], 1).volume() == pytest.approx(4 / 3 * math.pi)
    assert pf.Polygon([[0, 0], [1, 0], [0, 1]]).volume() == pytest.approx(0.5)


def test_csg_boundaries_and_volumes():
    square, disk = pf.Rectangle([-1, -1], [1, 1]), pf.Disk([0, 0], 0.5)
    holed = square - disk
    assert holed.volume() == pytest.approx(4 - math.pi / 4, rel=0.02)
    assert holed.boundary_measure() == pytest.approx(8 + math.pi, rel=0.02)
    b, n = holed.sample_boundary(2000, seed=1)
    r = np.linalg.norm(b, axis=1)
    on_hole = np.isclose(r, 0.5)
    assert np.isclose(on_hole.mean(), math.pi / (8 + math.pi), atol=0.03)  # uniform in arc length
    assert np.allclose(n[on_hole], -b[on_hole] / 0.5)  # normals point into the hole, out of the domain
    inside = holed.sample(500, seed=2)
    assert (np.linalg.norm(inside, axis=1) >= 0.5).all() and square.contains(inside).all()

    union = pf.Disk([0, 0], 1) | pf.Disk([1, 0], 1)
    b, n = union.sample_boundary(500, seed=3)
    assert not union.contains(b + 1e-4 * n).any() and union.contains(b - 1e-4 * n).all()
    lens = pf.Disk([0, 0], 1) & pf.Disk([1, 0], 1)
    b, n = lens.sample_boundary(500, seed=3)
    assert not lens.contains(b + 1e-4 * n).any() and lens.contains(b - 1e-4 * n).all()
    assert lens.volume() == pytest.approx(2 * math.pi / 3 - math.sqrt(3) / 2, rel=0.02)


def test_csg_boundaries_where_the_operands_boundaries_coincide():
    # the removed square's far sides lie on the outer square's boundary: they bound nothing of the L-shape
    lshape = pf.Rectangle([-1, -1], [1, 1]) - pf.Rectangle([0, 0], [1, 1])
    assert lshape.boundary_measure() == pytest.approx(8.0, rel=0.02)
    b, n = lshape.sample_boundary(2000, seed=1)
    assert lshape.contains(b - 1e-4 * n).all() and not lshape.contains(b + 1e-4 * n).any()
    assert not ((b[:, 0] > 1e-9) & (b[:, 1] > 1e-9)).any()  # nothing on the removed quadrant's sides
    # two rectangles sharing stretches of their outer boundary: each stretch sampled once, uniformly
    union = pf.Rectangle([0, 0], [2, 1]) | pf.Rectangle([1, 0], [3, 1])
    assert union.boundary_measure() == pytest.approx(8.0, rel=0.02)
    b, n = union.sample_boundary(4000, seed=2)
    bottom = np.isclose(b[:, 1], 0.0)
    assert np.isclose(bottom.mean(), 3 / 8, atol=0.03)
    assert np.isclose((bottom & (b[:, 0] > 1) & (b[:, 0] < 2)).mean(), 1 / 8, atol=0.02)  # the shared stretch
    assert union.contains(b - 1e-4 * n).all() and not union.contains(b + 1e-4 * n).any()


def test_product_regions_and_time():
    space = pf.Interval(-1, 1)
    time = pf.Time(0, 2)
    dom = space * time
    assert dom.names == ("x", "t") and time_factor(dom) is time
    p, n = sample_region(dom, space.boundary, 50)
    assert set(np.abs(p[:, 0])) == {1.0} and ((p[:, 1] >= 0) & (p[:, 1] <= 2)).all()
    assert np.array_equal(n[:, 0], np.sign(p[:, 0])) and (n[:, 1] == 0).all()
    p, n = sample_region(dom, time.start, 20)
    assert (p[:, 1] == 0).all() and n is None
    with pytest.raises(ValueError, match="not part of the domain"):
        sample_region(dom, pf.Interval(-1, 1).boundary, 5)
    with pytest.raises(ValueError, match="repeat"):
        pf.Interval(0, 1) * pf.Interval(0, 1)


def test_grid_and_bad_shapes():
    g = pf.Rectangle([0, 0], [2, 1]).grid({"x": 3, "y": 5})
    assert np.allclose(g["x"], [0, 1, 2]) and len(g["y"]) == 5
    with pytest.raises(ValueError, match="lower < upper"):
        pf.Box([0, 1], [1, 0])
    with pytest.raises(ValueError, match="no area"):
        pf.Polygon([[0, 0], [1, 1], [2, 2]])
    with pytest.raises(ValueError, match="radius"):
        pf.Disk([0, 0], -1)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.floats(-5, 5), st.floats(0.1, 3)), min_size=1, max_size=4), st.sampled_from(METHODS))
def test_box_property(sides, method):
    lo = [a for a, _ in sides]
    hi = [a + w for a, w in sides]
    box = pf.Box(lo, hi)
    pts = box.sample(64, method)
    assert box.contains(pts).all()
    b, n = box.sample_boundary(64, method)
    assert np.allclose(np.abs(n).sum(axis=1), 1)
    assert box.contains(b).all() and not box.contains(b + 1e-6 * max(1, max(map(abs, hi))) * n * 10).any()


def test_product_points_fill_the_product_and_are_not_correlated():
    space = pf.Interval(-1, 1)
    dom = space * pf.Time(0, 1)
    p = dom.sample(1024)
    counts, _, _ = np.histogram2d(p[:, 0], p[:, 1], bins=8)
    assert counts.min() >= 10  # quasi-random: every one of the 64 cells gets about 16 points
    b, _ = sample_region(dom, space.boundary, 1000)
    assert abs(np.corrcoef(b.T)[0, 1]) < 0.1
    left, right = b[b[:, 0] < 0, 1], b[b[:, 0] > 0, 1]
    assert abs(left.mean() - 0.5) < 0.05 and abs(right.mean() - 0.5) < 0.05
