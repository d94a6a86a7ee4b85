"""Draws docs/frontier.svg from the table in docs/PRIVACY_UTILITY.md: both
schemes (InstaHide: circles; DisguisedNets: squares) and both threat models
(filled: the host knows the corpus or holds the key; hollow, joined to the
filled one: the corpus or the key kept from the host).

    python3 docs/frontier.py      # standard library only
"""
import html
import pathlib
import re

DOCS = pathlib.Path(__file__).resolve().parent
text = (DOCS / "PRIVACY_UTILITY.md").read_text()
rows = []
for line in text.splitlines():
    m = re.match(r"\| (InstaHide|DisguisedNets) \| (.+?) \| ([\d.]+)% \| ([\d.]+) \| ([\d.]+) \| ([\d.]+|-) \|", line)
    if m:
        secret = None if m.group(6) == "-" else float(m.group(6))
        rows.append((m.group(1), m.group(2), float(m.group(3)), float(m.group(4)), secret))
baseline = float(re.search(r"baseline p90 ([\d.]+)", text).group(1))
plain = float(re.search(r"Plaintext, same network: ([\d.]+)%", text).group(1))

W, H, L, B = 720, 520, 70, 50
# The accuracy axis reaches down to the least accurate setting measured.
x0, x1, y1 = 0.55, 1.0, 95.0
y0 = 5.0 * int(min(acc for _, _, acc, _, _ in rows) // 5)


def px(x):
    return L + (x - x0) / (x1 - x0) * (W - L - 20)


def py(y):
    return H - B - (y - y0) / (y1 - y0) * (H - B - 20)


def mark(scheme, x, y, filled):
    color = "#1f5fbf" if scheme == "InstaHide" else "#b8570b"
    fill = color if filled else "white"
    if scheme == "InstaHide":
        return f'<circle cx="{x}" cy="{y}" r="5" fill="{fill}" stroke="{color}" stroke-width="2"/>'
    return f'<rect x="{x-5}" y="{y-5}" width="10" height="10" fill="{fill}" stroke="{color}" stroke-width="2"/>'


svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
       '<rect width="100%" height="100%" fill="white"/>',
       f'<line x1="{L}" y1="{H-B}" x2="{W-20}" y2="{H-B}" stroke="black"/>',
       f'<line x1="{L}" y1="20" x2="{L}" y2="{H-B}" stroke="black"/>',
       f'<text x="{(L+W)/2}" y="{H-12}" text-anchor="middle">strongest attack, 90th-percentile SSIM (one encryption; lower is more private)</text>',
       f'<text x="16" y="{H/2}" transform="rotate(-90 16 {H/2})" text-anchor="middle">accuracy, one encryption (%)</text>']
for t in [0.6, 0.7, 0.8, 0.9, 1.0]:
    svg.append(f'<text x="{px(t)}" y="{H-B+16}" text-anchor="middle">{t:.1f}</text>')
for a in range(int(y0), int(y1) + 1, 5):
    svg.append(f'<text x="{L-8}" y="{py(a)+4}" text-anchor="end">{a}</text>')
bx, rx = px(baseline), px(baseline + 0.05)
svg.append(f'<rect x="{px(x0)}" y="20" width="{rx-px(x0)}" height="{H-B-20}" fill="#e6f4e6"/>')
svg.append(f'<line x1="{bx}" y1="20" x2="{bx}" y2="{H-B}" stroke="green" stroke-dasharray="4"/>')
svg.append(f'<text x="{bx+4}" y="34" fill="green">label only ({baseline:.3f}); shaded: within +0.05</text>')
floor = py(plain - 10)
svg.append(f'<line x1="{L}" y1="{floor}" x2="{W-20}" y2="{floor}" stroke="grey" stroke-dasharray="2"/>')
svg.append(f'<text x="{W-24}" y="{floor-4}" fill="grey" text-anchor="end">10 points below plaintext ({plain:.2f}%)</text>')
# What a label must not cover (x0, y0, x1, y1): every mark, the floor and
# its label, the dashed lines joining a setting's two threat models, the
# legend, and the labels already drawn.
placed = [(px(v) - 7, py(acc) - 7, px(v) + 7, py(acc) + 7)
          for _, _, acc, p90, secret in rows for v in (p90, secret) if v is not None]
placed.append((W - 24 - 6.6 * 36, floor - 16, W - 24, floor))
placed.append((L, floor - 1, W - 20, floor + 1))
placed += [(px(min(p90, secret)), py(acc) - 1, px(max(p90, secret)), py(acc) + 1)
           for _, _, acc, p90, secret in rows if secret is not None]
placed.append((L + 6, H - B - 80, L + 290, H - B - 2))


def overlap(box):
    """How much of `box` lies outside the plot or on what is already drawn."""
    x0_, y0_, x1_, y1_ = box
    out = max(0, L + 2 - x0_) + max(0, x1_ - (W - 4)) + max(0, 18 - y0_) + max(0, y1_ - (H - B - 2))
    hit = sum(max(0, min(x1_, c) - max(x0_, a)) * max(0, min(y1_, d) - max(y0_, b)) for a, b, c, d in placed)
    return out * 100 + hit


for scheme, name, acc, p90, secret in rows:
    if secret is not None:
        svg.append(f'<line x1="{px(secret)}" y1="{py(acc)}" x2="{px(p90)}" y2="{py(acc)}" stroke="#999" stroke-dasharray="3"/>')
        svg.append(mark(scheme, px(secret), py(acc), False))
    svg.append(mark(scheme, px(p90), py(acc), True))
    text = scheme + ", " + name
    width = 7.0 * len(text)
    # Beside the mark, right or left, on its line or up to three lines above
    # or below: the first place that covers least of what is drawn (a label
    # is 12 px tall, about 7 px per character at this size); a label two or
    # more lines away gets a leader line, so that it still names its mark.
    x, y = px(p90), py(acc)
    candidates = []
    for dy in (4, 16, -8, 28, -20, 40, -32):
        for dx in (8, -9):
            x0_ = x + dx if dx > 0 else x + dx - width
            candidates.append(((x0_, y + dy - 10, x0_ + width, y + dy + 2), dy))
    # Ties go to the nearest place.
    box, dy = min(candidates, key=lambda c: overlap(c[0]) + abs(c[1] - 4) / 100)
    placed.append(box)
    if abs(dy - 4) > 12:
        end = box[0] if box[0] > x else box[2]
        svg.append(f'<line x1="{x}" y1="{y}" x2="{end}" y2="{y + dy - 4}" stroke="#bbb"/>')
    svg.append(f'<text x="{box[0]}" y="{y + dy}">{html.escape(text)}</text>')
lx, ly = L + 14, H - B - 70
for i, (scheme, filled, label) in enumerate([
        ("InstaHide", True, "InstaHide, the host knows the corpus"),
        ("InstaHide", False, "InstaHide, the corpus kept from the host"),
        ("DisguisedNets", True, "DisguisedNets, the key or 5 known pairs"),
        ("DisguisedNets", False, "DisguisedNets, neither")]):
    svg.append(mark(scheme, lx, ly + 16 * i, filled))
    svg.append(f'<text x="{lx+12}" y="{ly+16*i+4}">{html.escape(label)}</text>')
svg.append("</svg>")
(DOCS / "frontier.svg").write_text("\n".join(svg) + "\n")
print(f"wrote {DOCS / 'frontier.svg'} ({len(rows)} settings)")
