#!/usr/bin/env python3
"""Per-layer VGG11 cycles: SCALE-Sim's WS dataflow beside fapsim (docs/scalesim-comparison.md).

Usage:
  # 1. write SCALE-Sim's inputs (config, conv topology, GEMM topology, layout)
  python3 tools/scalesim_compare.py inputs /tmp/ss

  # 2. run SCALE-Sim (3.0.0, in a venv with numpy<2.3) on them, conv or GEMM mode
  /tmp/scalesim-venv/bin/python -m scalesim.scale -c /tmp/ss/scale-256.cfg \\
      -t /tmp/ss/vgg11_cifar10.csv -l /tmp/ss/layout.csv -p /tmp/ss/res-conv -i conv

  # 3. the table: reads COMPUTE_REPORT.csv under the results folder, runs
  #    `fapsim gemm --json` per layer on both 256x256 configs, checks every figure
  #    against its closed form, prints Markdown
  python3 tools/scalesim_compare.py table /tmp/ss/res-conv .build/release/fapsim \\
      [--configs hw-configs/tpu-256x256.yaml hw-configs/tpu-256x256-double-buffered.yaml]
      [--rows 256 --cols 256]

Only the standard library is used (runs with the system python). Exit status 1
if any figure disagrees with its closed form.

Closed forms checked (R x C array, per fold f with r_f rows and c_f columns used):
  SCALE-Sim WS "Total Cycles":   F x (2R + C + M - 2) - 1    (F = ceil(K/R) x ceil(N/C);
                                 the -1: it reports the 0-based index of the last cycle)
  fapsim single-buffered:        sum_f [r_f + (r_f + c_f - 2) + M] + (R - r_last) + 1
  fapsim double-buffered:        as single, with load r_0 + 1 for fold 0 and
                                 max(1, r_f - (M + r_{f-1} + c_{f-1} - 2)) after it
Folds in n-outer order (each N tile's K folds back to back), the configs' default.
"""

import argparse
import csv
import glob
import json
import math
import os
import subprocess
import sys
import time

# VGG11 (docs/conventions.md §3) for one 32x32 image: name, input size, Cin, Cout.
VGG11_CONVS = [
    ("features.0", 32, 3, 64),
    ("features.4", 16, 64, 128),
    ("features.8", 8, 128, 256),
    ("features.11", 8, 256, 256),
    ("features.15", 4, 256, 512),
    ("features.18", 4, 512, 512),
    ("features.22", 2, 512, 512),
    ("features.25", 2, 512, 512),
]
LINEAR = ("classifier", 512, 10)


def layers():
    """(name, M, K, N) of the 9 GEMMs, batch 1."""
    out = [(n, s * s, cin * 9, cout) for n, s, cin, cout in VGG11_CONVS]
    out.append((LINEAR[0], 1, LINEAR[1], LINEAR[2]))
    return out


def folds(K, N, R, C):
    """(r_f, c_f) per fold in n-outer order."""
    res = []
    for nf in range(math.ceil(N / C)):
        for kf in range(math.ceil(K / R)):
            res.append((min(R, K - kf * R), min(C, N - nf * C)))
    return res


def scalesim_closed(M, K, N, R, C):
    return math.ceil(K / R) * math.ceil(N / C) * (2 * R + C + M - 2) - 1


def fapsim_closed(M, K, N, R, C, double):
    fs = folds(K, N, R, C)
    total = 0
    load_total = 0
    for i, (r, c) in enumerate(fs):
        if not double:
            load = r
        elif i == 0:
            load = r + 1
        else:
            rp, cp = fs[i - 1]
            load = max(1, r - (M + rp + cp - 2))
        load_total += load
        total += load + (r + c - 2) + M
    total += R - fs[-1][0] + 1
    return total, load_total


CONFIG = """[general]
run_name = vgg11_ws_{R}

[architecture_presets]
ArrayHeight:    {R}
ArrayWidth:     {C}
IfmapSramSzkB:  6144
FilterSramSzkB: 6144
OfmapSramSzkB:  2048
IfmapOffset:    0
FilterOffset:   10000000
OfmapOffset:    20000000
Bandwidth : 10
Dataflow : ws
MemoryBanks: 1
ReadRequestBuffer: 32
WriteRequestBuffer: 32

[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: 10
IfmapSRAMBankNum: 10
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: 10
FilterSRAMBankNum: 10
FilterSRAMBankPort: 2

[sparsity]
SparsitySupport : false
SparseRep : ellpack_block
OptimizedMapping : false
BlockSize : 8
RandomNumberGeneratorSeed : 40

[run_presets]
InterfaceBandwidth: CALC
UseRamulatorTrace: False
"""


def write_inputs(outdir, R, C):
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, f"scale-{R}.cfg"), "w") as f:
        f.write(CONFIG.format(R=R, C=C))
    # Conv topology: IFMAP sizes include the padding (pad 1 -> +2), stride 1.
    conv = ["Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, "
            "Channels, Num Filter, Strides,"]
    for n, s, cin, cout in VGG11_CONVS:
        conv.append(f"{n}, {s + 2}, {s + 2}, 3, 3, {cin}, {cout}, 1,")
    conv.append(f"{LINEAR[0]}, 1, 1, 1, 1, {LINEAR[1]}, {LINEAR[2]}, 1,")
    text = "\n".join(conv) + "\n"
    for name in ("vgg11_cifar10.csv", "layout.csv"):  # layout: parsed, unused (no custom layout)
        with open(os.path.join(outdir, name), "w") as f:
            f.write(text)
    # GEMM topology: SCALE-Sim's column order is M, N, K.
    gemm = ["Layer, M, N, K,"] + [f"{n}, {m}, {nn}, {k}," for n, m, k, nn in layers()]
    with open(os.path.join(outdir, "vgg11_gemm.csv"), "w") as f:
        f.write("\n".join(gemm) + "\n")
    print(f"wrote {outdir}/scale-{R}.cfg, vgg11_cifar10.csv, vgg11_gemm.csv, layout.csv")


