#!/usr/bin/python3
"""The pretrained musicnn imported into libgenre (suite train).

On real audio frames from the C front-end (musicnn's input: area-normalised
mels, log10(1 + 1e4 E)), the original MSD_musicnn exported as a version-2
graph with its 50 sigmoid tags:
  * libgenre on one window computed from scratch equals PyTorch within 1e-4,
    and the top-5 tags are the same;
  * libgenre streaming the whole clip (pushed 1, 7 and 100 frames at a time,
    1 and 2 threads) gives every window equal to PyTorch run on the whole
    clip and pooled over the window, within 1e-4;
  * genre-features --node (the stream classifier tapping a graph node, from
    the audio files) gives the per-frame front-end embeddings and mid-end
    features PyTorch computes on the same clips' frames, within 1e-5 of the
    largest value --
    the embeddings training caches (train/embed.py) by libgenre's path;
  * the HDF5 reader refuses a missing file, a file that is not HDF5 and an
    HDF5 file that is not musicnn, each with a message naming the file;
  * the shipped transfer model (models/genre.gmdl) through libgenre equals
    the same file's graph run by PyTorch (bench/bench_model.py's module)
    within 1e-4 on real audio windows, with the same genre, and it carries
    the musicnn attribution and the source weights' sha256.

usage: test_musicnn.py SOURCE_ROOT DUMP_FRONTEND GRAPH_EVAL PRETRAINED_DIR DATA_DIR WORKDIR FEATURES_TOOL
"""
import csv
import os
import subprocess
import sys

import numpy as np

TOL = 1e-4
# Unbounded activations (embeddings up to ~100) compare relative to their
# largest value: float32 sums over thousands of products differ by a few ulps.
REL_TOL = 1e-5


