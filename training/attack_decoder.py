"""The learned decoder attack: a small convolutional network trained by the
attacker to map |e| (and the class, which the server learns anyway) back to
the frame.

The attacker simulates: they encrypt the public training split with the
published scheme and a corpus of the same kind (here: the device's own, the
worst case), fresh keys every epoch, and learn to invert. Encryptions come
from the Rust encryptor; the decoded test frames are scored by the Rust SSIM
(`edgehide attack score`), so the figures compare with docs/SECURITY.md.

    cargo build --release && cargo build --release -p edgehide-lab   # `attack` runs edgehide-lab
    training/.venv/bin/python training/attack_decoder.py --spec models/fashion-mnist-k4.json \
        --epochs 8 --out /tmp/decoded.npy
    target/release/edgehide attack score /tmp/decoded.npy

Training runs until the held-out SSIM (the last 2,000 training images,
encrypted by the attacker's own simulation, never trained on) has not improved for
`--patience` epochs, or `--epochs` at most; `--curve PATH` writes the curve
(epoch, samples seen, seconds, held-out SSIM mean and p90) as JSON.

`--pool` names the attacker's corpus and `--device-pool` the device's
when they differ (the corpus kept from the host); `--pool` given several
times trains one decoder on several kinds of corpus at once, each frame
simulated with one of them in turn.

DisguisedNets: `--key` is the device's deployment key. With
`--attacker-keys` the attacker trains on disguises made with keys of its own
(a fresh key per frame: the key is unknown); without it, it trains with the
device's key (the key is known: every device of a deployment holds it).

With `--onnx PATH` the trained decoder is also exported (inputs
`encryption` N x 1 x 28 x 28 float32 and `label` N int64, output `frame`
N x 1 x 28 x 28 in [0, 1]), as `edgehide demo` runs it on the server's side
to show what a server could rebuild.
"""
import argparse
import json
import pathlib
import tempfile
import time

import numpy as np
import torch
from torch import nn

import edgehide_data as data


def ssim(a, b):
    """Per-image SSIM as edgehide's Rust scorer computes it (scikit-image's
    default: 7x7 uniform windows, sample covariance), for the held-out curve."""
    a, b = a.double().unsqueeze(1), b.double().unsqueeze(1)
    mean = lambda t: nn.functional.avg_pool2d(t, 7, stride=1)
    cov = 49 / 48
    ua, ub = mean(a), mean(b)
    va, vb, vab = (cov * (mean(a * a) - ua * ua), cov * (mean(b * b) - ub * ub), cov * (mean(a * b) - ua * ub))
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    s = ((2 * ua * ub + c1) * (2 * vab + c2)) / ((ua * ua + ub * ub + c1) * (va + vb + c2))
    return s.mean(dim=(1, 2, 3))


