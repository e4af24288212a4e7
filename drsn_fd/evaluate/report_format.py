"""How results.md prints its numbers: accuracies in %, differences and intervals in pp, p-values."""

from __future__ import annotations

import math

import pandas as pd

DASH = "—"


def md_table(t: pd.DataFrame, left: tuple[str, ...]) -> str:
    """A pipe table: text columns to the left, numbers to the right."""
    align = ["left" if c in left else "right" for c in t.columns]
    return t.to_markdown(index=False, disable_numparse=True, colalign=align)


def pm(mean: float, std: float) -> str:
    """'85.20 ± 1.30': a mean and its std, accuracies 0..1 printed in %."""
    return f"{100 * mean:.2f} ± " + (DASH if is_nan(std) else f"{100 * std:.2f}")


def pp(v: float) -> str:
    """A difference in percentage points, signed, 2 decimals."""
    return DASH if is_nan(v) else f"{100 * v:+.2f}"


def interval(lo: float, hi: float) -> str:
    """'[-12.17, -0.01]': an interval in percentage points, bounds to 2 decimals."""
    return DASH if is_nan(lo) or is_nan(hi) else f"[{100 * lo:+.2f}, {100 * hi:+.2f}]"


def p_value(p: float) -> str:
    """A p-value: 3 decimals, or 2 significant digits below 0.001."""
    if is_nan(p):
        return DASH
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


def flagged(count, n=None) -> str:
    """How many runs may not have converged: '0', or '2 of 5'."""
    count = 0 if is_nan(count) else int(count)
    return str(count) if n is None or count == 0 else f"{count} of {int(n)}"


def is_nan(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def cell(text: str, limit: int = 300) -> str:
    """Text for one table cell: one line, pipes escaped, at most `limit` characters."""
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"
