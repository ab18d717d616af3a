#!/usr/bin/env python3
"""Check that h5py, numpy and h5dump read every kind of file fapsim writes.

Usage: python3 Tests/interop/check_files.py DIR

DIR holds the files a Swift test wrote and manifest.json describing them:

    {"files": [{"file": "lot.h5",
                "datasets": {"/fault_maps": {"dtype": "uint8", "shape": [3, 8, 6],
                                             "chunks": [1, 8, 6], "compression": "gzip",
                                             "shuffle": true, "values": {"0": "1", "47": "0"}}},
                "strings": {"/per_chip/status": ["ok", ...]},
                "attributes": {"/": {"schema": {"type": "string", "value": "fapsim.lot"}}},
                "tables": {"/per_chip": ["chip", "fault_rate", ...]}}],
     "state_dict": {"source": "torch.h5", "output": "from_h5py.h5"}}

Numbers are given as strings so 64-bit integers and doubles compare exactly.
An entry may also name a "kind" ("fam_mapping", "mitigation_comparison"): the
file is then checked against docs/hdf5-schema.md's section on that kind by
this script's own reading of it (every attribute's type, every table's
columns, dtypes and units, and the invariants the section states), whatever
the manifest lists.
The script also re-reads a fapsim PyTorch export with tools/hdf5_to_pytorch.py
and writes it back with tools/pytorch_to_hdf5.py (h5py's defaults, as a
PyTorch user would), for the Swift test to import.

Exit status: 0 all good, 1 a check failed, 3 h5py or numpy is not installed.
"""
import json
import os
import shutil
import subprocess
import sys

try:
    import h5py
    import numpy as np
except ImportError as e:  # the Swift test turns this into a skip unless FAPSIM_REQUIRE_INTEROP=1
    print(f"SKIP: {e}", file=sys.stderr)
    sys.exit(3)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from hdf5_to_pytorch import read_state_dict_arrays  # noqa: E402
from pytorch_to_hdf5 import write_state_dict  # noqa: E402

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg, file=sys.stderr)


