#!/usr/bin/env python3
"""Are two fapsim HDF5 results files the same result?

    python3 tools/slurm/h5same.py A.h5 B.h5

Compares the tree (groups and datasets), every dataset's dtype, shape and
values (bit for bit; NaNs equal), and every attribute except those that record
where, when or how long a file was made (paths, timestamps, hosts, durations).
Exit 0 when equal; otherwise prints the first difference and exits 1.
"""
import re
import sys

import h5py
import numpy as np

# Attribute names that may differ between a local run and a Slurm run of the same thing.
IGNORED = re.compile(r"(path|file|dir|out|work|time|date|created|host|node|seconds|elapsed|wall|pid|job|slurm|command_line|argv)",
                     re.IGNORECASE)


def values_equal(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype.kind in "fc":
        return bool(np.array_equal(a, b, equal_nan=True))
    return bool(np.array_equal(a, b))


def attrs(obj):
    return {k: obj.attrs[k] for k in obj.attrs if not IGNORED.search(k)}


def compare(a, b, name="/"):
    if isinstance(a, h5py.Dataset) != isinstance(b, h5py.Dataset):
        return f"{name}: a dataset in one file and a group in the other"
    aa, ba = attrs(a), attrs(b)
    if set(aa) != set(ba):
        return f"{name}: attributes differ: {sorted(set(aa) ^ set(ba))}"
    for k in sorted(aa):
        if not values_equal(aa[k], ba[k]):
            return f"{name}: attribute {k}: {aa[k]!r} != {ba[k]!r}"
    if isinstance(a, h5py.Dataset):
        if a.dtype != b.dtype or a.shape != b.shape:
            return f"{name}: dtype/shape {a.dtype}{a.shape} != {b.dtype}{b.shape}"
        if not values_equal(a[()], b[()]):
            return f"{name}: values differ"
        return None
    if set(a.keys()) != set(b.keys()):
        return f"{name}: members differ: {sorted(set(a.keys()) ^ set(b.keys()))}"
    for k in sorted(a.keys()):
        d = compare(a[k], b[k], name.rstrip("/") + "/" + k)
        if d:
            return d
    return None


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with h5py.File(sys.argv[1], "r") as a, h5py.File(sys.argv[2], "r") as b:
        d = compare(a, b)
    if d:
        print(f"h5same: {sys.argv[1]} vs {sys.argv[2]}: {d}")
        return 1
    print(f"h5same: {sys.argv[1]} and {sys.argv[2]} hold the same result")
    return 0


if __name__ == "__main__":
    sys.exit(main())
