"""Feature-domain augmentation, done on the mel power the C front-end
computed: E = exp(L) - log_offset.  Working on E (not on L) makes gain, EQ,
noise and mixing physically meaningful -- they are what a different
recording chain, room or microphone does to the power spectrum -- without
re-implementing the front-end in Python.  Afterwards L' = ln(E' + log_offset).

Why each one: the training genres come mostly from one or two sources each,
with their own level, tonal balance, noise floor and bandwidth.  Randomising
exactly those makes the source cues useless, so the network has to learn the
genre.
"""

import math
from dataclasses import dataclass

import torch


class AugmentConfig:
    def __init__(self, gain_db=10.0, eq_db=6.0, eq_prob=0.8, noise_prob=0.4, snr_db=(5.0, 40.0),
                 bandlimit_prob=0.4, cutoff_hz=(4000.0, 8000.0), mix_prob=0.3,
                 time_masks=2, time_mask_frames=40, freq_masks=2, freq_mask_bands=12, mask_prob=0.8):
        self.gain_db = gain_db
        self.eq_db = eq_db
        self.eq_prob = eq_prob
        self.noise_prob = noise_prob
        self.snr_db = snr_db
        self.bandlimit_prob = bandlimit_prob
        self.cutoff_hz = cutoff_hz
        self.mix_prob = mix_prob
        self.time_masks = time_masks
        self.time_mask_frames = time_mask_frames
        self.freq_masks = freq_masks
        self.freq_mask_bands = freq_mask_bands
        self.mask_prob = mask_prob


def _db(x):
    return torch.pow(10.0, x / 10.0)


def _smooth_curves_db(batch, n_bands, max_db, gen):
    """Random smooth per-band gain curves in dB, |curve| <= max_db: a tilt
    plus three slow cosines over the band index, scaled to a random peak."""
    pos = torch.linspace(0.0, 1.0, n_bands)
    basis = torch.stack([pos - 0.5] + [torch.cos(math.pi * k * pos) for k in (1, 2, 3)])  # [4, F]
    coef = torch.randn(batch, 4, generator=gen)
    curve = coef @ basis
    peak = curve.abs().amax(dim=1, keepdim=True).clamp_min(1e-6)
    return curve / peak * (torch.rand(batch, 1, generator=gen) * max_db)


def mix_weights(batch, gen):
    """Power weight of the first crop in a mixed row: both stay audible."""
    return 0.3 + 0.4 * torch.rand(batch, generator=gen)


def augment_power(e, e2, use_mix, mix_w, centres_hz, cfg, gen):
    """e, e2: mel power [B, T, F] (>= 0); mix_w [B]: e's weight where use_mix;
    returns the augmented power."""
    batch, _, n_bands = e.shape
    # Mixing two crops: of the same genre a different, equally valid example;
    # of two genres (mixup) a blend whose target is blended the same way.
    if use_mix.any():
        w = mix_w.view(batch, 1, 1)
        mixed = w * e + (1.0 - w) * e2
        e = torch.where(use_mix.view(batch, 1, 1), mixed, e)
    # Overall level.
    gain = (torch.rand(batch, 1, 1, generator=gen) * 2.0 - 1.0) * cfg.gain_db
    e = e * _db(gain)
    # Tonal balance (EQ / tilt).
    eq_on = (torch.rand(batch, 1, generator=gen) < cfg.eq_prob).float()
    e = e * _db(_smooth_curves_db(batch, n_bands, cfg.eq_db, gen) * eq_on).unsqueeze(1)
    # Band-limiting: a low-pass at a random cutoff, like a narrow-band
    # recording or a low-bitrate codec.
    bl_on = torch.rand(batch, 1, generator=gen) < cfg.bandlimit_prob
    lo, hi = cfg.cutoff_hz
    cutoff = lo + (hi - lo) * torch.rand(batch, 1, generator=gen)
    slope = 24.0 + 72.0 * torch.rand(batch, 1, generator=gen)  # dB per kHz
    atten = (-(centres_hz.view(1, -1) - cutoff).clamp_min(0.0) / 1000.0 * slope).clamp_min(-80.0)
    e = e * _db(torch.where(bl_on, atten, torch.zeros_like(atten))).unsqueeze(1)
    # Additive noise floor: random colour and SNR relative to the crop's mean power.
    noise_on = (torch.rand(batch, 1, 1, generator=gen) < cfg.noise_prob).float()
    snr = cfg.snr_db[0] + (cfg.snr_db[1] - cfg.snr_db[0]) * torch.rand(batch, 1, 1, generator=gen)
    colour = torch.linspace(-1.0, 1.0, n_bands).view(1, 1, -1) * (torch.rand(batch, 1, 1, generator=gen) * 2.0 - 1.0)
    shape = torch.exp(colour * math.log(10.0))  # up to +-10 dB across the band range
    shape = shape / shape.mean(dim=2, keepdim=True)
    level = e.mean(dim=(1, 2), keepdim=True) * _db(-snr)
    # Fluctuation of a noise power estimate: Gamma(4) with mean 1.
    # (sum of 4 unit exponentials = -ln of a product of 4 uniforms).
    u = torch.rand(e.shape, generator=gen).clamp_min(1e-7)
    for _ in range(3):
        u = u * torch.rand(e.shape, generator=gen).clamp_min(1e-7)
    fluct = -torch.log(u) / 4.0
    e = e + noise_on * level * shape * fluct
    return e


