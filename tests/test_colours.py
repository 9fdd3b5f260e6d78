"""Masks, dominant colours and their names, on pictures made in code and on real photos."""

import numpy as np
import pytest

from builder.picture.colours import (
    ColourNamer,
    colour_names,
    dominant_colour,
    grabcut_mask,
    object_pixels,
)

from .conftest import DEMO, requires_import, requires_mirror

pytestmark = requires_import("sklearn", "skimage", "matplotlib")


@pytest.fixture(scope="module")
def namer():
    from builder.picture.words import load_glove

    names = colour_names(load_glove().key_to_index)
    assert 30 <= len(names) <= 45 and all(" " not in n.name for n in names)
    return ColourNamer(names)


@pytest.mark.parametrize(
    "rgb,expected",
    [
        ((250, 10, 10), "red"),
        ((10, 10, 240), "blue"),
        ((20, 160, 30), "green"),
        ((250, 250, 250), "white"),
        ((5, 5, 5), "black"),
        ((255, 230, 0), "gold"),
        ((128, 0, 128), "purple"),
    ],
)
def test_plain_colours_get_their_names(namer, rgb, expected):
    assert namer.name(rgb).name in {expected, {"gold": "yellow"}.get(expected, expected)}


def plain_object(colour, background=(235, 235, 230)):
    img = np.zeros((200, 300, 3), np.uint8) + np.array(background, np.uint8)
    img[60:140, 100:200] = colour
    rng = np.random.default_rng(0)
    return np.clip(img.astype(int) + rng.integers(-8, 9, img.shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("space", ["lab", "rgb"])
@pytest.mark.parametrize("colour,name", [((230, 20, 25), "red"), ((30, 60, 200), "blue")])
def test_plain_coloured_object_is_named_through_grabcut(namer, space, colour, name):
    img = plain_object(colour)
    box = (90 / 300, 50 / 200, 210 / 300, 150 / 200)  # the box is a little larger than the object
    px, how = object_pixels(img, "kite", box, None, [])
    assert how == "grabcut"
    assert namer.name(dominant_colour(px, space)).name in (
        name,
        {"red": "crimson", "blue": "navy"}[name],
    )


def test_grabcut_mask_prefers_the_object_over_the_margin():
    img = plain_object((200, 20, 30))
    mask = grabcut_mask(img, (90 / 300, 50 / 200, 210 / 300, 150 / 200))
    inner = mask[12:88, 12:108].mean()  # the object's area within the box crop
    border = np.concatenate([mask[:8].ravel(), mask[-8:].ravel()]).mean()
    assert inner > 0.9 and border < 0.3


def test_dominant_colour_is_the_largest_cluster():
    px = np.array([[250, 0, 0]] * 600 + [[0, 0, 250]] * 300 + [[0, 250, 0]] * 100, np.uint8)
    assert dominant_colour(px, "lab") == (250, 0, 0)
    assert dominant_colour(px, "rgb") == (250, 0, 0)


@requires_mirror
@requires_import("ai_edge_litert")
def test_deeplab_segments_the_cat(store):
    from builder.images import read_rgb
    from builder.picture.colours import Segmenter

    seg = Segmenter.from_store(store)
    rgb, _, _ = read_rgb(DEMO / "cat.jpg", 1024)
    classes = seg.segment(rgb)
    assert classes.shape == rgb.shape[:2]
    assert (classes == seg.labels.index("cat")).mean() > 0.3
    px, how = object_pixels(rgb, "cat", (0.0, 0.0, 1.0, 1.0), classes, seg.labels)
    assert how == "deeplab" and len(px) > 0.3 * rgb.shape[0] * rgb.shape[1]


@requires_mirror
@requires_import("ai_edge_litert")
def test_scene_classifier_knows_espresso(store):
    from builder.images import read_rgb
    from builder.picture.scene import SceneClassifier

    sc = SceneClassifier.from_store(store)
    rgb, _, _ = read_rgb(DEMO / "coffee.jpg", 1024)
    top = sc.top(rgb, 3)
    assert top[0].label == "espresso" and top[0].score > 0.5
    p = sc.probabilities(rgb)
    assert p.shape == (1001,) and p.sum() == pytest.approx(1, abs=0.05)


def test_mask_rcnn_masks_are_used_when_given():
    img = plain_object((30, 60, 200))
    mask = np.zeros(img.shape[:2], bool)
    mask[60:140, 100:200] = True
    px, how = object_pixels(img, "kite", (0.0, 0.0, 1.0, 1.0), None, [], mask)
    assert how == "maskrcnn" and len(px) == mask.sum()
    assert np.abs(px.mean(axis=0) - (30, 60, 200)).max() < 5
