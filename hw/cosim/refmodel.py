#!/usr/bin/env python3
"""Independent Python model of fapsim's register-level int8 array (docs/rtl-cosim.md).

Subcommands
  replay DIR [--out FILE] [--vcd FILE]
      replay DIR/stimulus.txt (+ faults.txt, stuckat.txt, meta.txt, and lines.txt
      under row/column bypass: the switched-off rows and columns) through the
      register model; write per-edge bottom outputs (same format as the RTL
      testbench) and optionally a VCD with the same signals as fapsim's.
  check DIR
      replay and compare with DIR/expected.txt (fapsim's), first mismatch reported;
      if DIR/a.txt, w.txt and output.txt exist (and no stuck-at), also check that
      fapsim's GEMM output equals A x (W * mask) with int32 wrap.
  gen DIR --rows R --cols C [--double] --m M --k K --n N --fault-rate P [--stuck-at r,c,b,v] --seed S
      a stand-alone Python controller (NOT fapsim's schedule) that writes a vector
      set in the same format, with expected outputs from this model; used to test
      the RTL flow independently of fapsim.
      With --spare-group G: column-groups spares (G columns per spare column):
      faults_raw.txt is the drawn map, spares.txt the repair, faults.txt the
      effective map the expected outputs come from (no stuck-at then).
  random DIR --rows R --cols C [--double] --edges E --seed S
      random per-edge control/data (shift, swap, valid bits at random): a stress
      test of the register semantics with no controller at all.
"""
import argparse
import os
import random
import sys


def wrap32(x):
    x &= 0xFFFFFFFF
    return x - (1 << 32) if x & 0x80000000 else x


def s8(x):
    x &= 0xFF
    return x - 256 if x & 0x80 else x


class Array:
    """R x C PEs; all registers update at once from pre-edge values."""

    def __init__(self, rows, cols, double, fault, stuck=None):
        self.R, self.C, self.double = rows, cols, double
        z = lambda v: [[v] * cols for _ in range(rows)]
        self.w, self.wv, self.ws, self.wsv = z(0), z(False), z(0), z(False)
        self.a, self.av, self.p, self.pv = z(0), z(False), z(0), z(False)
        self.bypass = [[bool(fault[i * cols + j]) for j in range(cols)] for i in range(rows)]
        self.stuck = stuck  # (row, col, bit, value) or None

    def edge(self, shift, swap, w_in, wv_in, feed, fv):
        R, C = self.R, self.C
        w, wv, ws, wsv, a, av, p, pv = self.w, self.wv, self.ws, self.wsv, self.a, self.av, self.p, self.pv
        nw = [r[:] for r in w]; nwv = [r[:] for r in wv]
        nws = [r[:] for r in ws]; nwsv = [r[:] for r in wsv]
        na = [r[:] for r in a]; nav = [r[:] for r in av]
        np_ = [r[:] for r in p]; npv = [r[:] for r in pv]
        for i in range(R):
            for j in range(C):
                a_in = feed[i] if j == 0 else a[i][j - 1]
                av_in = fv[i] if j == 0 else av[i][j - 1]
                p_in = 0 if i == 0 else p[i - 1][j]
                pv_in = False if i == 0 else pv[i - 1][j]
                mac = av_in and wv[i][j] and not self.bypass[i][j]
                if mac:
                    x = wrap32(p_in + w[i][j] * a_in)
                    if self.stuck and self.stuck[0] == i and self.stuck[1] == j:
                        b, v = self.stuck[2], self.stuck[3]
                        u = x & 0xFFFFFFFF
                        u = (u | (1 << b)) if v else (u & ~(1 << b))
                        x = wrap32(u)
                    np_[i][j] = x
                else:
                    np_[i][j] = p_in
                npv[i][j] = (av_in and wv[i][j]) if i == 0 else pv_in
                na[i][j] = a_in
                nav[i][j] = av_in and wv[i][j]
        if self.double:
            if shift:
                for i in range(R):
                    for j in range(C):
                        nws[i][j] = w_in[j] if i == 0 else ws[i - 1][j]
                        nwsv[i][j] = wv_in[j] if i == 0 else wsv[i - 1][j]
            if swap:
                for i in range(R):
                    for j in range(C):
                        nw[i][j] = ws[i][j]
                        nwv[i][j] = wsv[i][j]
        elif shift:
            for i in range(R):
                for j in range(C):
                    nw[i][j] = w_in[j] if i == 0 else w[i - 1][j]
                    nwv[i][j] = wv_in[j] if i == 0 else wv[i - 1][j]
        self.w, self.wv, self.ws, self.wsv = nw, nwv, nws, nwsv
        self.a, self.av, self.p, self.pv = na, nav, np_, npv

    def bottom(self):
        i = self.R - 1
        return [(self.pv[i][j], self.p[i][j] & 0xFFFFFFFF) for j in range(self.C)]