def main():
    root, dump, graph_eval, pretrained, data, work, features_tool = sys.argv[1:8]
    import torch
    from train import genre_data, musicnn
    from train import genre_model_file as gmf
    weights = os.path.join(pretrained, "MSD_musicnn.h5")
    manifest = os.path.join(data, "manifest.csv")
    if not (os.path.isfile(weights) and os.path.isfile(manifest)):
        print(f"skip: {weights} or {manifest} missing")
        return 77
    os.makedirs(work, exist_ok=True)
    failures = []

    def check(ok, msg):
        print(("ok   " if ok else "FAIL ") + msg)
        if not ok:
            failures.append(msg)

    net = musicnn.load_keras_weights(weights)
    check(sum(p.numel() for p in net.parameters()) == 787159, "787,159 trained parameters")
    model = os.path.join(work, "msd.gmdl")
    gmf.write_model(model, musicnn.frontend_for_model(187), musicnn.MSD_TAGS, None,
                    {"source": "MSD_musicnn.h5"},
                    nodes=musicnn.graph_nodes(net.front, net.mid, net.back, output="sigmoid"))

    with open(manifest, newline="") as f:
        rows = list(csv.DictReader(f))
    picked = [next(r for r in rows if r["label"] == g and r["split"] == "valid")
              for g in ("metal", "jazz")]
    for r in picked:
        name = f"{r['label']}-{r['source']}"
        prefix = os.path.join(work, name)
        run = subprocess.run([dump, "--area", "--log-offset", "1e-4", os.path.join(data, r["file"]),
                              prefix], capture_output=True, text=True)
        check(run.returncode == 0, f"{name}: C front-end frames {run.stderr.strip()}")
        if run.returncode:
            continue
        raw = np.load(prefix + ".frames.npy")
        x = ((raw - musicnn.LOG10_MEAN) / musicnn.LOG10_STD).astype(np.float32)
        with torch.no_grad():
            feats = net.mid(net.front(torch.from_numpy(x[None])))[0]

        # one 3-s window (187 frames, musicnn's training patch) from scratch
        w = x[500:687]
        w.tofile(prefix + ".win.f32")
        with torch.no_grad():
            ref = torch.sigmoid(net(torch.from_numpy(w[None]))).numpy()[0]
        # on every set of conv kernels this CPU runs (77: not this one)
        for isa in ("portable", "avx2", "avx512"):
            out = subprocess.run([graph_eval, "--isa", isa, model, prefix + ".win.f32"],
                                 capture_output=True, text=True)
            if out.returncode == 77 and isa != "portable":
                print(f"{name}: {isa} kernels not on this CPU")
                continue
            c = np.array(out.stdout.split(), dtype=np.float64)
            ok = out.returncode == 0 and c.shape == ref.shape
            diff = float(np.abs(c - ref).max()) if ok else float("inf")
            top_c = [musicnn.MSD_TAGS[i] for i in np.argsort(-c)[:5]] if ok else []
            top_ref = [musicnn.MSD_TAGS[i] for i in np.argsort(-ref)[:5]]
            check(ok and diff < TOL,
                  f"{name}: one window from scratch, {isa} kernels, max |C - PyTorch| {diff:.2e}")
            check(top_c == top_ref, f"{name} ({isa}): top tags C {top_c} / PyTorch {top_ref}")

        x.tofile(prefix + ".all.f32")
        for piece, threads in ((1, 1), (7, 2), (100, 1)):
            out = subprocess.run([graph_eval, "--threads", str(threads), "--stream", str(piece),
                                  "--window", "187", "--hop", "150", model, prefix + ".all.f32"],
                                 capture_output=True, text=True)
            worst, count = 0.0, 0
            for line in out.stdout.splitlines():
                v = line.split()
                a, b = int(v[0]), int(v[1])
                with torch.no_grad():
                    ref = torch.sigmoid(net.back(musicnn.time_maxmean(feats[None, :, a:b]))).numpy()[0]
                worst = max(worst, float(np.abs(np.array(v[2:], dtype=np.float64) - ref).max()))
                count += 1
            expect = (len(x) - 187) // 150 + 1
            check(out.returncode == 0 and count == expect and worst < TOL,
                  f"{name}: streamed in pieces of {piece}, {threads} thread(s): {count} of {expect} "
                  f"windows, max |C - PyTorch| {worst:.2e} {out.stderr.strip()}")

    # genre-features --node: the trunk's per-frame outputs from the audio
    tapped = os.path.join(work, "tapped.csv")
    with open(tapped, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(picked[0].keys()))
        w.writeheader()
        for r in picked:
            w.writerow(dict(r, file=os.path.join(data, r["file"])))
    for node, width in (("frontend", musicnn.FRONTEND_CHANNELS), ("features", musicnn.POOLED_CHANNELS)):
        out_dir = os.path.join(work, f"tap-{node}")
        run = subprocess.run([features_tool, "--model", model, "--node", node, tapped, out_dir],
                             capture_output=True, text=True)
        check(run.returncode == 0, f"genre-features --node {node}: {run.stderr.strip()}")
        if run.returncode:
            continue
        with open(os.path.join(out_dir, "index.csv"), newline="") as f:
            for r in csv.DictReader(f):
                prefix = os.path.join(work, f"{r['label']}-{r['source']}")
                x = np.fromfile(prefix + ".all.f32", dtype=np.float32).reshape(-1, 96)
                with torch.no_grad():
                    fe = net.front(torch.from_numpy(x[None]))
                    ref = (fe if node == "frontend" else net.mid(fe))[0].numpy().T
                got = np.load(os.path.join(out_dir, r["npy"]))
                ok = got.shape == ref.shape == (len(x), width)
                diff = float(np.abs(got - ref).max()) if ok else float("inf")
                scale = float(np.abs(ref).max())
                check(ok and diff < REL_TOL * scale, f"genre-features --node {node}, {r['label']}: "
                      f"{got.shape} frames, max |C - PyTorch| {diff:.2e}, values up to {scale:.1f} "
                      f"(relative {diff / scale:.1e})")

    # the shipped genre model: libgenre against PyTorch on the file's graph
    shipped = os.path.join(root, "models", "genre.gmdl")
    from bench import bench_model
    m = gmf.read_model(shipped)
    check(m["format_version"] == 2 and "Pons" in m["meta"].get("attribution", "")
          and genre_data.sha256_file(weights) in m["meta"].get("source_weights_sha256", ""),
          f"shipped model: version {m['format_version']}, attribution and source weights' sha256")
    torch_net = bench_model.torch_module(m)
    wf = int(m["frontend"]["window_frames"])
    for r in picked:
        prefix = os.path.join(work, f"{r['label']}-{r['source']}")
        x = np.fromfile(prefix + ".all.f32", dtype=np.float32).reshape(-1, 96)
        w = np.ascontiguousarray(x[:wf])
        w.tofile(prefix + ".shipped.f32")
        with torch.no_grad():
            ref = torch_net(torch.from_numpy(w)[None, None]).numpy()[0]
        out = subprocess.run([graph_eval, shipped, prefix + ".shipped.f32"], capture_output=True,
                             text=True)
        c = np.array(out.stdout.split(), dtype=np.float64)
        ok = out.returncode == 0 and c.shape == ref.shape
        diff = float(np.abs(c - ref).max()) if ok else float("inf")
        check(ok and diff < TOL and int(np.argmax(c)) == int(np.argmax(ref)),
              f"shipped model, {r['label']} window: max |C - PyTorch| {diff:.2e}, "
              f"genre {m['labels'][int(np.argmax(ref))]}")

    # the HDF5 reader's errors name the file
    bad = os.path.join(work, "not-hdf5.h5")
    with open(bad, "wb") as f:
        f.write(b"this is not an HDF5 file\n")
    other = os.path.join(work, "other.h5")
    import h5py
    with h5py.File(other, "w") as f:
        f.create_dataset("x", data=np.zeros(3))
    for path in (os.path.join(work, "missing.h5"), bad, other):
        try:
            musicnn.load_keras_weights(path)
            check(False, f"{path} refused")
        except musicnn.HDF5Error as e:
            check(path in str(e), f"refused: {e}")

    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
