"""The reference code's mix and mask, in NumPy, as the peer for benches/RESULTS.md.

The InstaHide reference (PyTorch) mixes a private image with k-1 images that
are already cut to size and draws the sign mask from a non-cryptographic
generator; this mirrors that per frame (no crop resampling, no CSPRNG), so it
is a lower bound on what a Python implementation of edgehide's scheme costs.

Run: python3 benches/peer_numpy.py   (needs numpy)
"""
import time

import numpy as np


def mix_and_mask(rng, x, pool, k=4, upper=0.65):
    while True:
        lam = np.abs(rng.normal(size=k))
        lam /= lam.sum()
        if lam.max() <= upper:
            break
    idx = rng.integers(0, len(pool), size=k - 1)
    m = lam[0] * x
    for l, i in zip(lam[1:], idx):
        m += l * pool[i]
    sign = rng.integers(0, 2, size=x.shape, dtype=np.int8) * 2 - 1
    return m * sign


def bench(shape, frames):
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape).astype(np.float32)
    pool = rng.normal(size=(64,) + shape).astype(np.float32)
    for _ in range(10):
        mix_and_mask(rng, x, pool)
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(frames):
            mix_and_mask(rng, x, pool)
        best = min(best, (time.perf_counter() - t) / frames)
    return best


if __name__ == "__main__":
    print(f"numpy {np.__version__}")
    for shape, frames in [((1, 28, 28), 2000), ((3, 224, 224), 200)]:
        t = bench(shape, frames)
        print(f"numpy reference-style mix k=4 {'x'.join(map(str, shape))}: {t * 1e6:.1f} us/frame")