def as_str(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def parse(dtype_kind, s):
    return int(s) if dtype_kind in "iu" else float(s)


def check_attribute(where, name, got, want):
    t, value = want["type"], want["value"]
    if t == "string":
        ok = isinstance(got, str) and got == value
    elif t == "strings":
        ok = [as_str(x) for x in np.asarray(got).tolist()] == value
    elif t == "int":
        ok = np.ndim(got) == 0 and np.issubdtype(np.asarray(got).dtype, np.integer) and int(got) == int(value)
    elif t == "float":
        ok = np.ndim(got) == 0 and np.issubdtype(np.asarray(got).dtype, np.floating) and float(got) == float(value)
    elif t == "ints":
        ok = np.ndim(got) == 1 and [int(x) for x in got] == [int(x) for x in value]
    elif t == "floats":
        ok = np.ndim(got) == 1 and [float(x) for x in got] == [float(x) for x in value]
    else:
        ok = False
    if not ok:
        fail(f"{where}: attribute {name}: got {got!r}, want {t} {value!r}")


def check_file(d, entry):
    path = os.path.join(d, entry["file"])
    with h5py.File(path, "r") as f:
        for name, want in entry.get("datasets", {}).items():
            if name not in f:
                fail(f"{path}: {name}: missing dataset")
                continue
            ds = f[name]
            if str(ds.dtype) != want["dtype"]:
                fail(f"{path}: {name}: dtype {ds.dtype}, want {want['dtype']}")
            if list(ds.shape) != want["shape"]:
                fail(f"{path}: {name}: shape {ds.shape}, want {want['shape']}")
            if "chunks" in want and list(ds.chunks or []) != want["chunks"]:
                fail(f"{path}: {name}: chunks {ds.chunks}, want {want['chunks']}")
            if "compression" in want and ds.compression != want["compression"]:
                fail(f"{path}: {name}: compression {ds.compression}, want {want['compression']}")
            if "shuffle" in want and bool(ds.shuffle) != want["shuffle"]:
                fail(f"{path}: {name}: shuffle {ds.shuffle}, want {want['shuffle']}")
            data = np.asarray(ds[()]).reshape(-1)
            for index, value in want.get("values", {}).items():
                got, expect = data[int(index)], parse(ds.dtype.kind, value)
                if got != expect:
                    fail(f"{path}: {name}: element {index} is {got!r}, want {expect!r}")
        for name, want in entry.get("strings", {}).items():
            ds = f[name]
            if h5py.check_string_dtype(ds.dtype) is None:
                fail(f"{path}: {name}: not a string dataset ({ds.dtype})")
                continue
            got = [as_str(x) for x in ds.asstr()[()].tolist()]
            if got != want:
                fail(f"{path}: {name}: strings {got!r}, want {want!r}")
        for obj, attrs in entry.get("attributes", {}).items():
            node = f[obj]
            for name, want in attrs.items():
                if name not in node.attrs:
                    fail(f"{path}: {obj}: missing attribute {name}")
                else:
                    check_attribute(f"{path}: {obj}", name, node.attrs[name], want)
        # Tables: what a pandas user would do, without needing pandas.
        for group, columns in entry.get("tables", {}).items():
            g = f[group]
            order = [as_str(c) for c in g.attrs["columns"]]
            if order != columns:
                fail(f"{path}: {group}: columns {order}, want {columns}")
            lengths = {c: len(g[c]) for c in order}
            if len(set(lengths.values())) > 1:
                fail(f"{path}: {group}: columns differ in length {lengths}")
            for c in order:
                if "units" not in g[c].attrs:
                    fail(f"{path}: {group}/{c}: no units attribute")


# Kinds checked from docs/hdf5-schema.md alone (not from the manifest): each
# function reads the file as a user with h5py and the schema doc would.

def root_attr(path, f, name, kind, required=True):
    """The root attribute `name` if it has the schema's type: "string",
    "strings" (1-D), "int" (int64 scalar) or "float" (float64 scalar)."""
    if name not in f.attrs:
        if required:
            fail(f"{path}: /: missing attribute {name}")
        return None
    v = f.attrs[name]
    a = np.asarray(v)
    ok = {"string": lambda: isinstance(v, (str, bytes)),
          "strings": lambda: a.ndim == 1 and all(isinstance(x, (str, bytes)) for x in a.tolist()),
          "int": lambda: a.ndim == 0 and a.dtype == np.int64,
          "float": lambda: a.ndim == 0 and a.dtype == np.float64}[kind]()
    if not ok:
        fail(f"{path}: /: attribute {name}: want {kind}, got {v!r} ({a.dtype})")
        return None
    if kind == "string":
        return as_str(v)
    if kind == "strings":
        return [as_str(x) for x in a.tolist()]
    return int(v) if kind == "int" else float(v)


def read_table(path, f, name, spec):
    """A results table as {column: numpy array}, checked against `spec`:
    {column: (dtype "int64" / "float64" / "string", units)} in column order."""
    where = f"{path}: /{name}"
    if name not in f or not isinstance(f[name], h5py.Group) or "columns" not in f[name].attrs:
        fail(f"{where}: missing table (a group with a columns attribute)")
        return None
    g = f[name]
    order = [as_str(c) for c in g.attrs["columns"]]
    if order != list(spec):
        fail(f"{where}: columns {order}, want {list(spec)}")
        return None
    out = {}
    for c, (dtype, units) in spec.items():
        ds = g[c]
        if ds.ndim != 1:
            fail(f"{where}/{c}: want 1-D, got shape {ds.shape}")
            return None
        if dtype == "string":
            if h5py.check_string_dtype(ds.dtype) is None:
                fail(f"{where}/{c}: want a string column, got {ds.dtype}")
                return None
            out[c] = [as_str(x) for x in ds.asstr()[()].tolist()]
        else:
            if str(ds.dtype) != dtype:
                fail(f"{where}/{c}: dtype {ds.dtype}, want {dtype}")
                return None
            out[c] = np.asarray(ds[()])
        got_units = as_str(ds.attrs["units"]) if "units" in ds.attrs else None
        if got_units != units:
            fail(f"{where}/{c}: units {got_units!r}, want {units!r}")
    lengths = {c: len(v) for c, v in out.items()}
    if len(set(lengths.values())) > 1:
        fail(f"{where}: columns differ in length {lengths}")
        return None
    return out


def check_results_header(path, f, content):
    if root_attr(path, f, "schema", "string") != "fapsim.results":
        fail(f"{path}: /: schema: want fapsim.results")
    if root_attr(path, f, "schema_version", "int") != 1:
        fail(f"{path}: /: schema_version: want 1")
    if root_attr(path, f, "content", "string") != content:
        fail(f"{path}: /: content: want {content}")


def check_fam_mapping(path, f):
    """docs/hdf5-schema.md, "FAM mapping file": root attributes; per layer two
    slot tables, each a permutation; and, since the plan is for one VGG11 on
    CIFAR-10 (32x32 in, 3x3 convs, one linear classifier on the 1x1 feature
    map), its layers chain: features.0 has K = 3 x 9, each next conv K = 9 x
    the previous N, the classifier K = the last conv's N and N = 10 classes."""
    check_results_header(path, f, "fam_mapping")
    width = root_attr(path, f, "network_width", "float")
    if width is not None and not width > 0:
        fail(f"{path}: /: network_width: want a positive width, got {width}")
    rows, cols = root_attr(path, f, "array_rows", "int"), root_attr(path, f, "array_cols", "int")
    if rows is None or cols is None or rows <= 0 or cols <= 0:
        fail(f"{path}: /: array_rows, array_cols: want a positive array size, got {rows}x{cols}")
        return
    root_attr(path, f, "fault_map_checksum", "string")
    faulty = root_attr(path, f, "faulty_pes", "int")
    if faulty is not None and not 0 <= faulty <= rows * cols:
        fail(f"{path}: /: faulty_pes: want 0..{rows * cols}, got {faulty}")
    saliency = root_attr(path, f, "saliency", "string")
    if saliency not in ("magnitude", "bn", "activation", "taylor"):
        fail(f"{path}: /: saliency: want magnitude, bn, activation or taylor, got {saliency!r}")
    if saliency in ("activation", "taylor"):
        n = root_attr(path, f, "fam_calibration", "int")
        if n is not None and n <= 0:
            fail(f"{path}: /: fam_calibration: want a positive image count, got {n}")
    method = root_attr(path, f, "method", "string", required=False)
    if "method" in f.attrs and method not in ("columns", "joint"):
        fail(f"{path}: /: method: want columns or joint, got {method!r}")
    for name in ("weights_file", "weights_checksum"):
        root_attr(path, f, name, "string")
    layers = root_attr(path, f, "layers", "strings")
    if not layers:
        fail(f"{path}: /: layers: want the GEMM layers, got {layers!r}")
        return
    if layers[0] != "features.0" or layers[-1] != "classifier":
        fail(f"{path}: /: layers: want features.0, ..., classifier, got {layers}")
    shapes = []
    for name in layers:
        kn = []
        for table in ("input_slots", "output_slots"):
            t = read_table(path, f, f"{name}/{table}", {"slot": ("int64", "index")})
            if t is None:
                return
            slot = t["slot"]
            # A slot per channel, each slot once: the permutation the mapping is.
            if sorted(slot.tolist()) != list(range(len(slot))):
                fail(f"{path}: /{name}/{table}: slots are not a permutation of 0..{len(slot) - 1}")
            kn.append(len(slot))
        shapes.append(tuple(kn))
    for i, (name, (k, n)) in enumerate(zip(layers, shapes)):
        previous_n = shapes[i - 1][1] if i else 3
        if name != "classifier" and k != 9 * previous_n:
            fail(f"{path}: /{name}: K = {k}, want 9 x {previous_n} (3x3 taps of the previous layer's outputs)")
        if name == "classifier" and (k, n) != (previous_n, 10):
            fail(f"{path}: /{name}: K x N = {k} x {n}, want {previous_n} x 10 (the last conv's outputs to 10 classes)")


def check_mitigation_comparison(path, f):
    """docs/hdf5-schema.md, "Mitigation comparison": root attributes, the
    per_chip, summary and yield tables, and what each table says of the
    others: per_chip grouped by mitigation in the `mitigations` order; each
    row's fault_share, throughput and meets follow from its other columns;
    unusable rows carry NaN / -1; summary and yield are sums over per_chip."""
    check_results_header(path, f, "mitigation_comparison")
    for name, kind in [("lot_file", "string"), ("lot_checksum", "string"), ("lot_chips", "int"),
                       ("lot_generator", "string"), ("weights_file", "string"), ("weights_checksum", "string"),
                       ("network_width", "float"), ("config_name", "string"), ("test_subset", "int"),
                       ("baseline_accuracy", "float")]:
        root_attr(path, f, name, kind)
    rows, cols = root_attr(path, f, "rows", "int"), root_attr(path, f, "cols", "int")
    ff_cycles = root_attr(path, f, "fault_free_cycles_per_image", "int")
    min_thr = root_attr(path, f, "min_throughput", "float")
    bins = root_attr(path, f, "yield_bins", "int")
    mitigations = root_attr(path, f, "mitigations", "strings")
    if ("target" in f.attrs) == ("below_baseline" in f.attrs):
        fail(f"{path}: /: want exactly one of target, below_baseline")
    for name in ("target", "below_baseline"):
        root_attr(path, f, name, "float", required=False)
    if "campaign_files" in f.attrs or "campaign_policies" in f.attrs:
        files = root_attr(path, f, "campaign_files", "strings")
        policies = root_attr(path, f, "campaign_policies", "strings")
        if files is not None and policies is not None and len(files) != len(policies):
            fail(f"{path}: /: campaign_files and campaign_policies differ in length")
    if None in (rows, cols, ff_cycles, min_thr, bins, mitigations):
        return
    per_chip = read_table(path, f, "per_chip", {
        "chip": ("int64", "index"), "mitigation": ("string", "label"), "faulty_pes": ("int64", "count"),
        "fault_share": ("float64", "1"), "usable": ("int64", "1"), "accuracy": ("float64", "1"),
        "test_images": ("int64", "count"), "cycles_per_image": ("int64", "cycles"), "throughput": ("float64", "1"),
        "pes_added": ("int64", "count"), "retraining_images": ("int64", "count"), "source": ("string", "label"),
        "accuracy_threshold": ("float64", "1"), "meets": ("int64", "1"), "area_vs_fap": ("float64", "1")})
    summary = read_table(path, f, "summary", {
        "mitigation": ("string", "label"), "chips": ("int64", "count"), "usable": ("int64", "count"),
        "meeting": ("int64", "count"), "mean_throughput": ("float64", "1"), "pes_added": ("int64", "count"),
        "retraining_images": ("int64", "count"), "area_vs_fap": ("float64", "1"), "area_basis": ("string", "label")})
    yld = read_table(path, f, "yield", {
        "mitigation": ("string", "label"), "bin_low": ("float64", "1"), "bin_high": ("float64", "1"),
        "mean_fault_share": ("float64", "1"), "chips": ("int64", "count"), "meeting": ("int64", "count"),
        "yield": ("float64", "1")})
    if per_chip is None or summary is None or yld is None:
        return
    t = per_chip
    where = f"{path}: /per_chip"
    order = [m for i, m in enumerate(t["mitigation"]) if i == 0 or t["mitigation"][i - 1] != m]
    if order != mitigations:
        fail(f"{where}: rows grouped as {order}, want one group per mitigation in the order {mitigations}")
    for i in range(len(t["chip"])):
        r = {c: v[i] for c, v in t.items()}
        row = f"{where}: row {i}"
        if not 0 <= r["chip"] < f.attrs["lot_chips"]:
            fail(f"{row}: chip {r['chip']} outside the lot's {f.attrs['lot_chips']} chips")
        if r["fault_share"] != r["faulty_pes"] / (rows * cols):
            fail(f"{row}: fault_share {r['fault_share']} != faulty_pes / (rows x cols)")
        if r["usable"] not in (0, 1) or r["meets"] not in (0, 1):
            fail(f"{row}: usable and meets: want 0 or 1, got {r['usable']}, {r['meets']}")
        if r["usable"] == 1:
            if not 0 <= r["accuracy"] <= 1 or r["cycles_per_image"] <= 0:
                fail(f"{row}: usable with accuracy {r['accuracy']} and cycles {r['cycles_per_image']}")
            elif not np.isclose(r["throughput"], ff_cycles / r["cycles_per_image"], rtol=1e-12, atol=0):
                fail(f"{row}: throughput {r['throughput']} != {ff_cycles} / {r['cycles_per_image']}")
        elif not (np.isnan(r["accuracy"]) and r["cycles_per_image"] == -1 and np.isnan(r["throughput"])
                  and r["source"] == "unusable"):
            fail(f"{row}: unusable, want accuracy and throughput NaN, cycles -1, source unusable")
        meets = r["usable"] == 1 and r["accuracy"] >= r["accuracy_threshold"] and r["throughput"] >= min_thr
        if r["meets"] != int(meets):
            fail(f"{row}: meets {r['meets']}, but usable / accuracy / threshold / throughput give {int(meets)}")
        ok_source = r["source"] in ("evaluated", "fault-free logits", "unusable") or r["source"].startswith("campaign ")
        if not ok_source:
            fail(f"{row}: source {r['source']!r}: want evaluated, fault-free logits, campaign POLICY or unusable")
    if summary["mitigation"] != mitigations:
        fail(f"{path}: /summary: mitigations {summary['mitigation']}, want {mitigations}")
    for i, m in enumerate(summary["mitigation"]):
        sel = [j for j, x in enumerate(t["mitigation"]) if x == m]
        usable = [j for j in sel if t["usable"][j] == 1]
        mean = np.mean([t["throughput"][j] for j in usable]) if usable else float("nan")
        want = {"chips": len(sel), "usable": len(usable), "meeting": int(sum(t["meets"][j] for j in sel)),
                "retraining_images": int(sum(t["retraining_images"][j] for j in sel))}
        for c, v in want.items():
            if summary[c][i] != v:
                fail(f"{path}: /summary: {m}: {c} {summary[c][i]}, want {v} from per_chip")
        got = summary["mean_throughput"][i]
        if not (np.isnan(got) and np.isnan(mean) or np.isclose(got, mean, rtol=1e-12, atol=0)):
            fail(f"{path}: /summary: {m}: mean_throughput {got}, want {mean} over the usable chips")
        if any(t["pes_added"][j] != summary["pes_added"][i] for j in sel):
            fail(f"{path}: /summary: {m}: pes_added {summary['pes_added'][i]} is not every chip's")
        # The area is the mitigation's hardware: the same on every chip, NaN when not available.
        area = summary["area_vs_fap"][i]
        if any(not (np.isnan(area) and np.isnan(t["area_vs_fap"][j]) or t["area_vs_fap"][j] == area) for j in sel):
            fail(f"{path}: /summary: {m}: area_vs_fap {area} is not every chip's")
        if np.isnan(area) != summary["area_basis"][i].startswith("not available"):
            fail(f"{path}: /summary: {m}: area_vs_fap {area} with area_basis {summary['area_basis'][i]!r}")
    # Yield: per mitigation, equal-width bins over the lot's lowest to highest
    # share, [low, high) with the last closed; only non-empty bins are rows.
    shares = t["fault_share"]
    lo, hi = float(np.min(shares)), float(np.max(shares))
    for m in mitigations:
        sel = [j for j, x in enumerate(t["mitigation"]) if x == m]
        ys = [i for i, x in enumerate(yld["mitigation"]) if x == m]
        if sum(int(yld["chips"][i]) for i in ys) != len(sel):
            fail(f"{path}: /yield: {m}: bins hold {sum(int(yld['chips'][i]) for i in ys)} chips, want {len(sel)}")
        for i in ys:
            low, high = yld["bin_low"][i], yld["bin_high"][i]
            last = np.isclose(high, hi, rtol=1e-12, atol=1e-15)
            inside = [j for j in sel if low <= shares[j] < high or (last and shares[j] == high)]
            if len(inside) != yld["chips"][i] or yld["chips"][i] == 0:
                fail(f"{path}: /yield: {m}: bin [{low}, {high}) has {yld['chips'][i]} chips, per_chip gives {len(inside)}")
                continue
            width = (hi - lo) / bins
            if width > 0 and not np.isclose((high - low), width, rtol=1e-9, atol=0):
                fail(f"{path}: /yield: {m}: bin [{low}, {high}) is not 1/{bins} of [{lo}, {hi}]")
            if yld["meeting"][i] != sum(int(t["meets"][j]) for j in inside):
                fail(f"{path}: /yield: {m}: bin [{low}, {high}): meeting {yld['meeting'][i]} disagrees with per_chip")
            if not np.isclose(yld["mean_fault_share"][i], np.mean([shares[j] for j in inside]), rtol=1e-12, atol=0):
                fail(f"{path}: /yield: {m}: bin [{low}, {high}): mean_fault_share disagrees with per_chip")
            if yld["yield"][i] != yld["meeting"][i] / yld["chips"][i]:
                fail(f"{path}: /yield: {m}: yield {yld['yield'][i]} != meeting / chips")


KINDS = {"fam_mapping": check_fam_mapping, "mitigation_comparison": check_mitigation_comparison}


def check_kind(d, entry):
    path = os.path.join(d, entry["file"])
    kind = entry["kind"]
    if kind not in KINDS:
        fail(f"{path}: kind {kind!r}: this checker knows {sorted(KINDS)}")
        return
    with h5py.File(path, "r") as f:
        KINDS[kind](path, f)


def check_h5dump(d, entry, strict):
    path = os.path.join(d, entry["file"])
    exe = shutil.which("h5dump")
    if exe is None:
        msg = "h5dump not found (Debian package hdf5-tools)"
        fail(msg) if strict else print("SKIP:", msg, file=sys.stderr)
        return
    for args in (["-H"], []):
        r = subprocess.run([exe, *args, path], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            fail(f"{path}: h5dump {' '.join(args)} failed: {r.stderr.strip()[:300]}")


def check_state_dict(d, spec):
    source = os.path.join(d, spec["source"])
    arrays, attrs = read_state_dict_arrays(source)
    if attrs.get("layout") != "pytorch-state_dict":
        fail(f"{source}: layout attribute {attrs.get('layout')!r}")
    for k, v in arrays.items():
        if k.endswith("num_batches_tracked"):
            if np.asarray(v).dtype != np.int64 or np.ndim(v) != 0:
                fail(f"{source}: {k}: want an int64 scalar, got {np.asarray(v).dtype} ndim {np.ndim(v)}")
        elif np.asarray(v).dtype != np.float32:
            fail(f"{source}: {k}: want float32, got {np.asarray(v).dtype}")
    fapsim_weights = spec.get("fapsim_weights")
    if fapsim_weights:
        same, _ = read_state_dict_arrays(os.path.join(d, fapsim_weights))
        if sorted(same) != sorted(arrays) or any(not np.array_equal(same[k], arrays[k]) for k in arrays):
            fail(f"{fapsim_weights}: tensors differ from {source}")
    # Write it back the way a PyTorch user's h5py would (keys by name, no creation order).
    write_state_dict(os.path.join(d, spec["output"]), dict(sorted(arrays.items())),
                     {k: v for k, v in attrs.items() if k != "layout"}, force=True)


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    d = sys.argv[1]
    strict = os.environ.get("FAPSIM_REQUIRE_INTEROP") == "1"
    with open(os.path.join(d, "manifest.json")) as fh:
        manifest = json.load(fh)
    for entry in manifest["files"]:
        try:
            check_file(d, entry)
            if "kind" in entry:
                check_kind(d, entry)
        except Exception as e:  # report, keep checking the other files
            fail(f"{entry['file']}: {type(e).__name__}: {e}")
        check_h5dump(d, entry, strict)
    if "state_dict" in manifest:
        check_state_dict(d, manifest["state_dict"])
    print(f"checked {len(manifest['files'])} files with h5py {h5py.__version__}, numpy {np.__version__}: "
          f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
