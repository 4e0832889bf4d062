"""Small helpers the Python tests share: waiting for a condition, dropping
root, writing a WAV file."""
import os
import time
import wave

import numpy as np


def wait_for(predicate, timeout=10.0, step=0.05):
    """Poll predicate until it returns something true; return it, or None
    when timeout seconds pass first."""
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            return None
        time.sleep(step)


def as_nobody():
    """preexec_fn: drop from root to nobody/nogroup (root may write and
    connect anywhere, so permission tests run as nobody)."""
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)


def write_wav(path, samples, rate):
    """samples: floats in -1..1, [frames] or [frames, channels]; written as
    16-bit PCM WAV (rounded, clipped).  Returns the samples as a reader gets
    them back (int16 / 32768, float64, [frames, channels])."""
    data = np.asarray(samples, dtype=np.float64)
    if data.ndim == 1:
        data = data[:, None]
    pcm = np.clip(np.round(data * 32767.0), -32768, 32767).astype("<i2")
    with wave.open(path, "wb") as w:
        w.setnchannels(data.shape[1])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return pcm.astype(np.float64) / 32768.0
