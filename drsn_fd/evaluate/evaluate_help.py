"""What drsn-evaluate takes and says: its keys with their help, its examples, and the lines it prints.

Plain text only (no torch), so that `drsn-evaluate --help` and a bad argument cost nothing.
"""

from __future__ import annotations

KEYS = {
    "checkpoint!": "a drsn-train checkpoint (run/checkpoints/best.pt)",
    "data": "another data config, as in drsn-train (cwru, hit, manifest, simulated): its YAML's keys replace "
            "the checkpoint's, but fs and window",
    "adapt": "none (default) | bn: AdaBN, BatchNorm statistics re-estimated on the unlabelled target windows, "
             "transductive and inductive, scored beside none on the same windows",
    "out": "folder for metrics.json and robustness.csv (default: RUN/evaluate/<the arguments, or same-data>)",
    "device": "where to compute: cpu (default), cuda, cuda:N, mps or auto",
}
PASSTHROUGH = ("data.", "noise.", "eval.")
EXAMPLES = (
    "drsn-evaluate checkpoint=RUN/checkpoints/best.pt                      # its own test split again",
    "drsn-evaluate checkpoint=RUN/checkpoints/best.pt data.test_loads=[1]  # the whole 1 hp records",
    "drsn-evaluate checkpoint=RUN/checkpoints/best.pt data.root=NEW        # every record of a new folder, whole",
    "drsn-evaluate checkpoint=RUN/checkpoints/best.pt data=cwru data.root=/path/to/cwru/1hp data.loads=[1] "
    "adapt=bn noise.snr=-4",
)


def printed(res: dict) -> str:
    """What drsn-evaluate prints of its record: the test score, AdaBN's forms, where it wrote."""
    best = res["test"]["best"]
    lines = [f"test accuracy {best['acc']:.4f} | macro-F1 {best['macro_f1']:.4f} | {res['data']['name']}, "
             f"{res['data']['split_protocol']} | {best['n']} test windows, noise {res['noise']['kind']} at "
             f"{res['noise']['snr']} dB"]
    if "adapt" in res:
        paired = res["adapt"]["paired"]
        forms = " | ".join(f"{form} {m['acc']:.4f}" for form, m in paired["test"].items())
        lines.append(f"adapt=bn, accuracy on the second half of each record ({paired['windows']} windows): {forms}")
    lines.append(f"wrote {res['evaluation_dir']}: metrics.json, robustness.csv")
    return "\n".join(lines)
