"""Trains a classifier on encryptions made by the Rust encryptor (InstaHide, or
DisguisedNets with the deployment key given by --key).

Every epoch gets fresh encryptions from `edgehide dataset encrypt` (the single
source of truth for the scheme: no Python mirror of it exists), so the model
never sees the same mix twice. The first op is `Abs`: the sign mask is pure
noise, all the information is in |e|. Exports ONNX plus the sidecar.

    training/setup.sh                                  # once: PyTorch venv
    cargo build --release
    target/release/edgehide spec --name fm-k4 --out models/fm-k4.json
    training/.venv/bin/python training/train.py --spec models/fm-k4.json --epochs 12
"""
import argparse
import json
import pathlib
import shutil
import tempfile
import time

import torch
from torch import nn

import edgehide_data as data

ROOT = data.ROOT


class Net(nn.Module):
    """Abs, then a small VGG-style CNN (about 0.4 M parameters)."""

    def __init__(self, channels: int, classes: int):
        super().__init__()

        def block(cin, cout):
            return nn.Sequential(
                nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            )

        self.features = nn.Sequential(block(channels, 32), block(32, 64))
        self.head = nn.Sequential(
            nn.Flatten(), nn.Dropout(0.3), nn.Linear(64 * 7 * 7, 96), nn.ReLU(inplace=True), nn.Dropout(0.3),
            nn.Linear(96, classes),
        )

    def forward(self, e):
        return self.head(self.features(torch.abs(e)))


class Undisguise(nn.Module):
    """For DisguisedNets: one learned dense map per channel over the whole
    frame (the disguise is a fixed orthogonal map of it, which this layer can
    learn to undo, block moves included), then the same CNN. No `Abs`: a
    disguise keeps its signs."""

    def __init__(self, channels: int, height: int, width: int, classes: int):
        super().__init__()
        self.shape = (channels, height, width)
        self.unmix = nn.Linear(height * width, height * width)
        self.cnn = Net(channels, classes)

    def forward(self, e):
        c, h, w = self.shape
        x = self.unmix(e.reshape(e.shape[0], c, h * w)).reshape(e.shape[0], c, h, w)
        return self.cnn.head(self.cnn.features(x))


def encrypt_split(args, split, out, limit=None):
    x, y = data.encrypt_split(args.edgehide, args.spec, split, out, dataset=args.dataset, pool=args.pool,
                              limit=limit, plain=args.plain, key=args.key)
    return torch.from_numpy(x), torch.from_numpy(y)


def accuracy(model, x, y, batch=1000):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    return correct / len(x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", type=pathlib.Path, required=True, help="sidecar from `edgehide spec`")
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, default=None, help="train on the first N images only (smoke tests)")
    ap.add_argument("--edgehide", type=pathlib.Path, default=ROOT / "target/release/edgehide")
    ap.add_argument("--out", type=pathlib.Path, default=None, help="ONNX path (default: next to the spec)")
    ap.add_argument("--dataset", default="fashion-mnist", choices=["fashion-mnist", "mnist"])
    ap.add_argument("--pool", type=pathlib.Path, default=None, help="public corpus (default: the bundled photos)")
    ap.add_argument("--plain", action="store_true", help="plaintext baseline: the same network on unencrypted frames")
    ap.add_argument("--key", type=pathlib.Path, default=None, help="a DisguisedNets model's deployment key file")
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    spec = json.loads(args.spec.read_text())
    c, h, w = (spec["input"][k] for k in ("channels", "height", "width"))
    classes = len(spec["labels"])
    out = args.out or args.spec.with_suffix(".onnx")
    disguised = spec.get("scheme") == "disguisednets"
    model = Undisguise(c, h, w, classes) if disguised else Net(c, classes)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=5e-4)
    steps = data.total_steps(args.epochs, args.limit or 60000, args.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
    work = pathlib.Path(tempfile.mkdtemp(prefix="edgehide-train-"))
    log = []
    try:
        x_test, y_test = encrypt_split(args, "test", work / "test")
        for epoch in range(args.epochs):
            t0 = time.time()
            x, y = encrypt_split(args, "train", work / "train", args.limit)
            model.train()
            perm = torch.randperm(len(x))
            total = 0.0
            for i in range(0, len(x), args.batch):
                idx = perm[i:i + args.batch]
                opt.zero_grad()
                loss = loss_fn(model(x[idx]), y[idx])
                loss.backward()
                opt.step()
                sched.step()
                total += loss.item() * len(idx)
            acc = accuracy(model, x_test, y_test)
            log.append({"epoch": epoch + 1, "loss": total / len(x), "test_accuracy": acc, "seconds": time.time() - t0})
            print(json.dumps(log[-1]), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    model.eval()
    torch.onnx.export(
        model, torch.zeros(1, c, h, w), str(out), input_names=["input"], output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, opset_version=17, dynamo=False,
    )
    out.with_suffix(".train.json").write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "log": log}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
