#!/usr/bin/env python3
"""Save a PyTorch model's state_dict as HDF5 in the layout fapsim imports.

Usage:
    python3 tools/pytorch_to_hdf5.py MODEL.pt OUT.h5 [--architecture vgg11]
        [--width 1.0] [--test-accuracy 0.867] [--notes TEXT] [--force]

MODEL.pt is either a saved state_dict (torch.save(model.state_dict(), ...)) or a
whole pickled model (its .state_dict() is used). OUT.h5 gets one dataset per
state_dict key at the root (float32 tensors, int64 scalar num_batches_tracked),
and root attributes layout="pytorch-state_dict", architecture, width and, when
given, test_accuracy and notes (docs/conventions.md §4; docs/hdf5-schema.md). fapsim
reads it with `WeightsFile.read` and `fapsim inspect OUT.h5` describes it.

Needs h5py and numpy; torch is only imported by main(), so the h5py part
(write_state_dict) can be used and tested without torch.
"""
import argparse
import os
import sys


def write_state_dict(path, arrays, attributes=None, force=False):
    """Write {key: numpy array} to `path` in the docs/conventions.md §4 layout.

    Floating tensors are stored as float32 and integer ones as int64 (as
    PyTorch's BN num_batches_tracked). The file is written beside `path` and
    renamed into place, so an interrupted run never leaves a partial file.
    """
    import h5py
    import numpy as np

    if os.path.exists(path) and not force:
        raise SystemExit(f"Error: {path}: already exists; pass --force to overwrite it")
    tmp = os.path.join(os.path.dirname(os.path.abspath(path)), f".{os.path.basename(path)}.tmp-{os.getpid()}")
    try:
        with h5py.File(tmp, "w") as f:
            f.attrs["layout"] = "pytorch-state_dict"
            for key, value in (attributes or {}).items():
                if value is not None:
                    f.attrs[key] = value
            for key, array in arrays.items():
                a = np.asarray(array)
                if a.dtype.kind == "f":
                    a = a.astype(np.float32)
                elif a.dtype.kind in "iub":
                    a = a.astype(np.int64)
                else:
                    raise SystemExit(f"Error: {path}: {key}: unsupported dtype {a.dtype}")
                f.create_dataset(key, data=a)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("model")
    p.add_argument("out")
    p.add_argument("--architecture", default="vgg11")
    p.add_argument("--width", type=float, default=1.0)
    p.add_argument("--test-accuracy", type=float)
    p.add_argument("--notes")
    p.add_argument("--force", action="store_true")
    args = p.parse_args(argv)

    try:
        import torch  # only needed here
    except ImportError:
        raise SystemExit("Error: this tool needs PyTorch (pip install torch)")

    obj = torch.load(args.model, map_location="cpu", weights_only=False)
    state = obj.state_dict() if hasattr(obj, "state_dict") else obj
    arrays = {k: v.detach().cpu().numpy() for k, v in state.items()}
    write_state_dict(args.out, arrays, {
        "architecture": args.architecture, "width": args.width,
        "test_accuracy": args.test_accuracy, "notes": args.notes,
    }, force=args.force)
    print(f"{args.out}: {len(arrays)} state_dict entries")


if __name__ == "__main__":
    sys.exit(main())
