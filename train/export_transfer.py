#!/usr/bin/python3
"""Export a transfer_head.py (or transfer.py) checkpoint as a version-2
genre model file: the pretrained musicnn trunk(s) from the HDF5 file(s) the
checkpoint names, the trained genre head, as one graph; musicnn's front-end
spec, the labels, provenance and the musicnn attribution.

  /usr/bin/python3 train/export_transfer.py runs/t1/best.pt models/genre.gmdl \
      --manifest ../shared/data/genres/manifest.csv
"""

import argparse
import datetime
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import musicnn  # noqa: E402
from genre_data import sha256_file  # noqa: E402
from genre_model_file import write_model  # noqa: E402
from transfer import GenreHead  # noqa: E402


def frame_cost(nodes, n_mels):
    """Multiply-adds per frame of the frame-domain convolutions, and the
    number of trained values in the file."""
    macs, values = 0, 0
    for nd in nodes:
        for key in ("weight", "bias", "scale", "shift"):
            if key in nd:
                values += int(np.asarray(nd[key]).size)
        if nd["type"] == "conv2d":
            out_c, in_c, kt, kf = np.asarray(nd["weight"]).shape
            bins = (n_mels - kf + 1) if in_c == 1 else 1
            macs += out_c * in_c * kt * kf * bins
    return macs, values


def head_nodes(ckpt):
    """Trunks and the ensemble head of a transfer_head.py checkpoint.  The
    members' logits are averaged, so the ensemble is one MLP: their hidden
    layers side by side (the input standardisation folded in), their output
    layers side by side divided by the member count."""
    nodes, pooled = [], []
    many = len(ckpt["trunks"]) > 1
    for t in ckpt["trunks"]:
        try:
            net = musicnn.load_keras_weights(t["weights"])
        except musicnn.HDF5Error as e:
            raise SystemExit(f"error: {e}")
        if sha256_file(t["weights"]) != t["weights_sha256"]:
            raise SystemExit(f"error: {t['weights']} is not the file the head was trained on")
        prefix = os.path.basename(t["weights"]).split("_")[0].lower() + "_" if many else ""
        trunk, pool = musicnn.trunk_nodes(net.front, net.mid, prefix)
        nodes += trunk
        pooled.append(pool)
    x = pooled[0]
    if many:
        nodes.append(dict(name="pooled", type="concat", inputs=pooled))
        x = "pooled"
    mu, sd, members = ckpt["mu"].astype(np.float64), ckpt["sd"].astype(np.float64), ckpt["members"]
    w1 = np.concatenate([m["w1"] / sd for m in members])
    b1 = np.concatenate([m["b1"] - (m["w1"] / sd) @ mu for m in members])
    w2 = np.concatenate([m["w2"] for m in members], axis=1) / len(members)
    b2 = np.mean([m["b2"] for m in members], axis=0)
    nodes += [dict(name="head", type="dense", inputs=[x], weight=w1, bias=b1),
              dict(name="head_relu", type="relu", inputs=["head"]),
              dict(name="logits", type="dense", inputs=["head_relu"], weight=w2, bias=b2),
              dict(name="probs", type="softmax", inputs=["logits"])]
    # The merged head must be the members' mean: check on random pooled vectors.
    rng = np.random.default_rng(0)
    v = mu + sd * rng.standard_normal((4, mu.shape[0]))
    mean = np.mean([np.maximum((v - mu) / sd @ m["w1"].T + m["b1"], 0) @ m["w2"].T + m["b2"]
                    for m in members], axis=0)
    merged = np.maximum(v @ w1.T + b1, 0) @ w2.T + b2
    if not np.allclose(mean, merged, atol=1e-4):
        raise SystemExit("error: merged head differs from the members' mean")
    return nodes


