"""The explanation evaluation as a plain-text table (what `siam evaluate --explanations` prints)."""

import math

#: Columns (methods) and rows (measures) of the table, in order.
METHODS = ("siam", "gradcam", "gradcam_plus_plus", "gradcam_baseline")
MEASURES = (
    "pointing_game", "pointing_game_strict", "relevance_mass", "iou", "contribution_r", "zero_weight_share",
    "removal_max_error", "deletion_auc", "sanity_rank_correlation",
)
TIMINGS = ("explain_over_predict", "explain_upsampled_over_predict", "gradcam_over_explain",
           "gradcam_shared_forward_over_explain", "gradcam_plus_plus_over_explain")


def _cell(value):
    if value is None:
        return "-"
    if isinstance(value, float) and (math.isnan(value) or (value != 0 and abs(value) < 1e-3)):
        return f"{value:.1e}"
    return f"{value:.3f}"


def format_explanation_report(report):
    """Rows of measures, one column per method present; then the timing ratios."""
    methods = [m for m in METHODS if m in report]
    rows = [("", *methods)]
    for measure in MEASURES:
        values = [report[m].get(measure) for m in methods]
        if any(v is not None for v in values):
            rows.append((measure, *map(_cell, values)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    timing = report.get("timing")
    if timing:
        lines.append("")
        lines.append(f"timing (batch of {timing['batch_size']}, median of {timing['repeats']}):")
        lines += [f"  {key} = {timing[key]:.3f}" for key in TIMINGS if key in timing]
    return "\n".join(lines)
