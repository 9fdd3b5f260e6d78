"""Rated photos made in code for the lab's tests: a ratings file, and the ingredients of the learned
picture model with a linear signal to find."""

from __future__ import annotations

import csv

import numpy as np

from builder.picture import feeling


def write_ratings(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["image", "theme", "valence_mean", "arousal_mean"])
        w.writerows(rows)


def synthetic_ingredients(n, seed=0):
    rng = np.random.default_rng(seed)
    latent = rng.normal(
        size=(n, 4)
    )  # pooled features that vary along a few directions, as real ones do
    pooled = latent @ rng.normal(size=(4, 1280)) + 0.1 * rng.normal(size=(n, 1280))
    lite = latent @ rng.normal(size=(4, 1280)) + 0.1 * rng.normal(
        size=(n, 1280)
    )  # the second backbone
    ings = [
        feeling.Ingredients.make(
            p,
            rng.dirichlet(np.ones(1001)),
            rng.uniform(0, 1, 4),
            [],
            q,
            rng.dirichlet(np.ones(1000)),
        )
        for p, q in zip(pooled, lite)
    ]
    targets = np.tanh(np.c_[latent[:, 0] + latent[:, 1], latent[:, 2] - latent[:, 3]] / 2)
    tables = {
        "label_va": rng.uniform(-1, 1, (1001, 2)),
        "label_vec": rng.normal(size=(1001, 50)),
        "coco_labels": np.array(["person"]),
        "coco_va": np.zeros((1, 2)),
    }
    return ings, targets, tables
