"""builder.lab.report: the agreement table and its interval lines, where a row read another way is
shown under the row it varies while its name carries no layout."""

import numpy as np

from builder.lab.metrics import metrics
from builder.lab.report import format_intervals, format_table


def test_a_variant_row_is_indented_in_the_table_but_not_in_its_name():
    people = np.array([1, 2, 3, 4, 1, 4])
    va = np.random.default_rng(0).uniform(-1, 1, (6, 2))
    results = {
        "learned": metrics(people, people, va, va, np.arange(6)),
        "quadrant by scale midpoint": {
            **metrics(people, np.full(6, 4), None, va, np.arange(6)),
            "variant_of": "learned",
        },
    }
    lines = format_table(results).splitlines()
    assert lines[2].startswith("learned ") and lines[3].startswith("  quadrant by scale midpoint ")
    assert len(lines[2].split("%")[0]) == len(lines[3].split("%")[0])  # the columns stay aligned
    assert "confusion   quadrant by scale midpoint: [" in format_table(results)
    assert all(not name.startswith(" ") for name in results)
    spans = format_intervals(results).splitlines()
    assert [s.split(" balanced")[0].strip() for s in spans] == list(results)
    assert spans[1].startswith("quadrant by scale midpoint ")