def read_scalesim(folder):
    paths = glob.glob(os.path.join(folder, "**", "COMPUTE_REPORT.csv"), recursive=True)
    if len(paths) != 1:
        sys.exit(f"expected one COMPUTE_REPORT.csv under {folder}, found {len(paths)}")
    rows = []
    with open(paths[0]) as f:
        reader = csv.reader(f)
        header = [h.strip() for h in next(reader)]
        for rec in reader:
            rec = [x.strip() for x in rec]
            if rec and rec[0]:
                rows.append(dict(zip(header, rec)))
    return rows


def run_fapsim(binary, config, m, k, n):
    t0 = time.perf_counter()
    out = subprocess.run([binary, "gemm", "--config", config, "--m", str(m), "--k", str(k),
                          "--n", str(n), "--json"], check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    d = json.loads(out.stdout)
    d["_wall"] = wall
    return d


def table(args):
    R, C = args.rows, args.cols
    ss = read_scalesim(args.results)
    ls = layers()
    if len(ss) != len(ls):
        sys.exit(f"SCALE-Sim report has {len(ss)} layers, expected {len(ls)}")
    ok = True
    lines = ["| layer | M | K | N | folds (K x N) | SCALE-Sim total | SCALE-Sim incl. prefetch "
             "| fapsim single | fapsim double | single - SCALE-Sim | double - SCALE-Sim |",
             "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|"]
    tot = [0, 0, 0, 0]
    walls = []
    for (name, m, k, n), rep in zip(ls, ss):
        s_total = int(float(rep["Total Cycles"]))
        s_pref = int(float(rep["Total Cycles (incl. prefetch)"]))
        if int(float(rep["Stall Cycles"])) != 0:
            print(f"warning: {name}: SCALE-Sim reports stall cycles", file=sys.stderr)
        if s_total != scalesim_closed(m, k, n, R, C):
            print(f"MISMATCH {name}: SCALE-Sim {s_total} != F(2R+C+M-2)-1 = "
                  f"{scalesim_closed(m, k, n, R, C)}", file=sys.stderr)
            ok = False
        fap = []
        for cfg in args.configs:
            d = run_fapsim(args.fapsim, cfg, m, k, n)
            double = d.get("weight_load") == "double-buffered"
            closed, load = fapsim_closed(m, k, n, R, C, double)
            if (d["cycles"], d["weight_load_cycles"]) != (closed, load):
                print(f"MISMATCH {name} {cfg}: fapsim {d['cycles']} (load "
                      f"{d['weight_load_cycles']}) != closed form {closed} (load {load})",
                      file=sys.stderr)
                ok = False
            fap.append(d["cycles"])
            walls.append((name, os.path.basename(cfg), d["_wall"], d.get("wall_s")))
        kf, nf = math.ceil(k / R), math.ceil(n / C)
        lines.append(f"| {name} | {m} | {k} | {n} | {kf * nf} ({kf} x {nf}) | {s_total:,} | "
                     f"{s_pref:,} | {fap[0]:,} | {fap[1]:,} | {fap[0] - s_total:+,} | "
                     f"{fap[1] - s_total:+,} |")
        for i, v in enumerate((s_total, s_pref, fap[0], fap[1])):
            tot[i] += v
    lines.append(f"| **total** | | | | | **{tot[0]:,}** | {tot[1]:,} | **{tot[2]:,}** | "
                 f"**{tot[3]:,}** | {tot[2] - tot[0]:+,} | {tot[3] - tot[0]:+,} |")
    print("\n".join(lines))
    if args.walls:
        print("\n| layer | config | process wall (s) | JSON wall_s |\n|---|---|---:|---:|")
        for name, cfg, w, ws in walls:
            print(f"| {name} | {cfg} | {w:.2f} | {ws:.2f} |")
    print("\nall figures match their closed forms" if ok else "\nMISMATCHES (see stderr)")
    return 0 if ok else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    pi = sub.add_parser("inputs", help="write SCALE-Sim config and topology files")
    pi.add_argument("outdir")
    pi.add_argument("--rows", type=int, default=256)
    pi.add_argument("--cols", type=int, default=256)
    pt = sub.add_parser("table", help="print the comparison table")
    pt.add_argument("results", help="SCALE-Sim -p folder (COMPUTE_REPORT.csv below it)")
    pt.add_argument("fapsim", help="path to the fapsim binary")
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    pt.add_argument("--configs", nargs=2,
                    default=[os.path.join(repo, "hw-configs", "tpu-256x256.yaml"),
                             os.path.join(repo, "hw-configs", "tpu-256x256-double-buffered.yaml")],
                    help="single- and double-buffered configs, in that order")
    pt.add_argument("--rows", type=int, default=256)
    pt.add_argument("--cols", type=int, default=256)
    pt.add_argument("--walls", action="store_true", help="also print fapsim wall times")
    args = p.parse_args()
    if args.cmd == "inputs":
        write_inputs(args.outdir, args.rows, args.cols)
        return 0
    return table(args)


if __name__ == "__main__":
    sys.exit(main())
