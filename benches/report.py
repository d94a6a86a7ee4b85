"""Prints the table in benches/RESULTS.md from criterion's last run.

Run after `cargo bench -p edgehide --bench encrypt`: python3 benches/report.py
Per-frame figures divide batch timings by 64. Ratios compare figures from
the same run.
"""
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent / "target" / "criterion"


def mean_ns(group, bench):
    p = ROOT / group / bench / "new" / "estimates.json"
    if not p.exists():
        return None
    return json.loads(p.read_text())["mean"]["point_estimate"]


def fmt(ns):
    if ns is None:
        return "n/a"
    if ns < 1e3:
        return f"{ns:.1f} ns"
    if ns < 1e6:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns / 1e6:.2f} ms"


for geom in ["28x28x1", "224x224x3"]:
    g = f"encrypt_{geom}"
    floor = mean_ns(g, "memcpy_floor")
    print(f"\n### {geom}, k=4 (per frame)\n")
    print("| path | time per frame | x copy floor |")
    print("|---|---|---|")
    rows = [
        ("copy of the same bytes (floor)", "memcpy_floor", 1),
        ("key generation (OS seed + ChaCha20 draws)", "key_generation", 1),
        ("CPU fast path, one thread", "cpu_fast_single", 1),
        ("CPU reference (spec-like), one thread", "cpu_reference_single", 1),
        ("CPU fast path, batch of 64 over 2 cores", "cpu_fast_batch64", 64),
        ("GPU (lavapipe, software Vulkan), single", "gpu_single", 1),
        ("GPU (lavapipe, software Vulkan), batch of 64", "gpu_batch64", 64),
    ]
    for label, bench, n in rows:
        t = mean_ns(g, bench)
        t = t / n if t is not None else None
        ratio = "n/a" if t is None or not floor else (f"{t / floor:.2f}x" if t < 10 * floor else f"{t / floor:.0f}x")
        print(f"| {label} | {fmt(t)} | {ratio} |")

print("\n### Preprocessing a 1920x1080 RGBA camera frame\n")
print("| to | time |")
print("|---|---|")
for bench in ["to_224x224x3", "to_28x28x1"]:
    print(f"| {bench[3:]} | {fmt(mean_ns('preprocess_1920x1080_rgba', bench))} |")
