#!/usr/bin/python3
"""Pipeline smoke test: genre-features on 4 real clips (2 genres x train/
valid), small_cnn.py for a few steps, export.py, the model loads in C
(tests/support/model_dump), genre-classify classifies a clip with it."""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import train_test_util as util  # noqa: E402


def check_mixed_targets():
    """--mixup's targets: one-hot for unmixed and same-genre rows, the power
    weight split between two genres for a cross-genre row."""
    import numpy as np
    import torch
    from train.genre_data import SampledBatch
    from train.small_cnn import mixed_targets
    batch = SampledBatch(crops=None, valid=None, crops2=None, valid2=None,
                         use_mix=np.array([False, True, True]), labels=np.array([0, 1, 2]),
                         labels2=np.array([0, 1, 1]))
    t = mixed_targets(batch, torch.tensor([0.5, 0.4, 0.3]), 3)
    want = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.7, 0.3]])
    if not torch.allclose(t, want, atol=1e-6):
        util.fail(f"mixed_targets gave {t.tolist()}, expected {want.tolist()}")


def check_metrics():
    """genre_metrics on a hand-made case: 2 genres, 2 sources."""
    from train.genre_metrics import source_spread, window_metrics
    m = window_metrics(["a", "b"], 2,
                       [0, 0, 0, 1, 1, 1], [0, 1, 0, 1, 1, 0], ["x", "x", "y", "x", "y", "y"],
                       [0, 1], [0, 1], ["x", "y"])
    want = {"window_acc": 4 / 6, "balanced_window_acc": 2 / 3, "clip_acc": 1.0, "min_genre_recall": 2 / 3}
    for key, value in want.items():
        if abs(m[key] - value) > 1e-9:
            util.fail(f"window_metrics {key} = {m[key]}, expected {value}")
    cells = {(g, s): (c["windows"], c["clips"], c["recall"]) for g, by in m["per_genre_source"].items()
             for s, c in by.items()}
    expected = {("a", "x"): (2, 1, 0.5), ("a", "y"): (1, 0, 1.0), ("b", "x"): (1, 0, 1.0), ("b", "y"): (2, 1, 0.5)}
    if cells != expected:
        util.fail(f"per_genre_source {cells}, expected {expected}")
    if abs(source_spread(m) - 0.0) > 1e-9:   # x: 2 of 3, y: 2 of 3
        util.fail(f"source spread {source_spread(m)}, expected 0")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--features-tool", required=True)
    p.add_argument("--classify", required=True)
    p.add_argument("--model-dump", required=True)
    p.add_argument("--data")
    p.add_argument("--workdir", required=True)
    args = p.parse_args()
    data = util.data_dir(args.data)
    work = util.fresh_dir(args.workdir)

    check_mixed_targets()
    check_metrics()
    rows = util.manifest_rows(data)
    picked = []
    for label in ("blues", "jazz"):
        for split in ("train", "valid"):
            match = [r for r in rows if r["label"] == label and r["split"] == split]
            if not match:
                util.fail(f"no {label}/{split} clip in the manifest")
            picked.append(match[0])
    manifest, feats = util.make_features(args.features_tool, data, picked, work)

    run_dir = os.path.join(work, "run")
    util.run([sys.executable, "-m", "train.small_cnn", "--features", feats, "--out", run_dir, "--arch", "tiny", "--steps", "6",
              "--batch", "4", "--eval-every", "3", "--threads", "1", "--mixup", "0.5", "--quiet"])
    for name in ("best.pt", "last.pt", "log.csv", "summary.json"):
        if not os.path.isfile(os.path.join(run_dir, name)):
            util.fail(f"small_cnn.py did not write {name}")
    summary = json.load(open(os.path.join(run_dir, "summary.json")))
    if summary["steps_run"] != 6 or summary["valid"]["clips"] != 2:
        util.fail(f"unexpected summary: steps {summary['steps_run']}, valid clips {summary['valid']['clips']}")

    model = os.path.join(work, "model.gmdl")
    util.run([sys.executable, "-m", "train.export", os.path.join(run_dir, "best.pt"), model,
              "--manifest", manifest])
    labels = json.loads(util.run([args.model_dump, model]))["labels"]
    if labels != ["blues", "jazz"]:
        util.fail(f"C loader read labels {labels}")

    clip = os.path.join(data, picked[1]["file"])
    out = util.run([args.classify, "--json", "--model", model, clip])
    lines = [l for l in out.splitlines() if l.strip()]
    if len(lines) != 1:
        util.fail(f"genre-classify printed {len(lines)} lines for one file")
    res = json.loads(lines[0])
    if res.get("genre") not in labels:
        util.fail(f"genre-classify answered {res.get('genre')!r}, not one of {labels}")
    total = sum(res["probabilities"].values())
    if abs(total - 1) > 1e-3 or sorted(res["probabilities"]) != labels:
        util.fail(f"bad probabilities {res['probabilities']}")
    if not res.get("windows"):
        util.fail("no windows in the genre-classify output")
    print(f"pipeline OK: 4 clips -> features -> 6 steps -> export -> C load -> genre-classify said "
          f"{res['genre']} ({res['confidence']:.2f}) over {len(res['windows'])} windows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
