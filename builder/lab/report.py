"""The evaluation's results as a person reads them: the agreement table, the 95 % intervals, the bar
plot.

Results are a dict of rows (name -> the figures of builder.lab.metrics). A row that reads another
row's readings another way (a quadrant rule, an assignment) says so with "variant_of" (the other
row's name); the table shows it indented under that row. Names carry no layout: the formatting pads,
the names do not."""

from __future__ import annotations

from pathlib import Path

INDENT = "  "  # a variant row in the table, under the row it varies


def row_label(name: str, m: dict) -> str:
    """The name as the table shows it: indented when the row is a variant of another."""
    return INDENT + name if m.get("variant_of") else name


def _r(x) -> str:
    return "    -" if x is None else f"{x:+.2f}"


R_COLUMNS = (("r val", "r_valence", _r), ("r aro", "r_arousal", _r))


def format_table(
    results: dict[str, dict],
    label: str = "method",
    width: int = 32,
    who: str = "people",
    columns: tuple = R_COLUMNS,
    smallest: bool = False,
) -> str:
    """The agreement table; columns: the last ones, as (header, key, formatter) (default: Pearson r
    per axis); smallest: the smallest per-quadrant recall beside balanced agreement."""

    def pct(x):
        return "   -" if x is None else f"{100 * x:4.0f}"

    head = (
        f"{label:<{width}} {who + ' q1-q4 %':<19} {label + ' q1-q4 %':<19} {'agree q1-q4 %':<19} "
        f"{'overall':>7} {'balanced':>8} "
        + (f"{'smallest':>8} " if smallest else "")
        + " ".join(f"{h:>{max(6, len(h))}}" for h, _, _ in columns)
    )
    lines = [head, "-" * len(head)]
    for name, m in results.items():
        lines.append(
            f"{row_label(name, m):<{width}} {' '.join(pct(x) for x in m['people_shares']):<19} "
            f"{' '.join(pct(x) for x in m['method_shares']):<19} "
            f"{' '.join(pct(x) for x in m['per_quadrant_agreement']):<19} "
            f"{100 * m['overall_agreement']:6.1f}% {100 * m['balanced_agreement']:7.1f}% "
            + (
                f"{100 * min(x for x in m['per_quadrant_agreement'] if x is not None):7.1f}% "
                if smallest
                else ""
            )
            + " ".join(f"{fmt(m[key]):>{max(6, len(h))}}" for h, key, fmt in columns)
        )
    lines.append("")
    for name, m in results.items():
        if m.get("confusion"):
            rows = "  ".join("[" + " ".join(f"{c:3d}" for c in row) + "]" for row in m["confusion"])
            lines.append(f"confusion {row_label(name, m)}: {rows}")
    return "\n".join(lines)


def format_intervals(results: dict[str, dict], width: int = 32) -> str:
    """One line per row that has intervals: balanced agreement, each quadrant's recall, the smallest
    recall and Pearson r, 95 % by resampling themes."""
    lines = []

    def pct(span) -> str:
        return "-" if span is None else f"{100 * span[0]:.0f}-{100 * span[1]:.0f}"

    for name, m in results.items():
        iv = m.get("interval_95")
        if iv:
            b = iv["balanced_agreement"]
            line = f"{name:<{width}} balanced {100 * b[0]:4.1f}-{100 * b[1]:4.1f} %"
            if "per_quadrant_agreement" in iv:
                line += "  q1-q4 " + " ".join(pct(x) for x in iv["per_quadrant_agreement"]) + " %"
                line += f"  smallest {pct(iv['smallest_recall'])} %"
            for key, label in (("r_valence", "r val"), ("r_arousal", "r aro")):
                if key in iv:
                    line += f"  {label} {iv[key][0]:+.2f} to {iv[key][1]:+.2f}"
            lines.append(line)
    return "\n".join(lines)


def format_music_table(results: dict[str, dict]) -> str:
    """The table of `builder music evaluate`: quadrant agreement and each sign's accuracy per
    model."""

    def pct(x):
        return f"{100 * x:7.1f}%"

    return format_table(
        results,
        label="model",
        width=46,
        who="labels",
        columns=(
            ("val sign", "valence_sign_accuracy", pct),
            ("aro sign", "arousal_sign_accuracy", pct),
        ),
    )


def format_music_intervals(results: dict[str, dict]) -> str:
    """One line per row with intervals: balanced agreement and each sign's accuracy, 95 % by
    resampling artists."""
    keys = (
        ("balanced", "balanced_agreement"),
        ("val sign", "valence_sign_accuracy"),
        ("aro sign", "arousal_sign_accuracy"),
    )
    lines = []
    for name, m in results.items():
        iv = m.get("interval_95")
        if iv:
            spans = "  ".join(
                f"{label} {100 * iv[k][0]:4.1f}-{100 * iv[k][1]:4.1f} %" for label, k in keys
            )
            lines.append(f"{name:<46} {spans}")
    return "\n".join(lines)


def plot(results: dict[str, dict], path: Path) -> None:
    """A bar per row: its balanced agreement, beside chance (25 %)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [row_label(name, m) for name, m in results.items()]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(names) + 1.2))
    ax.barh(names, [100 * m["balanced_agreement"] for m in results.values()], color="#2a6f97")
    ax.axvline(25, color="#999", linestyle="--", linewidth=1)
    ax.set_xlabel("balanced quadrant agreement with people (%)")
    ax.invert_yaxis()
    fig.tight_layout()
    from builder.files import write_with

    with write_with(path) as fh:
        fig.savefig(fh, dpi=100, format="png")
    plt.close(fig)
