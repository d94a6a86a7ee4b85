"""The peer of the camera-frame rows of `cargo bench -p edgehide --bench
encrypt`: OpenCV doing the same preprocessing of a 1920x1080 NV12 frame on
one thread (cvtColor, then resize with INTER_AREA), centre crop included.
Prints one line per row: `opencv <row>: <median> ms`.

    .venv/bin/python benches/peer_opencv.py
"""
import time

import cv2
import numpy as np

cv2.setNumThreads(1)
W, H = 1920, 1080
nv12 = (np.arange(W * H * 3 // 2, dtype=np.uint32) * 13 % 251).astype(np.uint8).reshape(H * 3 // 2, W)
x0 = (W - H) // 2


def rgb224():
    rgb = cv2.cvtColor(nv12, cv2.COLOR_YUV2RGB_NV12)
    return cv2.resize(rgb[:, x0:x0 + H], (224, 224), interpolation=cv2.INTER_AREA)


def gray28():
    gray = cv2.cvtColor(nv12, cv2.COLOR_YUV2GRAY_NV12)
    return cv2.resize(gray[:, x0:x0 + H], (28, 28), interpolation=cv2.INTER_AREA)


for name, fn in [("nv12_to_224x224x3", rgb224), ("nv12_to_28x28x1", gray28)]:
    for _ in range(10):
        fn()
    times = []
    for _ in range(200):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    print(f"opencv {name}: {np.median(times) * 1e3:.3f} ms (median of 200, one thread)")
