"""Accuracy figures shared by small_cnn.py (early stopping) and evaluate.py
(the shipped report), so both measure the same thing."""

import numpy as np


def window_metrics(labels, n_labels, win_label, win_pred, win_source, clip_label, clip_pred, clip_source):
    """win_*: one entry per 10-s window; clip_*: one entry per clip (clip
    prediction = argmax of the mean window probabilities).  Returns a dict
    of plain Python values (JSON-serialisable)."""
    win_label = np.asarray(win_label)
    win_pred = np.asarray(win_pred)
    win_source = np.asarray(win_source)
    clip_label = np.asarray(clip_label)
    clip_pred = np.asarray(clip_pred)
    clip_source = np.asarray(clip_source)
    confusion = np.zeros((n_labels, n_labels), dtype=np.int64)
    np.add.at(confusion, (win_label, win_pred), 1)
    support = confusion.sum(1)
    predicted = confusion.sum(0)
    diag = np.diag(confusion)
    present = support > 0
    recall = np.where(present, diag / np.maximum(support, 1), np.nan)
    precision = np.where(predicted > 0, diag / np.maximum(predicted, 1), np.nan)
    per_source = {}
    for s in sorted(set(win_source.tolist())):
        sel = win_source == s
        per_source[s] = {
            "windows": int(sel.sum()),
            "window_acc": float((win_label[sel] == win_pred[sel]).mean()),
            "clips": int((clip_source == s).sum()),
            "clip_acc": float((clip_label[clip_source == s] == clip_pred[clip_source == s]).mean())
            if (clip_source == s).any() else float("nan"),
        }
    # Genre x source: which cells of the data the errors sit in (a genre's
    # sources differ between train and valid; see the data README).
    per_genre_source = {}
    for k in range(n_labels):
        for src in sorted(set(win_source[win_label == k].tolist())):
            sel = (win_label == k) & (win_source == src)
            per_genre_source.setdefault(labels[k], {})[src] = {
                "windows": int(sel.sum()),
                "clips": int(((clip_label == k) & (clip_source == src)).sum()),
                "recall": float((win_pred[sel] == k).mean()),
            }
    return {
        "windows": int(len(win_label)),
        "clips": int(len(clip_label)),
        "window_acc": float((win_label == win_pred).mean()),
        "balanced_window_acc": float(np.nanmean(recall[present])),
        "min_genre_recall": float(np.nanmin(recall[present])),
        "clip_acc": float((clip_label == clip_pred).mean()),
        "per_genre": {
            labels[k]: {
                "windows": int(support[k]),
                "recall": None if np.isnan(recall[k]) else float(recall[k]),
                "precision": None if np.isnan(precision[k]) else float(precision[k]),
            }
            for k in range(n_labels)
        },
        "per_source": per_source,
        "per_genre_source": per_genre_source,
        "confusion": confusion.tolist(),
    }


def source_spread(metrics):
    """Largest difference of per-source window accuracy (points)."""
    accs = [v["window_acc"] for v in metrics["per_source"].values()]
    return 100.0 * (max(accs) - min(accs)) if accs else 0.0
