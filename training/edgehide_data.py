"""Training data from the Rust encryptor, with no PyTorch import.

Kept apart from train.py so that its logic (the exact `edgehide dataset
encrypt` command and the reading of its output) is tested in CI, where PyTorch
is not installed: see test_edgehide_data.py.
"""
import pathlib
import subprocess

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent


def encrypt_command(binary, spec, split, out, *, dataset="fashion-mnist", pool=None, limit=None, plain=False,
                    any_pool=False, key=None, attacker_keys=False):
    """The command line that writes one fresh encryption of every image of a split.
    With `any_pool`, `pool` may differ from the corpus the sidecar names (an
    attacker simulating with a corpus of its own); `key` is a DisguisedNets
    model's deployment key file; `attacker_keys` disguises every frame with a
    fresh key of its own (an attacker without the deployment's key)."""
    cmd = [str(binary), "dataset", "encrypt", "--dataset", dataset, "--split", split,
           "--spec", str(spec), "--backend", "cpu", "--out", str(out)]
    if pool:
        cmd += ["--pool", str(pool)]
        if any_pool:
            cmd += ["--any-pool"]
    if key:
        cmd += ["--key", str(key)]
    if attacker_keys:
        cmd += ["--attacker-keys"]
    if limit:
        cmd += ["--limit", str(limit)]
    if plain:
        cmd += ["--plain"]
    return cmd


def encrypt_split(binary, spec, split, out, **kw):
    """Runs the encryptor and returns (x float32 N x C x H x W, y int64 N)."""
    out = pathlib.Path(out)
    subprocess.run(encrypt_command(binary, spec, split, out, **kw), check=True, stdout=subprocess.DEVNULL)
    x = np.load(out / "x.npy")
    y = np.load(out / "y.npy").astype(np.int64)
    if x.ndim != 4 or x.dtype != np.float32 or len(x) != len(y):
        raise ValueError(f"unexpected encryptor output: x {x.shape} {x.dtype}, y {y.shape}")
    return x, y


def total_steps(epochs, images, batch):
    """Optimizer steps over a run (the one-cycle schedule needs it up front)."""
    return epochs * -(-images // batch)
