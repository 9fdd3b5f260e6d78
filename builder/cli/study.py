"""`builder study report`: what an exhibition's visitors answered on its gallery's study page, read
back as the published method's two tables and the gallery's choice against the other conditions
(builder.lab.study). Fitting and measuring the picture reading on the visitors' placements are
`builder fit --study` and `builder evaluate --study` (builder.cli.lab)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from builder import signals

from . import output
from .boundary import writes
from .lab import write_table
from .options import Debug, Gallery

app = typer.Typer(
    help="Read back what visitors answered on a gallery's study page (docs/study.md).",
    no_args_is_help=True,
)

AnswersFiles = Annotated[
    list[Path],
    typer.Argument(
        exists=True,
        dir_okay=False,
        help="Answers exported from the study page (JSON Lines, docs/study.md); repeated exports "
        "of one device may overlap: a line repeated counts once.",
    ),
]
JsonOut = Annotated[
    Optional[Path],
    typer.Option(
        "--json",
        dir_okay=False,
        help="Also write every figure with its interval as JSON, each under its condition's name "
        "(the keys: docs/study.md).",
    ),
]
CsvOut = Annotated[
    Optional[Path],
    typer.Option(
        "--csv",
        dir_okay=False,
        help="Also write the tables for a spreadsheet: table, row, column, value, low, high "
        "(formula-safe).",
    ),
]


@app.command("report")
def study_report(
    answers: AnswersFiles,
    gallery: Gallery,
    csv_out: CsvOut = None,
    json_out: JsonOut = None,
    debug: Debug = False,
) -> None:
    """Print the paper's two tables for this exhibition (where visitors place the pictures against
    each condition's quadrant; how well each condition's music fits) and the gallery's choice minus
    each other condition, every figure with a 95 % interval from resampling visitors."""
    from builder.lab.study import Design, csv_text, format_report, read_answers, report

    signals.leaves("nothing was written")
    design = Design.of_gallery(gallery)
    read = read_answers(answers, design)
    output.say(
        f"read {output.plural(read.lines, 'line')} from {output.plural(len(answers), 'file')}"
    )
    for line in read.refusals():
        output.say(f"  not counted: {line}")
    for where in read.first_malformed:
        output.say(f"  e.g. {where}")
    result = report(design, read)
    output.say("")
    output.say(format_report(result))
    if csv_out:
        with writes(f"writing {csv_out}", keep="the tables above were printed"):
            from builder.files import write_atomic

            write_atomic(csv_out, csv_text(result))
    if json_out:
        write_table(json_out, result)
