"""Writes the model files the C tests load, through train/genre_model_file.py.
Usage: make_test_models.py SOURCE_ROOT OUTDIR

good.gmdl          small valid model using every layer type (the C tests
                   mutate its bytes; they rely on the layout noted below)
extra_optional.gmdl  good + an unknown optional section (must load)
extra_required.gmdl  good + an unknown section flagged required (refused)
dup_frnt.gmdl      FRNT twice             missing_layr.gmdl  no LAYR
chain_mismatch.gmdl  each layer valid alone, but conv1 expects 4 channels
                   where conv0 makes 2 (loads; genre_net_new refuses)
not_softmax.gmdl   ends in dense: loads; genre_net_new refuses
"""
import os
import sys

import numpy as np

from train import genre_model_file as gmf

source_root, outdir = sys.argv[1:3]

rng = np.random.default_rng(7)
N_MELS, FRAMES = 4, 8
frontend = dict(sample_rate=16000, n_fft=512, hop=256, window="hann", n_mels=N_MELS, fmin=0.0,
                fmax=8000.0, mel_scale="slaney", log_offset=1e-3, window_frames=FRAMES,
                norm_mean=np.linspace(-1, 1, N_MELS).astype(np.float32),
                norm_std=np.linspace(0.5, 2, N_MELS).astype(np.float32))
# Labels chosen so one byte turns "bluez" into a duplicate of "blues".
labels = ["blues", "bluez", "jazz"]


def f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)


# Tensor indices: 0/1 conv0 weight/bias, 2/3 conv3, 4/5 dense.
layers = [dict(type="conv2d", weight=f32(2, 1, 3, 3), bias=f32(2), pad=(1, 1)),
          dict(type="relu"),
          dict(type="maxpool2d", kernel=(2, 2)),
          dict(type="conv2d", weight=f32(3, 2, 1, 1), bias=f32(3), pad=(0, 0)),
          dict(type="global_meanmax"),
          dict(type="dense", weight=f32(3, 6), bias=f32(3)),
          dict(type="softmax")]
meta = {"data_manifest_sha256": "0" * 64, "training_commit": "test", "date": "2026-11-24",
        "valid_accuracy": "0.123"}

os.makedirs(outdir, exist_ok=True)


def save(name, image):
    with open(os.path.join(outdir, name), "wb") as f:
        f.write(image)


good = gmf.encode_model(frontend, labels, layers, meta)
save("good.gmdl", good)


def sections_of(image):
    _, _, _, header_size, count, _ = gmf.HEADER.unpack_from(image)
    out = []
    for i in range(count):
        tag, flags, off, size = gmf.SECTION.unpack_from(image, header_size + i * gmf.SECTION.size)
        out.append((tag, flags, image[off:off + size]))
    return out


secs = sections_of(good)
save("extra_optional.gmdl", gmf.assemble(secs + [(b"XTRA", 0, b"later data")]))
save("extra_required.gmdl", gmf.assemble(secs + [(b"XTRA", gmf.FLAG_REQUIRED, b"later data")]))
save("dup_frnt.gmdl", gmf.assemble(secs + [secs[0]]))
save("missing_layr.gmdl", gmf.assemble([s for s in secs if s[0] != b"LAYR"]))

bad_chain = list(layers)
bad_chain[3] = dict(type="conv2d", weight=f32(3, 4, 1, 1), bias=f32(3), pad=(0, 0))
save("chain_mismatch.gmdl", gmf.encode_model(frontend, labels, bad_chain, meta, check_chain=False))
save("not_softmax.gmdl", gmf.encode_model(frontend, labels, layers[:-1], meta, check_chain=False))
