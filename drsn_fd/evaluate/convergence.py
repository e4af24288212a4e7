"""What a run's record says about its training: the facts `runs.csv` carries, and the convergence flag.

A run *may not have converged* when the epoch its selection kept (best.epoch) lies in the last
10 % of its schedule (best epoch > 0.9 x trainer.epochs: validation was still improving as the
schedule ended), or when its last epoch's training accuracy is below its best validation
accuracy (training, read in train mode, has not yet overtaken what validation saw). A record
that lacks the facts (an older run's) is neither flagged nor cleared: the flag is None.

`train_acc_at_decay` and `val_acc_at_decay` are those of the last epoch before the learning rate
first drops: where the run stood at the decay, and whether validation saw it (eval-mode BatchNorm
statistics that lag the weights leave validation near chance while training accuracy climbs).
"""

from __future__ import annotations

import math

FLAG = "may not have converged"
LATE = 0.9  # the best epoch is late when it is past this share of the schedule
COLUMNS = ["best_epoch", "epochs", "train_acc_last", "train_loss_last", "val_acc_best", "acc_last",
           "train_acc_at_decay", "val_acc_at_decay",
           "threads", "device", "precise_bn", "unconverged", "unconverged_why"]


def convergence(record: dict) -> dict:
    """The record's convergence facts (COLUMNS); NaN or None for what it does not hold."""
    history = [h for h in record.get("history") or [] if isinstance(h, dict)]
    last = history[-1] if history else {}
    best = record.get("best") if isinstance(record.get("best"), dict) else {}
    test = record.get("test") if isinstance(record.get("test"), dict) else {}
    facts = {"best_epoch": _num(best.get("epoch")), "epochs": _num(_scheduled(record) or len(history) or None),
             "train_acc_last": _num(last.get("train_acc")), "train_loss_last": _num(last.get("train_loss")),
             "val_acc_best": _num(best.get("val_acc")),
             "acc_last": _num((test.get("last") or {}).get("acc") if isinstance(test.get("last"), dict) else None),
             **_at_decay(history),
             "threads": record.get("threads"), "device": record.get("device"), "precise_bn": _precise_bn(record)}
    facts["unconverged"], facts["unconverged_why"] = flag(facts)
    return facts


def flag(facts: dict) -> tuple[bool | None, str]:
    """(may not have converged, why) from best_epoch, epochs, train_acc_last and val_acc_best."""
    why, known = [], False
    epoch, epochs = facts["best_epoch"], facts["epochs"]
    if not (math.isnan(epoch) or math.isnan(epochs)):
        known = True
        if epoch > LATE * epochs:
            why.append(f"best epoch {epoch:g} of {epochs:g}")
    train, val = facts["train_acc_last"], facts["val_acc_best"]
    if not (math.isnan(train) or math.isnan(val)):
        known = True
        if train < val:
            why.append(f"last training accuracy {100 * train:.1f} % < best validation {100 * val:.1f} %")
    return (bool(why) if known else None), "; ".join(why)


def _at_decay(history: list[dict]) -> dict:
    """Training and validation accuracy of the last epoch before the learning rate first drops."""
    rates = [h.get("lr") for h in history]
    before = next((i for i in range(1, len(rates)) if _num(rates[i]) < _num(rates[i - 1])), None)
    row = history[before - 1] if before else {}
    return {"train_acc_at_decay": _num(row.get("train_acc")), "val_acc_at_decay": _num(row.get("val_acc"))}


def _scheduled(record: dict):
    cfg = record.get("config")
    trainer = cfg.get("trainer") if isinstance(cfg, dict) else None
    return trainer.get("epochs") if isinstance(trainer, dict) else None


def _precise_bn(record: dict):
    if "precise_bn" in record:
        return record["precise_bn"]
    cfg = record.get("config")
    trainer = cfg.get("trainer") if isinstance(cfg, dict) else None
    return trainer.get("precise_bn") if isinstance(trainer, dict) else None


def _num(v) -> float:
    try:
        return math.nan if v is None or isinstance(v, bool) else float(v)
    except (TypeError, ValueError):
        return math.nan
