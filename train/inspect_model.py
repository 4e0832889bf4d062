"""Print a genre model file: header, section table, front-end spec, labels,
layers (with tensor shapes and value ranges) and provenance.

    /usr/bin/python3 -m train.inspect_model models/genre.gmdl
"""
import struct
import sys

import numpy as np

from . import genre_model_file as gmf


def describe(array):
    return (f"{list(array.shape)} min {array.min():.4g} max {array.max():.4g} "
            f"mean {array.mean():.4g}")


def main(argv):
    if len(argv) != 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(argv) == 2 else 2
    path = argv[1]
    try:
        with open(path, "rb") as f:
            data = f.read()
        model = gmf.decode_model(data)
    except (OSError, ValueError, KeyError, struct.error) as e:
        print(f"{path}: {e}", file=sys.stderr)
        return 1

    magic, version, endian, header_size, count, total = gmf.HEADER.unpack_from(data)
    print(f"file        {path}")
    print(f"format      version {version}, {total} bytes, CRC-32 {model['crc32']:08x}, "
          f"{count} sections")
    for i in range(count):
        tag, flags, offset, size = gmf.SECTION.unpack_from(data, header_size + i * gmf.SECTION.size)
        print(f"  {tag.decode('ascii', 'replace')}  offset {offset:>9}  size {size:>9}"
              f"{'  required' if flags & gmf.FLAG_REQUIRED else ''}")

    fe = model["frontend"]
    print("front-end")
    for key in ("sample_rate", "n_fft", "hop", "window", "n_mels", "fmin", "fmax", "mel_scale",
                "log_offset", "window_frames"):
        print(f"  {key:<14}{fe[key]}")
    seconds = ((fe["window_frames"] - 1) * fe["hop"] + fe["n_fft"]) / fe["sample_rate"]
    print(f"  {'window span':<14}{seconds:.3f} s")
    print(f"  {'norm_mean':<14}{describe(fe['norm_mean'])}")
    print(f"  {'norm_std':<14}{describe(fe['norm_std'])}")

    print(f"labels ({len(model['labels'])})")
    for i, name in enumerate(model["labels"]):
        print(f"  {i:>3} {name}")

    print(f"layers ({len(model['layers'])})")
    params = 0
    for i, layer in enumerate(model["layers"]):
        extra = ""
        if layer["type"] == "conv2d":
            extra = f"pad {tuple(layer['pad'])}"
        elif layer["type"] == "maxpool2d":
            extra = f"kernel {tuple(layer['kernel'])}"
        print(f"  {i:>3} {layer['type']:<15}{extra}")
        for key in ("weight", "bias"):
            if key in layer:
                params += layer[key].size
                print(f"        {key:<7}{describe(layer[key])}")
    print(f"  parameters    {params}")

    print("meta")
    for key, value in model["meta"].items():
        print(f"  {key}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
