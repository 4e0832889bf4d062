"""Evaluate a model file the way users run it: through the C tool
genre-classify, on the audio of one split of a manifest.

  /usr/bin/python3 -m train.evaluate --model models/genre.gmdl \
      --manifest /work/shared/data/genres/manifest.csv --split valid \
      --classify build-C/src/tools/genre-classify --report models/REPORT.md

Reports accuracy over every 10-s window (hop 5 s), balanced (mean
per-genre) window accuracy, clip accuracy (clip = mean window
probabilities), per-genre precision/recall, per-source accuracy and a
confusion matrix (PNG).  Writes the Markdown report, the PNG next to it and
a JSON with every figure.
"""

import argparse
import csv
import datetime
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .genre_data import row_split
from .genre_metrics import source_spread, window_metrics

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def find_classify(explicit):
    if explicit:
        return explicit
    found = shutil.which("genre-classify")
    if found:
        return found
    for path in sorted(glob.glob(os.path.join(REPO, "build*", "src", "tools", "genre-classify"))):
        if os.access(path, os.X_OK):
            return path
    raise SystemExit("error: genre-classify not found; build it (ninja -C build) or pass --classify")


def read_manifest(path, split):
    if not os.path.isfile(path):
        raise SystemExit(f"error: manifest {path} not found")
    base = os.path.dirname(os.path.abspath(path))
    rows = []
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        for col in ("file", "label"):
            if col not in (reader.fieldnames or []):
                raise SystemExit(f"error: {path} has no '{col}' column")
        for row in reader:
            if row_split(row) != split:
                continue
            audio = row["file"] if os.path.isabs(row["file"]) else os.path.join(base, row["file"])
            rows.append({"path": audio, "file": row["file"], "label": row["label"],
                         "source": row.get("source") or "unknown"})
    if not rows:
        raise SystemExit(f"error: no clips with split '{split}' in {path}")
    return rows


def classify(tool, model, files, hop, jobs, chunk=25):
    """{path: JSON result} from genre-classify --json, in parallel chunks."""
    def run(paths):
        cmd = [tool, "--json", "--model", model, "--hop", str(hop)] + paths
        proc = subprocess.run(cmd, capture_output=True, text=True)
        # 3: every file was read, some got no genre (silence, too-short):
        # their windows' probabilities are still scored below.
        if proc.returncode not in (0, 3):
            raise SystemExit(f"error: {' '.join(cmd[:6])} ... failed ({proc.returncode}): {proc.stderr.strip()}")
        out = {}
        for line in proc.stdout.splitlines():
            if line.strip():
                obj = json.loads(line)
                out[obj["file"]] = obj
        return out

    chunks = [files[i:i + chunk] for i in range(0, len(files), chunk)]
    results = {}
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for part in pool.map(run, chunks):
            results.update(part)
    return results


def plot_confusion(confusion, labels, path, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    cm = np.asarray(confusion, dtype=np.float64)
    norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    for i in range(len(labels)):
        for j in range(len(labels)):
            if cm[i, j]:
                ax.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if norm[i, j] > 0.5 else "black")
    fig.colorbar(im, ax=ax, fraction=0.046, label="fraction of the true genre's windows")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def pct(x):
    return "–" if x is None else f"{100 * x:.1f} %"


def model_description(meta):
    """One phrase on what the model is and what it costs, from its provenance."""
    if "mmac_per_frame" in meta:     # a streaming graph (transfer model)
        return (f"{meta.get('model', 'graph model')}; {meta.get('params', '?')} values, "
                f"{meta['mmac_per_frame']} M multiply-adds per front-end frame, each frame computed once")
    return (f"{meta.get('arch', '?')} CNN, {meta.get('params', '?')} parameters, "
            f"{meta.get('mflop_per_window', '?')} MFLOP per 10-s window")


