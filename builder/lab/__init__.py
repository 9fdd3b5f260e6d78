"""The roof's laboratory: fitting the learned models, cross-validation, metrics and the evaluation
reports (`builder fit`, `builder evaluate`, `builder music fit|evaluate`, `builder study report`). A
build never imports it; no wing imports it. The run-time models it fits stay in their wings
(builder.picture.feeling, builder.music.feeling) and never import it.

- ratings: rated sets, ratings files and music labels, and the readings of rated photos;
- metrics: one home for recall, balanced agreement, the decision score, intervals and baselines;
- report: the tables, interval lines and the plot;
- fitting: the picture model's fitting, its quadrant origin and cross-validation (`builder fit`);
- evaluate: `builder evaluate`, every method against people's ratings;
- music: the music head's fitting, cross-validation and evaluation;
- study: an exhibition's study read back: its answers, the published tables (`builder study
  report`), and the visitors' placements as a rated set (`builder fit|evaluate --study`).
"""