def provenance(ckpt, args, nodes, description, weights, weights_sha256):
    """The META of an exported transfer model: what it is, the attribution,
    where its weights and data came from, how it was trained, its figures."""
    macs, values = frame_cost(nodes, musicnn.N_MELS)
    m = ckpt["metrics"]
    meta = {
        "model": description,
        "labels": ",".join(ckpt["labels"]),
        "attribution": musicnn.ATTRIBUTION,
        "source_weights": ",".join(os.path.basename(w) for w in weights),
        "source_weights_sha256": ",".join(weights_sha256),
        "params": values,
        "mmac_per_frame": f"{macs / 1e6:.2f}",
        "training_commit": ckpt.get("git_commit", "unknown"),
        "training_command": ckpt.get("command", ""),
        "training_seconds": f"{ckpt.get('seconds', 0):.0f}",
        "export_command": " ".join([sys.executable] + sys.argv),
        "export_date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "valid_window_acc": f"{m['window_acc']:.4f}",
        "valid_balanced_window_acc": f"{m['balanced_window_acc']:.4f}",
        "valid_clip_acc": f"{m['clip_acc']:.4f}",
        "valid_min_genre_recall": f"{m['min_genre_recall']:.4f}",
        "valid_windows": m["windows"],
        "valid_clips": m["clips"],
    }
    if args.manifest:
        if not os.path.isfile(args.manifest):
            raise SystemExit(f"error: manifest {args.manifest} not found")
        meta["data_manifest"] = os.path.basename(args.manifest)
        meta["data_manifest_sha256"] = sha256_file(args.manifest)
    return meta


def write(args, window, labels, meta, nodes):
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    write_model(args.output, musicnn.frontend_for_model(window), labels, None, meta, nodes=nodes)
    print(f"wrote {args.output}: {len(labels)} labels, {len(nodes)} nodes, {meta['params']} values, "
          f"{meta['mmac_per_frame']} M multiply-adds per frame", file=sys.stderr)
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint")
    p.add_argument("output")
    p.add_argument("--weights", help="musicnn HDF5 file (default: the one the checkpoint was trained from)")
    p.add_argument("--manifest", help="the data manifest (its sha256 goes into the provenance)")
    args = p.parse_args(argv)

    ckpt = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    if ckpt.get("kind") == "head":
        return export_head(ckpt, args)
    weights = args.weights or ckpt["args"]["weights"]
    if sha256_file(weights) != ckpt["weights_sha256"]:
        raise SystemExit(f"error: {weights} is not the file the checkpoint was trained from "
                         f"(sha256 {ckpt['weights_sha256']})")
    try:
        pretrained = musicnn.load_keras_weights(weights)
    except musicnn.HDF5Error as e:
        raise SystemExit(f"error: {e}")
    front = pretrained.front
    labels = ckpt["labels"]
    model = GenreHead(pretrained, len(labels), ckpt["args"]["dropout"])
    model.load_state_dict(ckpt["state"])
    model.eval()
    window = int(ckpt["args"]["window"])
    nodes = musicnn.graph_nodes(front, model.mid, model.back, output="softmax")
    meta = provenance(ckpt, args, nodes,
                      "musicnn transfer: MSD_musicnn front-end (frozen), mid-end and back-end "
                      f"fine-tuned ({ckpt['args']['mode']}), new genre head",
                      [weights], [ckpt["weights_sha256"]])
    meta.update(training_steps=ckpt.get("step", ""),
                features_index_sha256=ckpt["embed"].get("features_index_sha256", ""),
                embeddings_index_sha256=ckpt.get("emb_index_sha256", ""))
    return write(args, window, labels, meta, nodes)


def export_head(ckpt, args):
    nodes = head_nodes(ckpt)
    a = ckpt["args"]
    trunks = ckpt["trunks"]
    meta = provenance(ckpt, args, nodes,
                      f"musicnn transfer: frozen pretrained trunk(s) "
                      f"({', '.join(os.path.basename(t['weights']) for t in trunks)}), "
                      f"genre head of {a['members']} MLPs x {a['hidden']} hidden units",
                      [t["weights"] for t in trunks], [t["weights_sha256"] for t in trunks])
    meta["features_index_sha256"] = trunks[0]["embed"].get("features_index_sha256", "")
    augmented = ckpt.get("augmented") or []
    if augmented:
        meta["augmented_passes"] = len(augmented)
        meta["augmented_windows"] = sum(a["windows"] for a in augmented)
        meta["augmented_sha256"] = ",".join(a["sha256"] for a in augmented)
    return write(args, ckpt["window"], ckpt["labels"], meta, nodes)


if __name__ == "__main__":
    sys.exit(main())