def spec_mask(x, cfg, gen):
    """SpecAugment-style masking on normalised features (mask value 0 = the
    training mean, the same value as padding)."""
    batch, frames, bands = x.shape
    on = torch.rand(batch, generator=gen) < cfg.mask_prob
    t = torch.arange(frames).view(1, -1)
    f = torch.arange(bands).view(1, -1)
    keep_t = torch.ones(batch, frames, dtype=torch.bool)
    keep_f = torch.ones(batch, bands, dtype=torch.bool)
    for _ in range(cfg.time_masks):
        width = (torch.rand(batch, 1, generator=gen) * cfg.time_mask_frames).long()
        start = (torch.rand(batch, 1, generator=gen) * (frames - width)).long()
        keep_t &= ~((t >= start) & (t < start + width) & on.view(-1, 1))
    for _ in range(cfg.freq_masks):
        width = (torch.rand(batch, 1, generator=gen) * cfg.freq_mask_bands).long()
        start = (torch.rand(batch, 1, generator=gen) * (bands - width)).long()
        keep_f &= ~((f >= start) & (f < start + width) & on.view(-1, 1))
    return x * keep_t.unsqueeze(2) * keep_f.unsqueeze(1)


@dataclass
class InputNorm:
    """What turns raw log-mel crops into network input: the front-end's
    log offset, the per-band normalisation (torch tensors [n_mels]) and the
    bands' centre frequencies (for EQ and band-limiting; None when not
    augmenting)."""
    log_offset: float
    mean: torch.Tensor
    std: torch.Tensor
    centres_hz: torch.Tensor = None


def normalise(raw, valid, norm):
    """Clean crops -> network input [B, 1, T, F], as the C window sees them:
    normalised, padding rows 0 after normalisation."""
    x = (torch.from_numpy(raw) - norm.mean) / norm.std
    return (x * torch.from_numpy(valid).unsqueeze(2)).unsqueeze(1)


def make_batch(batch, norm, cfg, gen, mix_w=None):
    """A SampledBatch (genre_data.py) -> normalised, augmented network
    input [B, 1, T, F].  mix_w: the first crop's power weight in mixed rows
    (default: mix_weights)."""
    e = (torch.exp(torch.from_numpy(batch.crops)) - norm.log_offset).clamp_min(0.0)
    e2 = (torch.exp(torch.from_numpy(batch.crops2)) - norm.log_offset).clamp_min(0.0)
    mix = torch.from_numpy(batch.use_mix)
    if mix_w is None:
        mix_w = mix_weights(e.shape[0], gen)
    e = augment_power(e, e2, mix, mix_w, norm.centres_hz, cfg, gen)
    x = torch.log(e + norm.log_offset)
    valid_t = torch.from_numpy(batch.valid) | (torch.from_numpy(batch.valid2) & mix.view(-1, 1))
    x = (x - norm.mean) / norm.std
    x = x * valid_t.unsqueeze(2)  # padding rows are 0 after normalisation, like the C window
    x = spec_mask(x, cfg, gen)
    return x.unsqueeze(1)