def write_report(path, png_name, m, labels, args, meta, model_sha):
    lines = [
        "# Shipped genre model: evaluation",
        "",
        f"Model: `{os.path.relpath(args.model, REPO) if args.model.startswith(REPO) else args.model}` "
        f"(sha256 `{model_sha[:16]}…`), {model_description(meta)}.",
        f"Evaluated {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} through "
        f"`genre-classify --json --hop {args.hop}` (the C pipeline: decoder, resampler, front-end, network) on the "
        f"`{args.split}` split of `{os.path.basename(args.manifest)}`: {m['clips']} clips, {m['windows']} 10-s windows.",
        "",
        "Command:",
        "",
        "```",
        " ".join(["/usr/bin/python3", "-m", "train.evaluate"] + sys.argv[1:]),
        "```",
        "",
        "| figure | value |",
        "|---|---|",
        f"| window accuracy | {pct(m['window_acc'])} |",
        f"| balanced window accuracy (mean per-genre recall) | {pct(m['balanced_window_acc'])} |",
        f"| clip accuracy (mean of window probabilities) | {pct(m['clip_acc'])} |",
        f"| lowest per-genre window recall | {pct(m['min_genre_recall'])} |",
        f"| per-source window accuracy spread | {source_spread(m):.1f} points |",
        "",
        "## Per genre (windows)",
        "",
        "| genre | windows | recall | precision |",
        "|---|---|---|---|",
    ]
    for name in labels:
        g = m["per_genre"][name]
        lines.append(f"| {name} | {g['windows']} | {pct(g['recall'])} | {pct(g['precision'])} |")
    lines += ["", "## Per source", "", "| source | windows | window accuracy | clips | clip accuracy |",
              "|---|---|---|---|---|"]
    for name, s in m["per_source"].items():
        lines.append(f"| {name} | {s['windows']} | {pct(s['window_acc'])} | {s['clips']} | {pct(s['clip_acc'])} |")
    lines += ["", "Per-source figures mix genres: each source holds different genres (see the data README), "
              "so they are also a per-genre-mix figure.", "",
              "## Per genre and source (window recall)", "",
              "| genre | source | clips | windows | recall |", "|---|---|---|---|---|"]
    for name in labels:
        for src, c in m["per_genre_source"].get(name, {}).items():
            lines.append(f"| {name} | {src} | {c['clips']} | {c['windows']} | {pct(c['recall'])} |")
    lines += ["",
              f"## Confusion matrix (windows; rows true, columns predicted)", "", f"![confusion]({png_name})", "",
              "| true \\ predicted | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
    for i, name in enumerate(labels):
        lines.append(f"| {name} | " + " | ".join(str(v) for v in m["confusion"][i]) + " |")
    lines += ["", "## Provenance (from the model file)", ""]
    for key in ("training_commit", "training_command", "training_steps", "training_seconds", "data_manifest_sha256",
                "features_index_sha256", "export_date", "valid_window_acc", "valid_balanced_window_acc",
                "valid_clip_acc"):
        if key in meta:
            lines.append(f"- {key}: `{meta[key]}`")
    lines += ["", "The `valid_*` provenance values are small_cnn.py's own measurement on the same split from the "
              "genre-features output (Python windows); the table above is the C tool on the audio.", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def main(argv=None):
    p = argparse.ArgumentParser(description="Evaluate a genre model file with genre-classify on a manifest split.")
    p.add_argument("--model", default=os.path.join(REPO, "models", "genre.gmdl"))
    p.add_argument("--manifest", default=os.path.join(REPO, "..", "shared", "data", "genres", "manifest.csv"))
    p.add_argument("--split", default="valid")
    p.add_argument("--classify", help="genre-classify executable (default: PATH, then build*/src/tools)")
    p.add_argument("--hop", type=float, default=5.0, help="window hop in seconds")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--report", help="write a Markdown report here (and <name>.png / .json next to it)")
    p.add_argument("--json", help="write every figure as JSON here")
    args = p.parse_args(argv)
    args.model = os.path.abspath(args.model)
    args.manifest = os.path.abspath(args.manifest)
    if not os.path.isfile(args.model):
        raise SystemExit(f"error: model {args.model} not found")

    from .genre_model_file import ModelFileError, read_model
    try:
        model = read_model(args.model)
    except (ModelFileError, OSError, KeyError, ValueError) as e:
        raise SystemExit(f"error: {args.model}: not a readable model file: {e}")
    labels = model["labels"]
    meta = model["meta"]
    rows = read_manifest(args.manifest, args.split)
    unknown = sorted({r["label"] for r in rows} - set(labels))
    if unknown:
        raise SystemExit(f"error: the manifest has labels the model does not know: {', '.join(unknown)}")

    tool = find_classify(args.classify)
    results = classify(tool, args.model, [r["path"] for r in rows], args.hop, args.jobs)
    win_label, win_pred, win_source, clip_label, clip_pred, clip_source = [], [], [], [], [], []
    for r in rows:
        res = results.get(r["path"])
        if res is None:
            raise SystemExit(f"error: genre-classify gave no result for {r['path']}")
        k = labels.index(r["label"])
        windows = res.get("windows") or []
        if not windows:
            raise SystemExit(f"error: genre-classify gave no windows for {r['path']}")
        # The network's answer, also for windows genre-classify calls silent.
        window_probs = np.array([[w["probabilities"][lab] for lab in labels] for w in windows])
        for p in window_probs:
            win_label.append(k)
            win_pred.append(int(np.argmax(p)))
            win_source.append(r["source"])
        clip_label.append(k)
        clip_pred.append(labels.index(res["genre"]) if res.get("genre") else
                         int(np.argmax(window_probs.mean(axis=0))))
        clip_source.append(r["source"])
    m = window_metrics(labels, len(labels), win_label, win_pred, win_source, clip_label, clip_pred, clip_source)

    print(f"{m['clips']} clips, {m['windows']} windows: window acc {pct(m['window_acc'])}, balanced "
          f"{pct(m['balanced_window_acc'])}, clip {pct(m['clip_acc'])}, lowest genre {pct(m['min_genre_recall'])}, "
          f"source spread {source_spread(m):.1f} points")
    for name in labels:
        g = m["per_genre"][name]
        print(f"  {name:10s} windows {g['windows']:4d} recall {pct(g['recall']):>8s} precision {pct(g['precision']):>8s}")
    for name, s in m["per_source"].items():
        print(f"  source {name:8s} windows {s['windows']:4d} window acc {pct(s['window_acc'])} clip acc {pct(s['clip_acc'])}")

    with open(args.model, "rb") as f:
        model_sha = hashlib.sha256(f.read()).hexdigest()
    if args.report:
        os.makedirs(os.path.dirname(os.path.abspath(args.report)), exist_ok=True)
        stem = os.path.splitext(args.report)[0]
        png = os.path.join(os.path.dirname(os.path.abspath(args.report)), "confusion.png") \
            if os.path.basename(args.report) == "REPORT.md" else stem + ".png"
        plot_confusion(m["confusion"], labels, png, f"{args.split} windows, genre-classify")
        write_report(args.report, os.path.basename(png), m, labels, args, meta, model_sha)
        json_path = args.json or stem + ".json"
    else:
        json_path = args.json
    if json_path:
        with open(json_path, "w") as f:
            json.dump(dict(m, labels=labels, model_sha256=model_sha, split=args.split), f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
