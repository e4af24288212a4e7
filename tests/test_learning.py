"""Training learns: a small drsn_cw run on the simulated set ends far above chance.

The other training tests check the record's shape and bounds (0 <= acc <= 1); this one checks that
the loop, the data pipeline and the model together fit the ten classes. Matched Gaussian noise at
+10 dB, half of each record for training, eight epochs, one thread: seconds, not minutes.
"""

from __future__ import annotations

import numpy as np

from drsn_fd.train.loop import run
from tests.helpers import make_cfg

CHANCE = 0.1  # ten classes, about as many test windows each


def test_a_small_run_on_the_simulated_set_learns_well_above_chance(tmp_path):
    cfg = make_cfg("noise.snr=10", "data.split=[0.5,0.1,0.1]", "trainer.epochs=8", "logger.enabled=false")
    rec = run(cfg, tmp_path)
    best = rec["test"]["best"]
    confusion = np.asarray(best["confusion"])
    assert confusion.shape == (10, 10) and len(best["classes"]) == 10
    assert np.trace(confusion) / confusion.sum() == best["acc"]  # the accuracy is the confusion's diagonal
    assert best["acc"] >= 0.6 and best["macro_f1"] >= 0.5  # six times chance
    assert (confusion.sum(1) > 0).all() and (confusion.max(1) / confusion.sum(1)).min() > CHANCE
    history = rec["history"]
    assert history[-1]["train_loss"] < 0.5 * history[0]["train_loss"]
    assert max(h["val_acc"] for h in history) >= 0.6
