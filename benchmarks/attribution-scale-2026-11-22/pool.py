"""Pool the per-block figures of several attribution_scale runs and print, per variant,
the median time per settled inference at each size and the size ratios — in block time
and in signature verifications (block time x the block's own ceiling).

    python3 benchmarks/attribution-scale-2026-11-22/pool.py benchmarks/attribution-scale-2026-11-22/run-G*.txt
"""
import re
import statistics
import sys

REPORT = re.compile(r"^\[ *(\d+)\] (random|hot) +pair (\d+):.*?\) +([\d.]+) µs/settled.*?ceiling +(\d+) sig/s")
DEFAULT = re.compile(r"^\[ *(\d+)\] default round (\d+):.*?\) +([\d.]+) µs/settled.*?ceiling +(\d+) sig/s")

blocks = {}
for path in sys.argv[1:]:
    for line in open(path, encoding="utf-8"):
        if "warm-up" in line:
            continue
        m = REPORT.match(line)
        if m:
            size, variant, us, ceiling = int(m[1]), m[2], float(m[4]), float(m[5])
        else:
            m = DEFAULT.match(line)
            if not m:
                continue
            size, variant, us, ceiling = int(m[1]), "default", float(m[3]), float(m[4])
        blocks.setdefault((variant, size), []).append((us, us * ceiling / 1e6))

sizes = sorted({s for _, s in blocks})
for variant in ("random", "hot", "default"):
    med = {s: [statistics.median(x) for x in zip(*blocks[(variant, s)])] for s in sizes if (variant, s) in blocks}
    if not med:
        continue
    counts = ", ".join(f"{s}: {len(blocks[(variant, s)])}" for s in med)
    print(f"{variant} (blocks per size {counts})")
    for s, (us, sigs) in med.items():
        print(f"  {s:>8}  {us:8.1f} µs/settled  {sigs:6.2f} verifications/settled")
    base = med[sizes[0]]
    for s in sizes[1:]:
        if s in med:
            print(f"  {s}/{sizes[0]}: {med[s][0] / base[0]:.2f} in block time, {med[s][1] / base[1]:.2f} in verifications")
