"""A run's condition, as the report reads it: the experiment it ran and its sweep's overrides.

Runs of one condition differ only in their model and seed, whatever their folders are called:
the report groups and pairs them on it (with their data, noise and protocol), never on folder
names. The label lists `experiment=NAME` first, then the other overrides sorted by key; the
model, the seed and the keys that do not change what a run computes (NOT_CONDITION) are left
out. A run recorded before conditions were (no `condition` in its metrics.json) has the label ''
and is grouped on its data, noise and protocol alone. An evaluation (drsn-evaluate) takes the
condition of the run it scored, and its own overrides (`with_scored_runs`).
"""

from __future__ import annotations

from pathlib import Path

NONE = ""  # the label of a run that records no condition, or an empty one
NOT_CONDITION = ("model", "seed", "experiment", "data.root", "trainer.resume", "trainer.progress", "launcher")
NOT_CONDITION_PREFIXES = ("hydra.", "hydra/")
NOISE_KEYS = ("noise",)  # overrides the figures draw along their axes (noise, noise.snr, noise.train_snr ...)


def condition_label(record: dict) -> str:
    """'experiment=NAME key=value ...' of a record's `condition`; NONE where it records none."""
    cond = record.get("condition")
    if not isinstance(cond, dict):
        return NONE
    pairs = _overrides(cond.get("overrides"))
    experiment = cond.get("experiment") or dict(pairs).get("experiment")
    tokens = [f"experiment={experiment}"] if experiment not in (None, "") else []
    tokens += [f"{k}={v}".replace(" ", "") for k, v in sorted(pairs) if _counts(k)]  # a token: no spaces
    return " ".join(tokens)


def figure_setting(label: str) -> str:
    """The condition without its noise overrides: runs a figure draws side by side along SNR or noise kind."""
    return " ".join(t for t in label.split() if not _is_noise(t.partition("=")[0]))


def _overrides(overrides) -> list[tuple[str, str]]:
    """(key, value) pairs of a {key: value} mapping or a list of 'key=value' strings."""
    if isinstance(overrides, dict):
        return [(str(k).lstrip("+~"), _value(v)) for k, v in overrides.items()]
    if isinstance(overrides, (list, tuple)):
        pairs = (str(o).partition("=") for o in overrides if not str(o).startswith("~"))
        return [(k.lstrip("+"), v) for k, _, v in pairs]
    return []


def _value(v) -> str:
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(map(str, v)) + "]"
    return str(v)


def _counts(key: str) -> bool:
    return key not in NOT_CONDITION and not key.startswith(NOT_CONDITION_PREFIXES)


def _is_noise(key: str) -> bool:
    return any(key == k or key.startswith(k + ".") for k in NOISE_KEYS)


def common_part(labels) -> str:
    """The tokens (key=value) every one of `labels` holds, in the first label's order; '' if any is NONE."""
    labels = list(labels)
    if not labels or any(lb == NONE for lb in labels):
        return NONE
    shared = set.intersection(*(set(lb.split()) for lb in labels))
    return " ".join(t for t in labels[0].split() if t in shared)


def distinct_part(label: str, common: str) -> str:
    """`label` without the tokens of `common`: what tells it from the other conditions of its table."""
    drop = set(common.split())
    return " ".join(t for t in label.split() if t not in drop)


SAME_DATA = "evaluate=same-data"  # an evaluation of its run's own test split: that run's test again


def rescores_own_test(label: str) -> bool:
    """Whether a condition label is that of an evaluation scoring its run's own test split (a plain
    re-score, or the `none` form beside adapt=bn): a copy of the run's test, in no group or pair."""
    return SAME_DATA in label.split()


def with_scored_runs(records: list[tuple[str, dict]], labels: list[str]) -> list[str]:
    """The labels of (folder, record) pairs, each evaluation's (drsn-evaluate records no condition)
    made that of the run it scored, then one token `evaluate=` with its overrides ('same-data' for
    none): two evaluations of one checkpoint are two conditions, not one cell twice.

    The run it scored is the one whose folder holds it (<run>/evaluate/<name>), else the one whose
    run_dir it names.
    """
    trained: dict[str, str] = {}
    for (folder, m), label in zip(records, labels, strict=True):
        if m.get("protocol") != "evaluate":
            trained[folder] = trained[_resolved(m.get("run_dir"))] = label
    out = []
    for (folder, m), label in zip(records, labels, strict=True):
        if m.get("protocol") == "evaluate" and "condition" not in m:
            run = trained.get(folder.rpartition("/evaluate/")[0]) or trained.get(_resolved(m.get("run_dir")), NONE)
            given = m.get("overrides") if isinstance(m.get("overrides"), (list, tuple)) else []
            label = f"{run} evaluate={','.join(str(o) for o in given).replace(' ', '')}".strip() if given \
                else f"{run} {SAME_DATA}".strip()
            if isinstance(m.get("adapt"), dict):  # adapt=bn beside the same data: another evaluation, not a rerun
                label += f" adapt={m['adapt'].get('method')}"
        out.append(label)
    return out


def _resolved(run_dir) -> str:
    """A record's run_dir, resolved ('?' for none): where an evaluation says its run is."""
    if not run_dir:
        return "?"
    try:
        return str(Path(str(run_dir)).resolve())
    except (OSError, RuntimeError):
        return "?"