class Decoder(nn.Module):
    """|e| (InstaHide: the signs are noise) or e with a learned dense
    unmixing first (DisguisedNets: a fixed orthogonal map keeps the signs),
    plus a class embedding -> frame in [0, 1] (a small U-Net)."""

    def __init__(self, classes, disguised=False):
        super().__init__()
        self.disguised = disguised
        self.unmix = nn.Linear(28 * 28, 28 * 28) if disguised else None
        self.embed = nn.Embedding(classes, 28 * 28)

        def conv(cin, cout):
            return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

        self.down1 = nn.Sequential(conv(2, 32), conv(32, 32))
        self.down2 = nn.Sequential(nn.MaxPool2d(2), conv(32, 64), conv(64, 64))
        self.mid = nn.Sequential(nn.MaxPool2d(2), conv(64, 128), conv(128, 128))
        self.up2 = nn.ConvTranspose2d(128, 64, 2, stride=2)
        self.dec2 = nn.Sequential(conv(128, 64), conv(64, 64))
        self.up1 = nn.ConvTranspose2d(64, 32, 2, stride=2)
        self.dec1 = nn.Sequential(conv(64, 32), conv(32, 32))
        self.out = nn.Conv2d(32, 1, 1)

    def forward(self, e, y):
        x = self.unmix(e.reshape(-1, 28 * 28)).view(-1, 1, 28, 28) if self.disguised else torch.abs(e)
        h = torch.cat([x, self.embed(y).view(-1, 1, 28, 28)], 1)
        d1 = self.down1(h)
        d2 = self.down2(d1)
        m = self.mid(d2)
        u2 = self.dec2(torch.cat([self.up2(m), d2], 1))
        u1 = self.dec1(torch.cat([self.up1(u2), d1], 1))
        return torch.sigmoid(self.out(u1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", type=pathlib.Path, required=True)
    ap.add_argument("--dataset", default="fashion-mnist")
    ap.add_argument("--pool", type=pathlib.Path, action="append", default=None,
                    help="the corpus the attacker simulates with; repeated: several kinds at once, in equal shares")
    ap.add_argument("--device-pool", type=pathlib.Path, default=None, help="the corpus of the attacked device")
    ap.add_argument("--epochs", type=int, default=8, help="at most this many epochs")
    ap.add_argument("--patience", type=int, default=2, help="stop after this many epochs without a better held-out SSIM")
    ap.add_argument("--curve", type=pathlib.Path, default=None, help="write the held-out curve here (JSON)")
    ap.add_argument("--key", type=pathlib.Path, default=None, help="DisguisedNets: the device's deployment key")
    ap.add_argument("--attacker-keys", action="store_true",
                    help="DisguisedNets: train on disguises made with keys of the attacker's own")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--test", type=int, default=2000, help="test frames decoded")
    ap.add_argument("--edgehide", type=pathlib.Path, default=data.ROOT / "target/release/edgehide")
    ap.add_argument("--out", type=pathlib.Path, required=True, help="decoded test frames, .npy N x 28 x 28 in [0, 1]")
    ap.add_argument("--onnx", type=pathlib.Path, default=None, help="also export the trained decoder here")
    args = ap.parse_args()
    torch.manual_seed(0)
    spec = json.loads(args.spec.read_text())
    mean, std = spec["mean"][0], spec["std"][0]
    work = pathlib.Path(tempfile.mkdtemp(prefix="edgehide-attack-"))
    disguised = spec.get("scheme") == "disguisednets"
    # The attacker's own corpus may differ from the device's (the
    # secret-corpus threat model); a DisguisedNets attacker may hold the key.
    pools = args.pool or [None]
    if len(pools) > 1 and args.device_pool is None:
        ap.error("several --pool need --device-pool: which corpus does the device use?")
    kws = [dict(dataset=args.dataset, pool=p, any_pool=True) for p in pools]
    if disguised:
        kws = [dict(dataset=args.dataset, attacker_keys=True) if args.attacker_keys else dict(dataset=args.dataset, key=args.key)]
    # A device corpus other than the sidecar's stands for a deployment that
    # built its own (the secret-corpus threat model).
    dkw = dict(dataset=args.dataset, pool=args.device_pool or pools[0], any_pool=bool(args.device_pool))
    if disguised:
        dkw = dict(dataset=args.dataset, key=args.key)
    held = 2000
    if args.limit is None or args.limit > 60000 - held:
        args.limit = 60000 - held
    plain, labels = data.encrypt_split(args.edgehide, args.spec, "train", work / "p", plain=True,
                                       dataset=args.dataset)
    target = torch.from_numpy(np.clip(plain * std + mean, 0, 1))
    labels = torch.from_numpy(labels)
    held_target, held_labels = target[-held:, 0], labels[-held:]
    target, labels = target[:args.limit], labels[:args.limit]
    # Held out as the attacker can: its own simulation (its corpus, its
    # keys), never the device's encryptions.
    ve = torch.from_numpy(simulate(args, work / "v", kws, None, 0)[-held:])
    model = Decoder(len(spec["labels"]), disguised)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
    curve, best, best_state, since, seen, spent = [], -1.0, None, 0, 0, 0.0
    for epoch in range(args.epochs):
        t0 = time.time()
        e = torch.from_numpy(simulate(args, work / "e", kws, args.limit, epoch))
        model.train()
        perm = torch.randperm(len(e))
        total = 0.0
        for i in range(0, len(e), 128):
            idx = perm[i:i + 128]
            opt.zero_grad()
            loss = nn.functional.l1_loss(model(e[idx], labels[idx]), target[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        seen += len(e)
        spent += time.time() - t0
        model.eval()
        with torch.no_grad():
            scores = torch.cat([ssim(model(ve[i:i + 500], held_labels[i:i + 500])[:, 0], held_target[i:i + 500])
                                for i in range(0, held, 500)])
        point = {"epoch": epoch + 1, "samples": seen, "seconds": round(spent, 1), "l1": total / len(e),
                 "held_out_ssim_mean": round(scores.mean().item(), 4),
                 "held_out_ssim_p90": round(scores.quantile(0.9).item(), 4)}
        curve.append(point)
        print(json.dumps(point), flush=True)
        if point["held_out_ssim_mean"] > best + 1e-3:
            best, since = point["held_out_ssim_mean"], 0
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            since += 1
            if since >= args.patience:
                print(f"held-out SSIM stopped improving after epoch {epoch + 1 - since}", flush=True)
                break
    model.load_state_dict(best_state)
    if args.curve:
        pool = str(pools[0]) if len(pools) == 1 else [str(p) for p in pools]
        args.curve.write_text(json.dumps({"spec": str(args.spec), "pool": pool,
                                          "device_pool": str(args.device_pool), "key": str(args.key),
                                          "attacker_keys": args.attacker_keys, "limit": args.limit,
                                          "curve": curve}, indent=1))
    e, y = data.encrypt_split(args.edgehide, args.spec, "test", work / "t", limit=args.test, **dkw)
    model.eval()
    with torch.no_grad():
        out = torch.cat([model(torch.from_numpy(e[i:i + 500]), torch.from_numpy(y[i:i + 500]))
                         for i in range(0, len(e), 500)])
    np.save(args.out, out[:, 0].numpy().astype(np.float32))
    print(f"wrote {args.out}")
    if args.onnx:
        export(model, args.onnx)
        print(f"wrote {args.onnx}")


def simulate(args, out, kws, limit, epoch):
    """The attacker's encryptions of the training split. With several
    corpora each frame takes one of them, in turn, shifted every epoch, so
    every frame is seen with every kind and training costs what one corpus
    costs (the encryptor, seconds against minutes of training, runs once
    per corpus)."""
    parts = [data.encrypt_split(args.edgehide, args.spec, "train", out / str(i), limit=limit, **kw)[0]
             for i, kw in enumerate(kws)]
    mixed = parts[0]
    pick = (np.arange(len(mixed)) + epoch) % len(parts)
    for i in range(1, len(parts)):
        mixed[pick == i] = parts[i][pick == i]
    return mixed


def export(model, path):
    """The decoder as ONNX, batch size free."""
    model.eval()
    example = (torch.zeros(1, 1, 28, 28), torch.zeros(1, dtype=torch.long))
    torch.onnx.export(
        model,
        example,
        str(path),
        input_names=["encryption", "label"],
        output_names=["frame"],
        dynamic_axes={"encryption": {0: "n"}, "label": {0: "n"}, "frame": {0: "n"}},
        opset_version=17,
        dynamo=False,
    )


if __name__ == "__main__":
    main()
