#!/usr/bin/env python3
"""Load fapsim weights (or a docs/conventions.md §4 state_dict file) into PyTorch.

Usage:
    python3 tools/hdf5_to_pytorch.py WEIGHTS.h5 OUT.pt

WEIGHTS.h5 is either a fapsim weights file (schema "fapsim.weights": the tensors
are in the group /tensors) or a state_dict-in-HDF5 file (one dataset per key at
the root, e.g. from `fapsim` export or tools/pytorch_to_hdf5.py). OUT.pt gets a
state_dict for torch.load + model.load_state_dict(...). In your own code:

    from hdf5_to_pytorch import read_state_dict_arrays
    import torch
    arrays, attrs = read_state_dict_arrays("w.h5")
    state = {k: torch.as_tensor(v) for k, v in arrays.items()}
    model.load_state_dict(state)

Needs h5py and numpy; torch is only imported by main().
"""
import sys


def read_state_dict_arrays(path):
    """Return ({key: numpy array}, {attribute: value}) for either layout.

    Arrays keep their stored dtypes (float32 tensors, int64 counters); scalar
    num_batches_tracked come back as 0-d arrays, as torch stores them.
    """
    import h5py

    with h5py.File(path, "r") as f:
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
        schema = attrs.get("schema")
        if schema is not None and schema != "fapsim.weights":
            raise SystemExit(f"Error: {path}: is a {schema} file, expected fapsim.weights or a PyTorch state_dict")
        group = f["tensors"] if schema == "fapsim.weights" else f
        arrays = {k: group[k][()] for k in group.keys() if isinstance(group[k], h5py.Dataset)}
    if not arrays:
        raise SystemExit(f"Error: {path}: no tensors found")
    return arrays, attrs


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        import torch  # only needed here
    except ImportError:
        raise SystemExit("Error: this tool needs PyTorch (pip install torch)")

    arrays, attrs = read_state_dict_arrays(argv[0])
    state = {k: torch.as_tensor(v) for k, v in arrays.items()}
    torch.save(state, argv[1])
    print(f"{argv[1]}: {len(state)} state_dict entries ({attrs.get('architecture', 'unknown architecture')})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
