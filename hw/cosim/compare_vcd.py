#!/usr/bin/env python3
"""Check that an RTL VCD (Verilator or Icarus, from hw/tb/fap_tb.sv) and fapsim's
VCD (`fapsim vectors`) carry the same values for the same signals over the same
cycles.  Independent reader: vcdvcd (pip install vcdvcd).

Signals compared, per PE(i,j): w, wv, a, av, p, pv, bypass (and ws, the shadow
weight, when fapsim's VCD has it).  Names are mapped to a canonical pe(i,j).sig:
  RTL:    ...g_row[i].g_col[j].u_pe.{w_q,wv_q,a_q,av_q,p_q,pv_q,bypass,g_db.ws_q}
  fapsim: fap_array.pe_i_j.{w,wv,a,av,p,pv,bypass,ws}
Both VCDs put edge e (numbered from 0) at time 10*(e+1); the value of every
signal is sampled at each such time (the value after the edge).

usage: compare_vcd.py RTL.vcd FAPSIM.vcd [--edges E]
exit 0 and "VCD match: ..." when identical, else 1 and the first mismatch.
"""
import argparse
import re
import sys

try:
    from vcdvcd import VCDVCD
except ImportError:
    sys.exit("compare_vcd.py: needs the vcdvcd package (pip install vcdvcd)")

RTL_RE = re.compile(r"g_row\[(\d+)\]\.g_col\[(\d+)\]\.u_pe\.(?:g_db\.)?(w_q|wv_q|a_q|av_q|p_q|pv_q|bypass|ws_q)$")
FAP_RE = re.compile(r"fap_array\.pe_(\d+)_(\d+)\.(w|wv|a|av|p|pv|bypass|ws)$")
RTL_NAME = {"w_q": "w", "wv_q": "wv", "a_q": "a", "av_q": "av", "p_q": "p", "pv_q": "pv", "bypass": "bypass", "ws_q": "ws"}


def strip_range(name):
    return re.sub(r"\s*\[\d+:\d+\]$", "", name)


def canonical(vcd, regex, rename):
    out = {}
    for name in vcd.signals:
        m = regex.search(strip_range(name))
        if m:
            key = "pe(%s,%s).%s" % (m.group(1), m.group(2), rename.get(m.group(3), m.group(3)))
            out.setdefault(key, name)
    return out


def value(sig, t):
    v = sig[t]
    if v is None:
        return None
    v = v.lower()
    if any(c in v for c in "xz"):
        return v
    return int(v, 2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("rtl")
    ap.add_argument("fapsim")
    ap.add_argument("--edges", type=int, help="edges to compare (default: all in fapsim's VCD)")
    args = ap.parse_args()
    rtl = VCDVCD(args.rtl)
    fap = VCDVCD(args.fapsim)
    rmap = canonical(rtl, RTL_RE, RTL_NAME)
    fmap = canonical(fap, FAP_RE, {})
    if not fmap:
        print("compare_vcd: no PE signals found in %s" % args.fapsim); return 1
    missing = sorted(set(fmap) - set(rmap))
    if missing:
        print("compare_vcd: %d signals of fapsim's VCD are not in the RTL VCD, first: %s" % (len(missing), missing[0]))
        return 1
    edges = args.edges
    if edges is None:
        edges = fap.endtime // 10 - 1
    if rtl.endtime < 10 * edges:
        print("compare_vcd: RTL VCD ends at %d, before edge %d (time %d)" % (rtl.endtime, edges - 1, 10 * edges))
        return 1

    def order(k):
        m = re.match(r"pe\((\d+),(\d+)\)\.(\w+)", k)
        return (int(m.group(1)), int(m.group(2)), m.group(3))
    keys = sorted(fmap, key=order)
    rs = {k: rtl[rmap[k]] for k in keys}
    fs = {k: fap[fmap[k]] for k in keys}
    for e in range(edges):
        t = 10 * (e + 1)
        for k in keys:
            fv, rv = value(fs[k], t), value(rs[k], t)
            if fv != rv:
                print("cycle %d, %s: fapsim %s, rtl %s" % (e, k, fv, rv))
                return 1
    print("VCD match: %d signals x %d cycles identical (%s vs %s)" % (len(keys), edges, args.rtl, args.fapsim))
    return 0


if __name__ == "__main__":
    sys.exit(main())
