"""OpenCV's colour conversions, for the YUV tests (tests/yuv.rs): an
implementation independent of edgehide's.

    opencv_yuv.py rgb2i420 W H IN OUT          RGB bytes -> I420 (cvtColor)
    opencv_yuv.py yuv2rgba i420|nv12|nv21 W H IN OUT
                                                YUV bytes as OpenCV lays them
                                                out -> RGBA (cvtColor, BT.601
                                                video range)
    opencv_yuv.py reference bt601|bt709 video|full W H IN OUT
                                                I420 -> RGB: full range BT.601
                                                through OpenCV's YCrCb (JPEG)
                                                conversion, the rest by the
                                                matrices in floating point;
                                                chroma nearest-neighbour
"""
import sys

import cv2
import numpy as np

cv2.setNumThreads(1)


def read(path, shape):
    return np.fromfile(path, dtype=np.uint8).reshape(shape)


def planes(i420, w, h):
    y = i420[:h]
    rest = i420[h:].reshape(-1)
    u = rest[: (h // 2) * (w // 2)].reshape(h // 2, w // 2)
    v = rest[(h // 2) * (w // 2):].reshape(h // 2, w // 2)
    up = lambda c: np.repeat(np.repeat(c, 2, axis=0), 2, axis=1)
    return y, up(u), up(v)


def reference(matrix, rng, i420, w, h):
    y, u, v = planes(i420, w, h)
    if (matrix, rng) == ("bt601", "full"):
        return cv2.cvtColor(np.dstack([y, v, u]), cv2.COLOR_YCrCb2RGB)
    kr, kb = {"bt601": (0.299, 0.114), "bt709": (0.2126, 0.0722)}[matrix]
    kg = 1 - kr - kb
    y, u, v = (a.astype(np.float64) for a in (y, u, v))
    if rng == "video":
        y, cs = np.maximum(y - 16, 0) * 255 / 219, 255 / 224
    else:
        cs = 1.0
    u, v = (u - 128) * cs, (v - 128) * cs
    r = y + 2 * (1 - kr) * v
    g = y - 2 * kb * (1 - kb) / kg * u - 2 * kr * (1 - kr) / kg * v
    b = y + 2 * (1 - kb) * u
    return np.clip(np.rint(np.dstack([r, g, b])), 0, 255).astype(np.uint8)


def main(argv):
    if argv[0] == "rgb2i420":
        w, h = int(argv[1]), int(argv[2])
        out = cv2.cvtColor(read(argv[3], (h, w, 3)), cv2.COLOR_RGB2YUV_I420)
        out.tofile(argv[4])
    elif argv[0] == "yuv2rgba":
        code = {"i420": cv2.COLOR_YUV2RGBA_I420, "nv12": cv2.COLOR_YUV2RGBA_NV12,
                "nv21": cv2.COLOR_YUV2RGBA_NV21}[argv[1]]
        w, h = int(argv[2]), int(argv[3])
        cv2.cvtColor(read(argv[4], (h * 3 // 2, w)), code).tofile(argv[5])
    elif argv[0] == "reference":
        w, h = int(argv[3]), int(argv[4])
        reference(argv[1], argv[2], read(argv[5], (h * 3 // 2, w)), w, h).tofile(argv[6])
    else:
        sys.exit(f"unknown command {argv[0]}")


if __name__ == "__main__":
    main(sys.argv[1:])
