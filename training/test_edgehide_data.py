"""Tests of the training data path without PyTorch (run by test.sh).

    EDGEHIDE_BIN=target/debug/edgehide python3 -m unittest training/test_edgehide_data.py
"""
import json
import os
import pathlib
import subprocess
import tempfile
import unittest

import numpy as np

import edgehide_data as data

BIN = pathlib.Path(os.environ.get("EDGEHIDE_BIN", data.ROOT / "target/debug/edgehide"))


class EncryptSplit(unittest.TestCase):
    def setUp(self):
        self.tmp = pathlib.Path(tempfile.mkdtemp())
        self.spec = self.tmp / "spec.json"
        subprocess.run([str(BIN), "spec", "--name", "t", "--k", "2", "--out", str(self.spec)], check=True,
                       stdout=subprocess.DEVNULL)

    def test_fresh_encryptions_each_call(self):
        x1, y1 = data.encrypt_split(BIN, self.spec, "test", self.tmp / "a", limit=6)
        x2, y2 = data.encrypt_split(BIN, self.spec, "test", self.tmp / "b", limit=6)
        self.assertEqual(x1.shape, (6, 1, 28, 28))
        self.assertEqual(x1.dtype, np.float32)
        np.testing.assert_array_equal(y1, y2)
        # Fresh keys: the same images never encrypt to the same tensor.
        self.assertFalse(np.allclose(x1, x2))
        # The sign mask makes the mean close to zero; |e| carries the signal.
        self.assertLess(abs(x1.mean()), 0.2)

    def test_plain_matches_normalised_frames(self):
        x, y = data.encrypt_split(BIN, self.spec, "test", self.tmp / "p", limit=3, plain=True)
        spec = json.loads(self.spec.read_text())
        # Background pixels are 0, so they normalise to -mean/std exactly.
        self.assertAlmostEqual(float(x.min()), -spec["mean"][0] / spec["std"][0], places=5)
        self.assertEqual(list(y), [9, 2, 1])  # first Fashion-MNIST test labels

    def test_command_passes_every_setting(self):
        cmd = data.encrypt_command("eh", "s.json", "train", "o", dataset="mnist", pool="p.ehpool", limit=7)
        self.assertEqual(cmd[cmd.index("--dataset") + 1], "mnist")
        self.assertEqual(cmd[cmd.index("--pool") + 1], "p.ehpool")
        self.assertEqual(cmd[cmd.index("--limit") + 1], "7")
        self.assertNotIn("--plain", cmd)
        self.assertNotIn("--any-pool", cmd)
        other = data.encrypt_command("eh", "s.json", "train", "o", pool="p.ehpool", any_pool=True)
        self.assertIn("--any-pool", other)

    def test_command_passes_the_key(self):
        cmd = data.encrypt_command("eh", "s.json", "test", "o", key="k.ehkey")
        self.assertEqual(cmd[cmd.index("--key") + 1], "k.ehkey")
        self.assertNotIn("--key", data.encrypt_command("eh", "s.json", "test", "o"))
        self.assertIn("--attacker-keys", data.encrypt_command("eh", "s.json", "test", "o", attacker_keys=True))

    def test_failure_is_an_error(self):
        with self.assertRaises(subprocess.CalledProcessError):
            data.encrypt_split(BIN, self.tmp / "missing.json", "test", self.tmp / "m", limit=1)

    def test_total_steps(self):
        self.assertEqual(data.total_steps(2, 60000, 128), 2 * 469)


if __name__ == "__main__":
    unittest.main()
