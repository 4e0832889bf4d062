"""Network architectures for the genre classifier.

Every architecture is a stack of conv blocks (3x3 conv + BatchNorm + ReLU +
max-pool), global mean+max pooling and a dense head.  These are exactly the
layer types the C engine runs (include/genre/model.h), so export.py can fold
BatchNorm into the conv and write the layers one to one.

Input: x of shape [B, 1, T, F] -- time-major like the C window (T = 624
frames, F = 96 mels), normalised log-mel.  Pool kernels are (time, freq).
"""

from torch import nn

from .reference import GlobalMeanMax  # noqa: F401  (export.py takes it from here too)

# name -> (conv channels, pool kernel after each conv as (time, freq), hidden dense units or 0)
# Pooling is heavier in time than in frequency early on: a 10-s window has
# 624 frames but only 96 bands, and genre cues are mostly timbral (frequency)
# plus rhythm patterns that survive coarse time resolution.
ARCHS = {
    # 4 blocks, 12 channels at full resolution: ~130 MFLOP/window.
    "c12": ([12, 24, 48, 96], [(4, 2), (2, 2), (2, 2), (2, 2)], 0),
    # 4 blocks, frequency pooled by 4 after the first conv: ~120 MFLOP/window.
    "f4": ([16, 32, 64, 128], [(4, 4), (2, 2), (2, 2), (2, 2)], 0),
    # 5 blocks, only 8 channels at full resolution: ~146 MFLOP/window.
    "c8x5": ([8, 16, 32, 64, 128], [(2, 2), (2, 2), (2, 2), (2, 2), (2, 2)], 0),
    # c8x5 with wider last two blocks, where the tensor is small: +60 MFLOP,
    # twice the parameters (~205 MFLOP/window).
    "c8x5w": ([8, 16, 32, 96, 192], [(2, 2), (2, 2), (2, 2), (2, 2), (2, 2)], 0),
    # Like f4 with a 64-unit hidden dense layer.
    "f4h": ([16, 32, 64, 128], [(4, 4), (2, 2), (2, 2), (2, 2)], 64),
    # c12 with a wider last block and a 64-unit hidden dense layer: more
    # capacity where the tensor is small (~142 MFLOP/window).
    "c12w": ([12, 24, 48, 128], [(4, 2), (2, 2), (2, 2), (2, 2)], 64),
    # Tiny, with a hidden dense layer, for the tests only.
    "tiny": ([4, 8], [(4, 4), (2, 2)], 8),
}


class GenreCNN(nn.Module):
    def __init__(self, n_labels, channels, pools, hidden=0, dropout=0.3):
        super().__init__()
        layers = []
        in_c = 1
        for out_c, pool in zip(channels, pools):
            # conv + BN + ReLU + max-pool; ReLU and max-pool commute (both
            # monotonic), so ReLU runs after the pool on a 4-8x smaller
            # tensor: the same function, about 20 % less training time.
            layers += [
                nn.Conv2d(in_c, out_c, kernel_size=3, padding=1, bias=False),
                nn.BatchNorm2d(out_c),
                nn.MaxPool2d(kernel_size=tuple(pool)),
                nn.ReLU(inplace=True),
            ]
            in_c = out_c
        layers.append(GlobalMeanMax())
        layers.append(nn.Dropout(dropout))
        features = 2 * in_c
        if hidden:
            layers += [nn.Linear(features, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout)]
            features = hidden
        layers.append(nn.Linear(features, n_labels))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)  # logits; softmax is applied by the loss / the C engine


def build_model(arch, n_labels, dropout=0.3):
    if arch not in ARCHS:
        raise ValueError(f"unknown architecture {arch!r}; choose one of {', '.join(sorted(ARCHS))}")
    channels, pools, hidden = ARCHS[arch]
    return GenreCNN(n_labels, channels, pools, hidden, dropout)


def count_flops(model, frames, n_mels):
    """Floating-point operations (multiply and add counted separately) of
    one window through the conv and dense layers, as the C engine runs them."""
    flops = 0
    h, w = frames, n_mels
    for m in model.net:
        if isinstance(m, nn.Conv2d):
            kh, kw = m.kernel_size
            ph, pw = m.padding
            h, w = h + 2 * ph - kh + 1, w + 2 * pw - kw + 1
            flops += 2 * h * w * m.in_channels * m.out_channels * kh * kw
        elif isinstance(m, nn.MaxPool2d):
            kh, kw = m.kernel_size
            h, w = h // kh, w // kw
        elif isinstance(m, nn.Linear):
            flops += 2 * m.in_features * m.out_features
    return flops


def count_params(model):
    return sum(p.numel() for p in model.parameters())
