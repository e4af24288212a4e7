"""The paired comparison on the run's other scores: the last weights, and within the training records.

The report's paired table compares the weights kept on validation on the test split. Two other
scores every run records answer what that table cannot:

- `acc_last`: the last epoch's weights on the same test windows. No selection on validation
  touched them, so a difference that holds here is not an artefact of picking a checkpoint on a
  small validation split.
- `acc_within`: the kept weights on the later stretch of the training records (shift protocols
  only: cross-load, cross-rig, ...). Beside the cross-domain test it tells a model that diagnoses
  better from one that holds up better when the domain changes.

Each score gets the paired table of `stats.paired_table`, pairs and Holm over its own rows: these
are checks of the primary comparison, not further questions.
"""

from __future__ import annotations

import pandas as pd

from drsn_fd.evaluate.stats import paired_table

SCORES = {"acc_last": "test, last weights", "acc_within": "within the training records"}
NOTE = ("The pairs of the table above, on two other scores of the same runs. **test, last weights**: the "
        "last epoch's weights on the same test windows; no selection on validation touched them. **within the "
        "training records** (shift protocols): the kept weights on the later stretch of the training records, "
        "beside the cross-domain test above. Same columns and statistics; Holm p over the rows of each score.")


def paired_scores_table(single: pd.DataFrame) -> pd.DataFrame:
    """`paired_table` on each score in SCORES that the runs recorded, with a `score` column first."""
    tables = []
    for col, label in SCORES.items():
        if col not in single or single[col].isna().all():
            continue
        t = paired_table(single.dropna(subset=[col]), value=col)
        if not t.empty:
            tables.append(t.assign(score=label))
    if not tables:
        return pd.DataFrame()
    t = pd.concat(tables, ignore_index=True)
    return t[["score", *[c for c in t.columns if c != "score"]]]
