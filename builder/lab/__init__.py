"""The roof's laboratory: reading rated sets, fitting the learned models, cross-validation, metrics and the
evaluation reports (`builder fit`, `builder evaluate`, `builder music fit|evaluate`). A build never imports it;
no wing imports it."""
