"""The slideshow's order (builder/gallery/order.py): a walk that keeps consecutive tracks close."""

import numpy as np

from builder.gallery import order
from builder.gallery.order import slideshow_order
from builder.records import Track

from .conftest import picture_record


def test_slideshow_order_walks_to_the_nearest_feeling():
    def im(name, v, a):
        return picture_record(name, av=(v, a), tracks=(Track(name, "t", "a", v, a),))

    pics = [im("calm", 0.0, -0.9), im("far", 0.9, 0.9), im("near", 0.1, -0.7), im("mid", 0.3, 0.0)]
    assert slideshow_order(pics) == ["calm", "near", "mid", "far"]


def test_the_plain_walk_and_the_tree_walk_agree(monkeypatch):
    """Up to FEW_POINTS distinct points the walk searches them all; beyond, a k-d tree: the same
    order either way, ties (many pictures on DEAM's 0.1 grid) included."""
    rng = np.random.default_rng(3)
    points = np.round(rng.uniform(-1, 1, (400, 2)), 1)  # on a grid: many ties and shared points
    pics = [
        picture_record(f"p{i:03d}", tracks=(Track(f"t{i}", "t", "a", float(v), float(a)),))
        for i, (v, a) in enumerate(points)
    ]
    plain = slideshow_order(pics)
    monkeypatch.setattr(order, "FEW_POINTS", 0)
    assert slideshow_order(pics) == plain and sorted(plain) == sorted(p.file for p in pics)


def test_pictures_without_tracks_are_placed_by_their_feeling_and_none_is_empty():
    pics = [picture_record("b", av=(0.5, 0.5)), picture_record("a", av=(0.0, -0.5))]
    assert slideshow_order(pics) == ["a", "b"] and slideshow_order([]) == []
