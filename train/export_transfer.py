"""Export a transfer_head.py, transfer_temporal.py (or transfer.py) checkpoint as a version-2
genre model file: the pretrained musicnn trunk(s) from the HDF5 file(s) the
checkpoint names, the trained genre head, as one graph; musicnn's front-end
spec, the labels, provenance and the musicnn attribution.

  /usr/bin/python3 -m train.export_transfer runs/t1/best.pt models/genre.gmdl \
      --manifest ../shared/data/genres/manifest.csv
"""

import argparse
import datetime
import os
import sys

import numpy as np
import torch

from . import musicnn
from .genre_data import command_line, sha256_file
from .genre_model_file import write_model
from .transfer import GenreHead


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


def load_trunk(t):
    """The pretrained network a checkpoint's trunk entry names, checked to
    be the very file the head was trained on."""
    try:
        net = musicnn.load_keras_weights(t["weights"])
    except musicnn.HDF5Error as e:
        raise SystemExit(f"error: {e}")
    if sha256_file(t["weights"]) != t["weights_sha256"]:
        raise SystemExit(f"error: {t['weights']} is not the file the head was trained on")
    return net


def head_nodes(ckpt):
    """Trunks and the ensemble head of a transfer_head.py checkpoint.  The
    members' logits are averaged, so the ensemble is one MLP: their hidden
    layers side by side (the input standardisation folded in), their output
    layers side by side divided by the member count."""
    nodes, pooled = [], []
    many = len(ckpt["trunks"]) > 1
    for t in ckpt["trunks"]:
        net = load_trunk(t)
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