# ---------------------------------------------------------------- file formats

def read_meta(d):
    meta = {}
    with open(os.path.join(d, "meta.txt")) as f:
        for line in f:
            parts = line.split(None, 1)
            if len(parts) == 2:
                meta[parts[0]] = parts[1].strip()
    return meta


def read_lines(d, R, C):
    """lines.txt (row/column bypass): R row_off bits then C col_off bits; all 0 if absent."""
    path = os.path.join(d, "lines.txt")
    if not os.path.exists(path):
        return [0] * R, [0] * C
    bits = [int(t) for t in open(path).read().split()]
    assert len(bits) == R + C, "lines.txt: expected %d bits" % (R + C)
    return bits[:R], bits[R:]


def read_vectors(d):
    meta = read_meta(d)
    R, C = int(meta["rows"]), int(meta["cols"])
    double = meta["weight_load"] == "double-buffered"
    fault = [int(t) for t in open(os.path.join(d, "faults.txt")).read().split()]
    assert len(fault) == R * C, "faults.txt: expected %d bits" % (R * C)
    # Row/column bypass: every PE of a switched-off line is bypassed like a faulty one.
    row_off, col_off = read_lines(d, R, C)
    fault = [1 if fault[i * C + j] or row_off[i] or col_off[j] else 0 for i in range(R) for j in range(C)]
    st = [int(t) for t in open(os.path.join(d, "stuckat.txt")).read().split()]
    stuck = tuple(st[1:5]) if st[0] else None
    toks = open(os.path.join(d, "stimulus.txt")).read().split()
    assert toks[0] == "edges"
    E = int(toks[1])
    pos = 2
    edges = []
    for _ in range(E):
        shift, swap = toks[pos] == "1", toks[pos + 1] == "1"
        pos += 2
        wv_in, w_in = [], []
        for _ in range(C):
            wv_in.append(toks[pos] == "1"); w_in.append(s8(int(toks[pos + 1], 16))); pos += 2
        fv, feed = [], []
        for _ in range(R):
            fv.append(toks[pos] == "1"); feed.append(s8(int(toks[pos + 1], 16))); pos += 2
        edges.append((shift, swap, w_in, wv_in, feed, fv))
    return meta, R, C, double, fault, stuck, edges


def write_stimulus(d, R, C, edges):
    with open(os.path.join(d, "stimulus.txt"), "w") as f:
        f.write("edges %d\n" % len(edges))
        for shift, swap, w_in, wv_in, feed, fv in edges:
            parts = ["1" if shift else "0", "1" if swap else "0"]
            for j in range(C):
                parts += ["1" if wv_in[j] else "0", "%02x" % (w_in[j] & 0xFF)]
            for i in range(R):
                parts += ["1" if fv[i] else "0", "%02x" % (feed[i] & 0xFF)]
            f.write(" ".join(parts) + "\n")


