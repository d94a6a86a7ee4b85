"""Draws docs/frontier.svg from the table in docs/PRIVACY_UTILITY.md.

    python3 docs/frontier.py      # standard library only
"""
import pathlib
import re

DOCS = pathlib.Path(__file__).resolve().parent
rows = []
for line in (DOCS / "PRIVACY_UTILITY.md").read_text().splitlines():
    m = re.match(r"\| (.+?) \| ([\d.]+)% \| ([\d.]+) \| ([\d.]+) \|", line)
    if m:
        rows.append((m.group(1), float(m.group(2)), float(m.group(3)), float(m.group(4))))
baseline = float(re.search(r"baseline p90 ([\d.]+)", (DOCS / "PRIVACY_UTILITY.md").read_text()).group(1))

W, H, L, B = 640, 420, 70, 50
x0, x1, y0, y1 = 0.55, 1.0, 75.0, 95.0


def px(x):
    return L + (x - x0) / (x1 - x0) * (W - L - 20)


def py(y):
    return H - B - (y - y0) / (y1 - y0) * (H - B - 20)


svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
       '<rect width="100%" height="100%" fill="white"/>',
       f'<line x1="{L}" y1="{H-B}" x2="{W-20}" y2="{H-B}" stroke="black"/>',
       f'<line x1="{L}" y1="20" x2="{L}" y2="{H-B}" stroke="black"/>',
       f'<text x="{(L+W)/2}" y="{H-12}" text-anchor="middle">strongest attack, 90th-percentile SSIM (one encryption; lower is more private)</text>',
       f'<text x="16" y="{H/2}" transform="rotate(-90 16 {H/2})" text-anchor="middle">accuracy, one encryption (%)</text>']
for t in [0.6, 0.7, 0.8, 0.9, 1.0]:
    svg.append(f'<text x="{px(t)}" y="{H-B+16}" text-anchor="middle">{t:.1f}</text>')
for a in [75, 80, 85, 90, 95]:
    svg.append(f'<text x="{L-8}" y="{py(a)+4}" text-anchor="end">{a}</text>')
bx, rx = px(baseline), px(baseline + 0.05)
svg.append(f'<rect x="{px(x0)}" y="20" width="{rx-px(x0)}" height="{H-B-20}" fill="#e6f4e6"/>')
svg.append(f'<line x1="{bx}" y1="20" x2="{bx}" y2="{H-B}" stroke="green" stroke-dasharray="4"/>')
svg.append(f'<text x="{bx+4}" y="34" fill="green">label only ({baseline:.3f}); shaded: within +0.05</text>')
for name, acc, p90, _ in rows:
    svg.append(f'<circle cx="{px(p90)}" cy="{py(acc)}" r="5" fill="#1f5fbf"/>')
    svg.append(f'<text x="{px(p90)+8}" y="{py(acc)+4}">{name}</text>')
svg.append("</svg>")
(DOCS / "frontier.svg").write_text("\n".join(svg) + "\n")
print(f"wrote {DOCS / 'frontier.svg'} ({len(rows)} settings)")