def temporal_nodes(ckpt):
    """The trunk and the ensemble temporal head of a transfer_temporal.py
    checkpoint.  Per-frame layers on the trunk's features (the input
    standardisation folded into the first conv; with --kernel 1 the
    members' first convs side by side as one), the time pooling of all
    members' channels at once, then one dense layer holding the members'
    output layers side by side divided by the member count (their logits'
    mean); the raw pooled path's weights are summed over the members."""
    (t,) = ckpt["trunks"]
    net = load_trunk(t)
    nodes, pool = musicnn.trunk_nodes(net.front, net.mid)
    a, members = ckpt["args"], ckpt["members"]
    kernel, hidden, raw, k_n = a["kernel"], a["hidden"], a["raw"], len(members)
    if not raw:
        nodes = [nd for nd in nodes if nd["name"] != pool]
    mu, sd = ckpt["mu"].astype(np.float64), ckpt["sd"].astype(np.float64)

    def first(m):
        w = m["conv1.weight"][:, :, 0].astype(np.float64) / sd
        return w, m["conv1.bias"].astype(np.float64) - w @ mu

    if kernel == 1:
        w1, b1 = zip(*(first(m) for m in members))
        nodes += [dict(name="temporal1", type="conv2d", inputs=["features"],
                       weight=np.concatenate(w1)[:, :, None, None], bias=np.concatenate(b1), pad_t=0, pad_f=0),
                  dict(name="temporal1_relu", type="relu", inputs=["temporal1"])]
        learned = ["temporal1_relu"]
    else:
        learned = []
        for i, m in enumerate(members):
            w1, b1 = first(m)
            nodes += [dict(name=f"t{i}_conv1", type="conv2d", inputs=["features"], weight=w1[:, :, None, None],
                           bias=b1, pad_t=0, pad_f=0),
                      dict(name=f"t{i}_relu1", type="relu", inputs=[f"t{i}_conv1"]),
                      dict(name=f"t{i}_conv2", type="conv2d", inputs=[f"t{i}_relu1"],
                           weight=m["conv2.weight"].astype(np.float64)[..., None],
                           bias=m["conv2.bias"].astype(np.float64), pad_t=kernel // 2, pad_f=0),
                      dict(name=f"t{i}_relu2", type="relu", inputs=[f"t{i}_conv2"]),
                      dict(name=f"t{i}_res", type="add", inputs=[f"t{i}_relu2", f"t{i}_relu1"])]
            learned.append(f"t{i}_res")
    if len(learned) > 1:
        nodes.append(dict(name="temporal", type="concat", inputs=learned))
        learned = ["temporal"]
    nodes.append(dict(name="temporal_pool", type="time_maxmean", inputs=learned))
    n_learned = 2 * hidden
    x = "temporal_pool"
    if raw:
        nodes.append(dict(name="head_in", type="concat", inputs=["temporal_pool", pool]))
        x = "head_in"
        pmu, psd = ckpt["pooled_mu"].astype(np.float64), ckpt["pooled_sd"].astype(np.float64)

    def first_dense(w, b):
        """A member's dense layer on [its learned pooled 2H, raw 1506] ->
        on [all members' learned pooled, raw unstandardised]: (blocks, raw, bias)."""
        w, b = w.astype(np.float64), b.astype(np.float64)
        if raw:
            w_raw = w[:, n_learned:] / psd
            return w[:, :n_learned], w_raw, b - w_raw @ pmu
        return w[:, :n_learned], None, b

    def spread(i, block):
        """block placed at member i's columns of the learned pooled vector."""
        z = np.zeros((block.shape[0], k_n * n_learned))
        z[:, i * n_learned:(i + 1) * n_learned] = block
        return z

    if a.get("mlp"):
        # Members' hidden layers side by side, output layers side by side / K.
        rows, biases = [], []
        for i, m in enumerate(members):
            blk, w_raw, b = first_dense(m["mlp.weight"], m["mlp.bias"])
            rows.append(np.concatenate([spread(i, blk)] + ([w_raw] if raw else []), axis=1))
            biases.append(b)
        nodes += [dict(name="head", type="dense", inputs=[x], weight=np.concatenate(rows),
                       bias=np.concatenate(biases)),
                  dict(name="head_relu", type="relu", inputs=["head"])]
        x = "head_relu"
        w_out = np.concatenate([m["out.weight"].astype(np.float64) for m in members], axis=1) / k_n
        b_out = np.mean([m["out.bias"].astype(np.float64) for m in members], axis=0)
    else:
        parts = [first_dense(m["out.weight"], m["out.bias"]) for m in members]
        w_out = np.sum([spread(i, blk) for i, (blk, _, _) in enumerate(parts)], axis=0) / k_n
        if raw:
            w_out = np.concatenate([w_out, np.sum([w for _, w, _ in parts], axis=0) / k_n], axis=1)
        b_out = np.mean([b for _, _, b in parts], axis=0)
    nodes += [dict(name="logits", type="dense", inputs=[x], weight=w_out, bias=b_out),
              dict(name="probs", type="softmax", inputs=["logits"])]
    check_temporal(ckpt, nodes)
    return nodes


def _run_head(nodes, feats):
    """The graph's nodes after the trunk, in NumPy float64, on per-frame
    trunk features [T, 753] streamed as one window (zero beyond its edges)."""
    vals, by_name = {"features": feats}, {nd["name"]: nd for nd in nodes}

    def get(name):
        if name in vals:
            return vals[name]
        nd = by_name[name]
        xs = [get(i) for i in nd["inputs"]]
        kind = nd["type"]
        if kind == "conv2d":
            w, pad = np.asarray(nd["weight"], dtype=np.float64)[..., 0], nd["pad_t"]
            xp = np.pad(xs[0], ((pad, w.shape[2] - 1 - pad), (0, 0)))
            v = sum(xp[j:j + xs[0].shape[0]] @ w[:, :, j].T for j in range(w.shape[2])) + nd["bias"]
        elif kind == "relu":
            v = np.maximum(xs[0], 0)
        elif kind == "add":
            v = xs[0] + xs[1]
        elif kind == "concat":
            v = np.concatenate(xs, axis=-1)
        elif kind == "time_maxmean":
            v = np.stack([xs[0].max(0), xs[0].mean(0)], axis=1).reshape(-1)
        elif kind == "dense":
            v = np.asarray(nd["weight"], dtype=np.float64) @ xs[0] + nd["bias"]
        else:
            raise SystemExit(f"error: no check for node type {kind}")
        vals[name] = v
        return v
    return get("logits")


def check_temporal(ckpt, nodes):
    """The merged graph must give the members' mean logits: check on random
    trunk features (one window of 200 frames)."""
    from .transfer_temporal import TemporalHead, masked_maxmean
    a = ckpt["args"]
    mu, sd = ckpt["mu"], ckpt["sd"]
    rng = np.random.default_rng(0)
    feats = np.abs(mu + sd * rng.standard_normal((200, mu.shape[0])))
    raw = torch.tensor(feats.T[None], dtype=torch.float32)
    x = (raw - torch.tensor(mu, dtype=torch.float32)[None, :, None]) / \
        torch.tensor(sd, dtype=torch.float32)[None, :, None]
    ones = torch.ones((1, 200), dtype=torch.bool)
    logits = []
    for m in ckpt["members"]:
        net = TemporalHead(mu.shape[0], len(ckpt["labels"]), a["hidden"], a["kernel"], a["raw"], 0, 0,
                           a.get("mlp", 0))
        net.load_state_dict({k: torch.from_numpy(v) for k, v in m.items()})
        net.eval()
        with torch.no_grad():
            r = None
            if a["raw"]:
                r = (masked_maxmean(raw, ones) - torch.tensor(ckpt["pooled_mu"], dtype=torch.float32)) / \
                    torch.tensor(ckpt["pooled_sd"], dtype=torch.float32)
            logits.append(net.classify(net.pooled(x, ones, ones), r)[0].numpy())
    want, got = np.mean(logits, axis=0), _run_head(nodes, feats)
    if not np.allclose(want, got, atol=1e-3 * max(1.0, np.abs(want).max())):
        raise SystemExit(f"error: merged temporal head differs from the members' mean: {want} vs {got}")


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
        "export_command": command_line(),
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
    if ckpt.get("kind") in ("head", "temporal"):
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
    a = ckpt["args"]
    trunks = ckpt["trunks"]
    if ckpt["kind"] == "temporal":
        nodes = temporal_nodes(ckpt)
        head = (f"temporal genre head of {a['members']} members: per-frame conv 753 -> {a['hidden']}"
                + (f", conv k={a['kernel']} with residual" if a["kernel"] > 1 else "")
                + ", max and mean over the window" + (" with the raw pooled trunk" if a["raw"] else "")
                + ", dense")
    else:
        nodes = head_nodes(ckpt)
        head = f"genre head of {a['members']} MLPs x {a['hidden']} hidden units"
    meta = provenance(ckpt, args, nodes,
                      f"musicnn transfer: frozen pretrained trunk(s) "
                      f"({', '.join(os.path.basename(t['weights']) for t in trunks)}), {head}",
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