def read_outputs(path):
    """Per-edge bottom outputs [(pv, p_u32)] per line, and the 'cycles N' trailer."""
    rows, cycles = [], None
    with open(path) as f:
        for line in f:
            t = line.split()
            if not t:
                continue
            if t[0] == "cycles":
                cycles = int(t[1])
                continue
            rows.append([(t[2 * j] == "1", int(t[2 * j + 1], 16)) for j in range(len(t) // 2)])
    return rows, cycles


def write_outputs(path, outs, cycles):
    with open(path, "w") as f:
        for row in outs:
            f.write(" ".join("%d %08x" % (1 if pv else 0, p) for pv, p in row) + "\n")
        f.write("cycles %d\n" % cycles)


def compare_outputs(exp, got, exp_cycles, got_cycles):
    """None if identical, else the first-mismatch line."""
    for c in range(max(len(exp), len(got))):
        if c >= len(exp) or c >= len(got):
            return "cycle %d: expected %d output lines, got %d" % (c, len(exp), len(got))
        e, g = exp[c], got[c]
        if len(e) != len(g):
            return "cycle %d: expected %d columns, got %d" % (c, len(e), len(g))
        for j in range(len(e)):
            if e[j] != g[j]:
                fmt = lambda x: "p=0x%08x (%d) pv=%d" % (x[1], wrap32(x[1]), 1 if x[0] else 0)
                return "cycle %d, column %d: expected %s, got %s" % (c, j, fmt(e[j]), fmt(g[j]))
    if exp_cycles != got_cycles:
        return "total cycles: expected %s, got %s" % (exp_cycles, got_cycles)
    return None


# ---------------------------------------------------------------- VCD writer

class VCD:
    """Minimal IEEE 1364 VCD writer (same signal names and timing as fapsim's)."""

    def __init__(self, path, R, C, double=False):
        self.f = open(path, "w")
        self.double = double
        self.R, self.C = R, C
        self.ids = {}
        n = 0
        f = self.f
        f.write("$timescale 1ns $end\n$scope module fap_array $end\n")
        for i in range(R):
            for j in range(C):
                f.write("$scope module pe_%d_%d $end\n" % (i, j))
                sigs = [("w", 8), ("wv", 1), ("a", 8), ("av", 1), ("p", 32), ("pv", 1), ("bypass", 1)]
                for name, width in sigs + ([("ws", 8)] if double else []):
                    ident = self._id(n); n += 1
                    self.ids[(i, j, name)] = (ident, width)
                    f.write("$var wire %d %s %s $end\n" % (width, ident, name + ("" if width == 1 else " [%d:0]" % (width - 1))))
                f.write("$upscope $end\n")
        f.write("$upscope $end\n$enddefinitions $end\n")
        self.last = {}

    @staticmethod
    def _id(n):
        s = ""
        n += 1
        while n:
            n -= 1
            s += chr(33 + n % 94)
            n //= 94
        return s

    def dump(self, t, arr):
        out = []
        for i in range(self.R):
            for j in range(self.C):
                vals = {"w": arr.w[i][j] & 0xFF, "wv": arr.wv[i][j], "a": arr.a[i][j] & 0xFF, "av": arr.av[i][j],
                        "p": arr.p[i][j] & 0xFFFFFFFF, "pv": arr.pv[i][j], "bypass": arr.bypass[i][j]}
                if self.double:
                    vals["ws"] = arr.ws[i][j] & 0xFF
                for name, v in vals.items():
                    ident, width = self.ids[(i, j, name)]
                    v = int(v)
                    if self.last.get(ident) == v:
                        continue
                    self.last[ident] = v
                    out.append(("%d%s" % (v, ident)) if width == 1 else ("b%s %s" % (format(v, "b"), ident)))
        if out or t == 0:
            self.f.write("#%d\n" % t)
            if t == 0:
                self.f.write("$dumpvars\n" + "\n".join(out) + "\n$end\n")
            else:
                self.f.write("\n".join(out) + "\n")

    def close(self, t):
        self.f.write("#%d\n" % t)
        self.f.close()


def replay(d, out=None, vcd=None):
    meta, R, C, double, fault, stuck, edges = read_vectors(d)
    arr = Array(R, C, double, fault, stuck)
    v = VCD(vcd, R, C, double) if vcd else None
    if v:
        v.dump(0, arr)
    outs, last = [], -1
    for e, ed in enumerate(edges):
        arr.edge(*ed)
        b = arr.bottom()
        outs.append(b)
        if any(pv for pv, _ in b):
            last = e
        if v:
            v.dump(10 * (e + 1), arr)
    if v:
        v.close(10 * (len(edges) + 1))
    cycles = last + 2
    if out:
        write_outputs(out, outs, cycles)
    return outs, cycles


# ---------------------------------------------------------------- stand-alone controller

def column_group_repair(fault, R, C, G):
    """Column-groups spares, stated independently of fapsim's matching: spare
    (r, g) reaches only the PEs of row r in group g, so a maximum matching uses
    every spare whose (row, group) has a faulty PE; fapsim takes the lowest such
    column.  Returns, per row, per group, the column replaced or -1."""
    return [[next((j for j in range(g * G, (g + 1) * G) if fault[r * C + j]), -1) for g in range(C // G)]
            for r in range(R)]


def repaired_map(fault, spares, C):
    """The effective fault map: the raw map less the PEs the spares replace."""
    eff = list(fault)
    for r, row in enumerate(spares):
        for j in row:
            if j >= 0:
                eff[r * C + j] = 0
    return eff


def write_bits(path, bits, R, C):
    with open(path, "w") as f:
        for i in range(R):
            f.write(" ".join(str(bits[i * C + j]) for j in range(C)) + "\n")


def read_spares(d, R, C):
    """spares.txt: R lines of C/G columns (-1: spare unused); None when absent."""
    path = os.path.join(d, "spares.txt")
    if not os.path.exists(path):
        return None
    return [[int(t) for t in line.split()] for line in open(path) if line.strip()]


def gen(d, R, C, double, M, K, N, rate, stuck, seed, spare_group=0):
    rng = random.Random(seed)
    A = [[rng.randint(-128, 127) for _ in range(K)] for _ in range(M)]
    W = [[rng.randint(-128, 127) for _ in range(N)] for _ in range(K)]
    nf = int(round(rate * R * C))
    fault = [0] * (R * C)
    for idx in rng.sample(range(R * C), nf):
        fault[idx] = 1
    if spare_group:
        # A stuck-at on a repaired PE means nothing to the effective map: refused.
        assert stuck is None and C % spare_group == 0, "spares: no stuck-at, and G must divide C"
        os.makedirs(d, exist_ok=True)
        write_bits(os.path.join(d, "faults_raw.txt"), fault, R, C)
        spares = column_group_repair(fault, R, C, spare_group)
        with open(os.path.join(d, "spares.txt"), "w") as fs:
            for row in spares:
                fs.write(" ".join(map(str, row)) + "\n")
        fault = repaired_map(fault, spares, C)
    idle = lambda: (False, False, [0] * C, [False] * C, [0] * R, [False] * R)
    folds = [(t, f) for t in range((N + C - 1) // C) for f in range((K + R - 1) // R)]

    def shift_edges(t, f):
        r = min(R, K - f * R)
        c = min(C, N - t * C)
        es = []
        for s in range(R):
            row = R - 1 - s  # the first value shifted ends in row R-1
            w_in = [W[f * R + row][t * C + j] if (row < r and j < c) else 0 for j in range(C)]
            wv_in = [row < r and j < c for j in range(C)]
            es.append((True, False, w_in, wv_in, [0] * R, [False] * R))
        return es

    def stream_edges(t, f):
        r = min(R, K - f * R)
        es = []
        for s in range(M + R + C):
            feed = [A[s - i][f * R + i] if (i < r and 0 <= s - i < M) else 0 for i in range(R)]
            fv = [i < r and 0 <= s - i < M for i in range(R)]
            es.append((False, False, [0] * C, [False] * C, feed, fv))
        return es

    edges = []
    if not double:
        for t, f in folds:
            edges += shift_edges(t, f)
            edges += stream_edges(t, f)
    else:
        edges += shift_edges(*folds[0])
        for q, (t, f) in enumerate(folds):
            st = stream_edges(t, f)
            edges.append((False, True, [0] * C, [False] * C, [0] * R, [False] * R))
            if q + 1 < len(folds):
                sh = shift_edges(*folds[q + 1])
                for s in range(len(st)):
                    e = list(st[s])
                    if s < len(sh):
                        e[0], e[2], e[3] = True, sh[s][2], sh[s][3]
                    st[s] = tuple(e)
            edges += st
    edges += [idle() for _ in range(R + C + 2)]
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "meta.txt"), "w") as fm:
        fm.write("producer refmodel.py gen\nrows %d\ncols %d\nweight_load %s\ndatapath int8\nm %d\nk %d\nn %d\nseed %d\nfault_rate %g\nedges %d\n"
                 % (R, C, "double-buffered" if double else "single-buffered", M, K, N, seed, rate, len(edges)))
        if spare_group:
            fm.write("mitigation spares\nspare_layout column-groups:%d\nspare_group_cols %d\n" % (spare_group, spare_group))
    write_bits(os.path.join(d, "faults.txt"), fault, R, C)
    with open(os.path.join(d, "stuckat.txt"), "w") as fs:
        fs.write(("1 %d %d %d %d\n" % stuck) if stuck else "0 0 0 0 0\n")
    write_stimulus(d, R, C, edges)
    write_matrix(os.path.join(d, "a.txt"), A)
    write_matrix(os.path.join(d, "w.txt"), W)
    outs, cycles = replay(d, out=os.path.join(d, "expected.txt"))
    # accumulate like the controller's accumulators and check against A x (W*mask)
    if not stuck:
        got = [[0] * N for _ in range(M)]
        q = 0
        fold_of_edge = None
        # valid bottom psums arrive per column in (fold, m) order
        cnt = [0] * N
        colseq = {j: [] for j in range(C)}
        for row in outs:
            for j, (pv, p) in enumerate(row):
                if pv:
                    colseq[j].append(wrap32(p))
        for j in range(C):
            seq = colseq[j]
            pos = 0
            for t, f in folds:
                if t * C + j >= N:
                    continue
                for m in range(M):
                    got[m][t * C + j] = wrap32(got[m][t * C + j] + seq[pos]); pos += 1
            assert pos == len(seq), "column %d: %d psums left over" % (j, len(seq) - pos)
        ref = masked_gemm(A, W, fault, R, C)
        assert got == ref, "refmodel gen: accumulated output != A x (W*mask)"
        write_matrix(os.path.join(d, "output.txt"), got)
    return cycles


def masked_gemm(A, W, fault, R, C, rows=None, cols=None):
    """A x (W * FAP mask). W[k][n] sits on PE(rows[k mod r], cols[n mod c]), rows
    and cols being the lines left on (row/column bypass; default: every line,
    PE(k mod R, n mod C))."""
    rows = rows if rows is not None else list(range(R))
    cols = cols if cols is not None else list(range(C))
    M, K, N = len(A), len(W), len(W[0])
    return [[wrap32(sum(A[m][k] * W[k][n] for k in range(K)
                        if not fault[rows[k % len(rows)] * C + cols[n % len(cols)]]))
             for n in range(N)] for m in range(M)]


def write_matrix(path, X):
    with open(path, "w") as f:
        for row in X:
            f.write(" ".join(str(v) for v in row) + "\n")


def read_matrix(path):
    return [[int(t) for t in line.split()] for line in open(path) if line.strip()]


def gen_random(d, R, C, double, E, seed):
    rng = random.Random(seed)
    fault = [1 if rng.random() < 0.3 else 0 for _ in range(R * C)]
    stuck = (rng.randrange(R), rng.randrange(C), rng.randrange(32), rng.randrange(2)) if rng.random() < 0.5 else None
    edges = []
    for _ in range(E):
        edges.append((rng.random() < 0.4, double and rng.random() < 0.2,
                      [rng.randint(-128, 127) for _ in range(C)], [rng.random() < 0.8 for _ in range(C)],
                      [rng.randint(-128, 127) for _ in range(R)], [rng.random() < 0.7 for _ in range(R)]))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "meta.txt"), "w") as fm:
        fm.write("producer refmodel.py random\nrows %d\ncols %d\nweight_load %s\ndatapath int8\nseed %d\nedges %d\n"
                 % (R, C, "double-buffered" if double else "single-buffered", seed, E))
    with open(os.path.join(d, "faults.txt"), "w") as ff:
        ff.write(" ".join(map(str, fault)) + "\n")
    with open(os.path.join(d, "stuckat.txt"), "w") as fs:
        fs.write(("1 %d %d %d %d\n" % stuck) if stuck else "0 0 0 0 0\n")
    write_stimulus(d, R, C, edges)
    replay(d, out=os.path.join(d, "expected.txt"))


def check_spares(d):
    """A spares vector set is consistent: spares.txt is the column-groups repair of
    faults_raw.txt (column_group_repair) and faults.txt is what it leaves."""
    meta = read_meta(d)
    R, C = int(meta["rows"]), int(meta["cols"])
    spares = read_spares(d, R, C)
    if spares is None:
        return None
    G = int(meta.get("spare_group_cols", "0"))
    if G <= 0 or C % G:
        return "meta.txt: spare_group_cols: expected a group width dividing %d, got %s" % (C, meta.get("spare_group_cols"))
    raw = [int(t) for t in open(os.path.join(d, "faults_raw.txt")).read().split()]
    eff = [int(t) for t in open(os.path.join(d, "faults.txt")).read().split()]
    if len(raw) != R * C or len(spares) != R or any(len(row) != C // G for row in spares):
        return "faults_raw.txt / spares.txt: expected %d bits and %d x %d spare columns" % (R * C, R, C // G)
    want = column_group_repair(raw, R, C, G)
    if spares != want:
        r = next(r for r in range(R) if spares[r] != want[r])
        return "spares.txt row %d: expected %s (the lowest faulty column per group), got %s" % (r, want[r], spares[r])
    if eff != repaired_map(raw, spares, C):
        return "faults.txt is not faults_raw.txt less the repaired PEs"
    return None


def check(d):
    outs, cycles = replay(d)
    exp, exp_cycles = read_outputs(os.path.join(d, "expected.txt"))
    got = [[(pv, p) for pv, p in row] for row in outs]
    msg = compare_outputs(exp, got, exp_cycles, cycles)
    if msg:
        return "refmodel vs expected: " + msg
    msg = check_spares(d)
    if msg:
        return "refmodel spares: " + msg
    st = [int(t) for t in open(os.path.join(d, "stuckat.txt")).read().split()]
    if not st[0] and all(os.path.exists(os.path.join(d, x)) for x in ("a.txt", "w.txt", "output.txt")):
        meta, R, C = read_meta(d), None, None
        R, C = int(meta["rows"]), int(meta["cols"])
        fault = [int(t) for t in open(os.path.join(d, "faults.txt")).read().split()]
        row_off, col_off = read_lines(d, R, C)
        rows = [i for i in range(R) if not row_off[i]]
        cols = [j for j in range(C) if not col_off[j]]
        A, W, O = read_matrix(os.path.join(d, "a.txt")), read_matrix(os.path.join(d, "w.txt")), read_matrix(os.path.join(d, "output.txt"))
        if O != masked_gemm(A, W, fault, R, C, rows, cols):
            return "GEMM output != A x (W * FAP mask) (int32 wrap)"
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("replay"); p.add_argument("dir"); p.add_argument("--out"); p.add_argument("--vcd")
    p = sub.add_parser("check"); p.add_argument("dir")
    p = sub.add_parser("gen"); p.add_argument("dir")
    for a in ("--rows", "--cols", "--m", "--k", "--n", "--seed"):
        p.add_argument(a, type=int, required=True)
    p.add_argument("--double", action="store_true"); p.add_argument("--fault-rate", type=float, default=0.0)
    p.add_argument("--stuck-at")
    p.add_argument("--spare-group", type=int, default=0, help="column-groups spares, G columns per spare column")
    p = sub.add_parser("random"); p.add_argument("dir")
    for a in ("--rows", "--cols", "--edges", "--seed"):
        p.add_argument(a, type=int, required=True)
    p.add_argument("--double", action="store_true")
    args = ap.parse_args()
    if args.cmd == "replay":
        _, cycles = replay(args.dir, args.out, args.vcd)
        print("cycles %d" % cycles)
    elif args.cmd == "check":
        msg = check(args.dir)
        if msg:
            print(msg); sys.exit(1)
        print("ok")
    elif args.cmd == "gen":
        stuck = tuple(int(x) for x in args.stuck_at.split(",")) if args.stuck_at else None
        print("cycles %d" % gen(args.dir, args.rows, args.cols, args.double, args.m, args.k, args.n, args.fault_rate, stuck, args.seed, args.spare_group))
    else:
        gen_random(args.dir, args.rows, args.cols, args.double, args.edges, args.seed)


if __name__ == "__main__":
    main()
