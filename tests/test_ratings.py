"""builder.lab.ratings: ratings files of every shape, rated sets named by folder, scale and
midpoint."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from builder.errors import UsageError
from builder.lab import ratings

from .lab_fixtures import write_ratings


def test_ratings_are_mapped_by_the_given_scale(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"x")
    write_ratings(tmp_path / "r.csv", [["a.jpg", "A 1", 7, 1], ["missing.jpg", "B 1", 4, 4]])
    r = ratings.read_ratings(tmp_path / "r.csv", tmp_path, 1, 7, 4)
    assert r.images == ["a.jpg"] and r.va.tolist() == [[1.0, -1.0]]
    r9 = ratings.read_ratings(tmp_path / "r.csv", tmp_path, 1, 9, 5)
    assert r9.va.tolist() == [[0.5, -1.0]]


def test_ratings_files_of_other_shapes_are_read_alike(tmp_path):
    for name in ("a.bmp", "b.bmp"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "semi.csv").write_text(
        "File; Valence; Arousal\na.bmp;75,5;25\nb.bmp;50;100\n", encoding="utf-8"
    )
    r = ratings.read_ratings(tmp_path / "semi.csv", tmp_path, 0, 100, 50)
    assert r.images == ["a.bmp", "b.bmp"] and r.va.tolist() == [[0.51, -0.5], [0.0, 1.0]]
    assert r.themes == ["a", "b"]  # no themes: each photo is its own group
    # a file with both a summary and a mean column: the mean is the rating
    (tmp_path / "both.csv").write_text(
        "image,valence,valence_mean,arousal_mean\na.bmp,1,100,0\n", encoding="utf-8"
    )
    assert ratings.read_ratings(tmp_path / "both.csv", tmp_path, 0, 100, 50).va.tolist() == [
        [1.0, -1.0]
    ]
    (tmp_path / "bad.csv").write_text("image,pleasure,arousal\na.bmp,1,2\n", encoding="utf-8")
    with pytest.raises(UsageError, match="needs the columns"):
        ratings.read_ratings(tmp_path / "bad.csv", tmp_path, 0, 100, 50)


def test_a_rated_set_is_named_by_folder_scale_and_midpoint(tmp_path):
    assert ratings.parse_rated_set("a:b/oasis:1-7:4") == (Path("a:b/oasis"), 1.0, 7.0, 4.0, True)
    assert ratings.parse_rated_set("e6:1-9:5:valence") == (Path("e6"), 1.0, 9.0, 5.0, False)
    assert ratings.parse_rated_set("x:-3-3:0")[1:4] == (-3.0, 3.0, 0.0)
    for bad in ("x:1:2", "x", "x:1-9", "x:a-b:5"):
        with pytest.raises(UsageError, match="FOLDER:MIN-MAX:MIDPOINT"):
            ratings.parse_rated_set(bad)
    with pytest.raises(UsageError, match="images/ folder"):
        ratings.read_rated_set(f"{tmp_path}:1-9:5")
    (tmp_path / "images" / "joy").mkdir(parents=True)
    (tmp_path / "images" / "joy" / "1.jpg").write_bytes(b"x")
    (tmp_path / "ground_truth.txt").write_text(
        "[image_filename]\t[valence]\t[arousal]\njoy/1.jpg\t8.0\t3.0\njoy/2.jpg\t1\t1\n"
    )
    rated = ratings.read_rated_set(f"{tmp_path}:1-9:5:valence")
    assert rated.ratings.images == ["joy/1.jpg"] and rated.ratings.va.tolist() == [[0.75, -0.5]]
    assert not rated.arousal and rated.scale == "1-9 midpoint 5"
    with pytest.raises(UsageError, match="--scale-min < --midpoint"):
        ratings.read_ratings(tmp_path / "ground_truth.txt", tmp_path / "images", 5, 9, 5)


@pytest.mark.parametrize(
    "row, why",
    [
        ("b.jpg,nan,4", "line 3: the valence of 'b.jpg' is nan, not a finite number"),
        ("b.jpg,4,inf", "line 3: the arousal of 'b.jpg' is inf, not a finite number"),
        ("b.jpg,9,4", "line 3: the valence of 'b.jpg' is 9, outside the scale 1-7"),
        ("a.jpg,3,3", "line 3: 'a.jpg' repeats line 2"),
        ("../secret.jpg,3,3", "line 3: '../secret.jpg' lies outside"),
    ],
)
def test_bad_rating_rows_are_refused_with_their_line(tmp_path, row, why):
    from builder.lab.ratings import read_ratings

    for name in ("a.jpg", "b.jpg"):
        Image.new("RGB", (8, 8)).save(tmp_path / name)
    (tmp_path.parent / "secret.jpg").write_bytes(b"x")
    ratings = tmp_path / "ratings.csv"
    ratings.write_text(f"image,valence,arousal\na.jpg,2,2\n{row}\n")
    with pytest.raises(UsageError, match="refused") as info:
        read_ratings(ratings, tmp_path, 1, 7, 4)
    assert why in str(info.value)


def test_fit_refuses_ratings_that_cannot_make_a_model():
    from builder.lab.ratings import check_trainable

    with pytest.raises(UsageError, match="same arousal"):
        check_trainable(np.c_[np.linspace(-1, 1, 20), np.zeros(20)], "flat")
    check_trainable(np.c_[np.linspace(-1, 1, 20), np.zeros(20)], "valence only", arousal=False)
    with pytest.raises(UsageError, match="at least 5"):
        check_trainable(np.zeros((3, 2)), "tiny")


def test_photos_are_checked_against_the_training_set_by_content():
    from builder.lab.evaluate import in_training
    from builder.lab.fitting import photo_digests

    trained = [SimpleNamespace(sha256=f"{i:064x}") for i in range(10)]
    meta = {"photos_sha256": ",".join(photo_digests(trained))}
    subset = trained[2:5] + [SimpleNamespace(sha256="f" * 64)]
    n, note = in_training(meta, subset)
    assert n == 3 and "3 of these 4 photos" in note
    n, note = in_training({}, subset)
    assert n is None and "IN-SAMPLE" in note


def test_label_rows_outside_the_folder_or_repeated_are_refused(tmp_path):
    from builder.lab.music import read_labels

    (tmp_path / "a.mp3").write_bytes(b"x")
    labels = tmp_path / "labels.csv"
    labels.write_text("file,quadrant,artist\na.mp3,1,x\na.mp3,2,y\n/etc/passwd,3,z\n")
    with pytest.raises(UsageError) as info:
        read_labels(labels, tmp_path)
    assert "line 3: 'a.mp3' repeats line 2" in str(
        info.value
    ) and "line 4: '/etc/passwd' lies outside" in str(info.value)
