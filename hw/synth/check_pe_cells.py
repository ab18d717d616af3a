#!/usr/bin/env python3
"""Compare the committed PE cell counts (hw/synth/pe-cells.json) with a fresh
synthesis written in the same format by synth_pe.sh.

    usage: check_pe_cells.py COMMITTED FRESH

Exit 0 when every variant of FRESH is in COMMITTED and back, flip-flops are
equal and cells differ by at most the committed file's tolerance_cells (ABC's
structural choices move a count by a few cells between runs and machines,
docs/mitigations.md "Area from the RTL"); otherwise exit 1 with one line on
stderr naming the file, the variant and field, what was expected and what the
fresh synthesis gave.
"""
import json
import sys


def fail(msg):
    print(f"synth_pe.sh --check: {msg}", file=sys.stderr)
    sys.exit(1)


def load(path):
    try:
        with open(path) as f:
            data = json.load(f)
    except OSError as e:
        fail(f"{path}: cannot read: {e.strerror}")
    except json.JSONDecodeError as e:
        fail(f"{path}: not JSON (line {e.lineno}: {e.msg})")
    if not isinstance(data, dict) or data.get("content") != "fapsim_pe_cells":
        fail(f"{path}: content: expected \"fapsim_pe_cells\", got {data.get('content') if isinstance(data, dict) else type(data).__name__!r}")
    if not isinstance(data.get("variants"), dict):
        fail(f"{path}: variants: expected an object of variant -> cells, flip_flops, logic")
    return data


def main():
    if len(sys.argv) != 3:
        print("usage: check_pe_cells.py COMMITTED FRESH", file=sys.stderr)
        sys.exit(2)
    committed_path, fresh_path = sys.argv[1], sys.argv[2]
    committed, fresh = load(committed_path), load(fresh_path)
    tol = committed.get("tolerance_cells")
    if not isinstance(tol, int) or tol < 0:
        fail(f"{committed_path}: tolerance_cells: expected a non-negative number of cells, got {tol!r}")
    cv, fv = committed["variants"], fresh["variants"]
    for name in fv:
        if name not in cv:
            fail(f"{committed_path}: variants.{name}: expected an entry (synthesized now), got none; rerun hw/synth/synth_pe.sh --write")
    for name in cv:
        if name not in fv:
            fail(f"{committed_path}: variants.{name}: expected a variant synth_pe.sh synthesizes, got one it does not; rerun hw/synth/synth_pe.sh --write")
        c, f = cv[name], fv[name]
        for field in ("cells", "flip_flops", "logic"):
            if not isinstance(c.get(field), int):
                fail(f"{committed_path}: variants.{name}.{field}: expected a whole number, got {c.get(field)!r}")
        if c["logic"] != c["cells"] - c["flip_flops"]:
            fail(f"{committed_path}: variants.{name}.logic: expected cells - flip_flops = {c['cells'] - c['flip_flops']}, got {c['logic']}")
        if c["flip_flops"] != f["flip_flops"]:
            fail(f"{committed_path}: variants.{name}.flip_flops: expected {f['flip_flops']} (fresh synthesis), got {c['flip_flops']}; rerun hw/synth/synth_pe.sh --write")
        if abs(c["cells"] - f["cells"]) > tol:
            fail(f"{committed_path}: variants.{name}.cells: expected {f['cells']} +/- {tol} (fresh synthesis), got {c['cells']}; rerun hw/synth/synth_pe.sh --write")
    if committed.get("tool") != fresh.get("tool"):
        print(f"synth_pe.sh --check: note: {committed_path} was written by {committed.get('tool')!r}, this synthesis ran {fresh.get('tool')!r}", file=sys.stderr)


if __name__ == "__main__":
    main()
