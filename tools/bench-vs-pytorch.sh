#!/bin/bash
# fapsim against PyTorch on this machine, run alternately so both see the same
# load: training (forward + backward + SGD step, batch 128) and evaluation
# (PyTorch model.eval() under torch.no_grad(), batch 500; fapsim's functional
# engine, fault-free and under a FAP mask, im2col and Winograd), each with the
# same thread count. Prints every run's images/s and the median ratio
# fapsim / PyTorch per benchmark, plus the load average before and after.
#
#   tools/bench-vs-pytorch.sh [--install-torch] [--venv DIR] [--rounds N]
#                             [--threads T] [--fapsim PATH] [--json]
#
# PyTorch comes from a virtual environment (default .build/torch-venv, ignored
# by git). --install-torch creates it with `python3 -m venv` and installs torch
# from PyPI: a download of several GB, so never in CI. Without it, a missing
# torch is a one-line error.
# Build fapsim first: swift build -c release.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.build/torch-venv
rounds=3
threads=2
fapsim=.build/release/fapsim
install=0
json=0
fault_rate=0.1
infer_batch=500
infer_batches=4
train_batch=128
train_steps=5

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case "$1" in
        --install-torch) install=1 ;;
        --venv) venv=$2; shift ;;
        --rounds) rounds=$2; shift ;;
        --threads) threads=$2; shift ;;
        --fapsim) fapsim=$2; shift ;;
        --json) json=1 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "bench-vs-pytorch.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
case "$rounds$threads" in *[!0-9]*|"") echo "bench-vs-pytorch.sh: --rounds and --threads: expected positive integers" >&2; exit 2 ;; esac

if [ ! -x "$fapsim" ]; then
    echo "bench-vs-pytorch.sh: $fapsim: no fapsim binary (build with: swift build -c release)" >&2; exit 1
fi
if [ "$install" = 1 ] && [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
if [ "$install" = 1 ]; then
    "$venv/bin/pip" install --quiet torch
fi
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import torch' 2>/dev/null; then
    echo "bench-vs-pytorch.sh: $venv: no PyTorch there (run with --install-torch to install it from PyPI, several GB)" >&2
    exit 1
fi

torch_bench() {  # $1 = infer|train; prints images/s
    OMP_NUM_THREADS=$threads "$venv/bin/python" - "$1" "$threads" "$infer_batch" "$infer_batches" "$train_batch" "$train_steps" <<'PY'
import sys, time, torch, torch.nn as nn
mode, threads, ib, ibatches, tb, tsteps = sys.argv[1], *map(int, sys.argv[2:])
torch.set_num_threads(threads)
torch.manual_seed(1)
# VGG11 for CIFAR-10 as fapsim's VGG11Spec: 3x3 convs with BN and ReLU, 2x2 max-pools, one linear layer.
cfg = [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M']
layers, c = [], 3
for v in cfg:
    if v == 'M':
        layers.append(nn.MaxPool2d(2))
    else:
        layers += [nn.Conv2d(c, v, 3, padding=1), nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
        c = v
model = nn.Sequential(*layers, nn.Flatten(), nn.Linear(512, 10))
if mode == 'infer':
    model.eval()
    x = torch.randn(ib, 3, 32, 32)
    with torch.no_grad():
        model(x)
        t0 = time.perf_counter()
        for _ in range(ibatches):
            model(x)
        print(ib * ibatches / (time.perf_counter() - t0))
else:
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    loss_fn = nn.CrossEntropyLoss()
    x, y = torch.randn(tb, 3, 32, 32), torch.randint(0, 10, (tb,))
    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    step()
    t0 = time.perf_counter()
    for _ in range(tsteps):
        step()
    print(tb * tsteps / (time.perf_counter() - t0))
PY
}

fapsim_bench() {  # $1 = key; prints images/s
    local out key
    case "$1" in
        infer) out=$(FAPSIM_THREADS=$threads "$fapsim" bench infer --json --batch "$infer_batch" --batches "$infer_batches" --threads "$threads") ;;
        infer_fap) out=$(FAPSIM_THREADS=$threads "$fapsim" bench infer --json --batch "$infer_batch" --batches "$infer_batches" --threads "$threads" --fault-rate "$fault_rate") ;;
        infer_winograd) out=$(FAPSIM_THREADS=$threads "$fapsim" bench infer --json --batch "$infer_batch" --batches "$infer_batches" --threads "$threads" --conv-algorithm winograd) ;;
        infer_winograd_fap) out=$(FAPSIM_THREADS=$threads "$fapsim" bench infer --json --batch "$infer_batch" --batches "$infer_batches" --threads "$threads" --conv-algorithm winograd --fault-rate "$fault_rate") ;;
        train) out=$(FAPSIM_THREADS=$threads "$fapsim" bench train --batch "$train_batch" --steps "$train_steps") ;;
    esac
    case "$1" in train) key=train_images_per_s ;; *) key=infer_images_per_s ;; esac
    python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$out" "$key"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for r in $(seq 1 "$rounds"); do
    # Alternate: each fapsim figure is taken right next to the PyTorch one it is divided by.
    ti=$(torch_bench infer);  echo "round $r torch_infer $ti" >&2;  echo "torch_infer $ti" >> "$results"
    for k in infer infer_fap infer_winograd infer_winograd_fap; do
        v=$(fapsim_bench $k); echo "round $r fapsim_$k $v" >&2; echo "fapsim_$k $v" >> "$results"
    done
    tt=$(torch_bench train);  echo "round $r torch_train $tt" >&2;  echo "torch_train $tt" >> "$results"
    v=$(fapsim_bench train);  echo "round $r fapsim_train $v" >&2;  echo "fapsim_train $v" >> "$results"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$results" "$json" "$threads" "$rounds" "$load_before" "$load_after" "$("$venv/bin/python" -c 'import torch; print(torch.__version__)')" <<'PY'
import json, statistics, sys
path, as_json, threads, rounds, before, after, version = sys.argv[1:]
runs = {}
for line in open(path):
    k, v = line.split()
    runs.setdefault(k, []).append(float(v))
med = {k: statistics.median(v) for k, v in runs.items()}
# Ratio per round (fapsim run beside the PyTorch run of the same round), then the median.
def ratio(f, t):
    return statistics.median(a / b for a, b in zip(runs[f], runs[t]))
ratios = {
    'infer': ratio('fapsim_infer', 'torch_infer'),
    'infer_fap_mask': ratio('fapsim_infer_fap', 'torch_infer'),
    'infer_winograd': ratio('fapsim_infer_winograd', 'torch_infer'),
    'infer_winograd_fap_mask': ratio('fapsim_infer_winograd_fap', 'torch_infer'),
    'train': ratio('fapsim_train', 'torch_train'),
}
out = {'torch_version': version, 'threads': int(threads), 'rounds': int(rounds),
       'loadavg_before': before, 'loadavg_after': after,
       'median_images_per_s': med, 'runs_images_per_s': runs, 'ratio_fapsim_over_torch': ratios}
if as_json == '1':
    print(json.dumps(out, indent=2, sort_keys=True))
else:
    print(f"PyTorch {version}, {threads} threads, {rounds} alternating rounds; load average {before} before, {after} after")
    for k in sorted(med):
        print(f"  {k:28s} {med[k]:8.1f} images/s (median)")
    for k, v in ratios.items():
        print(f"  ratio {k:22s} {v:5.2f}x")
PY
