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
