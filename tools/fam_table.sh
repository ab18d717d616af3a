#!/usr/bin/env bash
# FAM against plain FAP on the pre-trained VGG11, no retraining: for every rate
# and map seed, `fapsim evaluate --json` under each mitigation on all 10,000
# CIFAR-10 test images (docs/hardware-model.md, "Measured on the pre-trained
# VGG11"). One JSON file per run under OUT, so an interrupted run resumes where
# it stopped; the table is printed from those files at the end.
#
#   tools/fam_table.sh [OUT]        (default OUT: fam-table)
#   RATES="0.1 0.2" SEEDS="1 2" MITIGATIONS="fap fam" tools/fam_table.sh OUT
#   FAM_ARGS="--fam-method columns --fam-saliency magnitude" tools/fam_table.sh OUT-columns
#
# FAM_ARGS (default: none, so evaluate's default FAM method and saliency) is
# passed to the FAM runs only; use one OUT per setting, as the files are named
# by rate, seed and mitigation alone.
# Needs a release build (swift build -c release) and ../shared (weights, CIFAR-10).
set -euo pipefail
out=${1:-fam-table}
fapsim=${FAPSIM:-.build/release/fapsim}
weights=${WEIGHTS:-../shared/models/vgg11_cifar10.h5}
rates=${RATES:-"0.01 0.05 0.1 0.2 0.3 0.5"}
seeds=${SEEDS:-"1 2 3"}
mitigations=${MITIGATIONS:-"fap fam"}
mkdir -p "$out"
for rate in $rates; do
  for seed in $seeds; do
    for m in $mitigations; do
      f="$out/rate${rate}-seed${seed}-${m}.json"
      [ -s "$f" ] && continue
      extra=()
      [ "$m" = fam ] && extra=(${FAM_ARGS:-})
      "$fapsim" evaluate --weights "$weights" --fault-rate "$rate" --seed "$seed" \
        --mitigation "$m" "${extra[@]}" --json --quiet > "$f.tmp"
      mv "$f.tmp" "$f"
      echo "done rate $rate seed $seed $m" >&2
    done
  done
done
python3 - "$out" <<'PY'
import json, glob, sys, collections
runs = collections.defaultdict(dict)
for f in sorted(glob.glob(sys.argv[1] + "/*.json")):
    r = json.load(open(f))
    runs[(round(r["fault_rate"], 4), r["seed"])][r["mitigation"]] = r
rates = sorted({k[0] for k in runs})
fams = {(v["fam"].get("fam_method", "columns"), v["fam"].get("fam_saliency", "magnitude")) for v in runs.values() if "fam" in v}
print("FAM: " + "; ".join("method %s, saliency %s" % f for f in sorted(fams)) + "\n")
print("| faulty PEs | maps | pruned weights | pruned \\|w\\|, FAP | pruned \\|w\\|, FAM | accuracy, FAP | accuracy, FAM | FAM - FAP |")
print("|---|---|---|---|---|---|---|---|")
for rate in rates:
    pairs = [v for k, v in sorted(runs.items()) if k[0] == rate and "fap" in v and "fam" in v]
    if not pairs: continue
    mean = lambda xs: sum(xs) / len(xs)
    pw = mean([p["fap"]["pruned_weight_share"] for p in pairs])
    sf = mean([p["fap"]["pruned_saliency_share"] for p in pairs])
    sm = mean([p["fam"]["pruned_saliency_share"] for p in pairs])
    af = [100 * p["fap"]["accuracy"] for p in pairs]
    am = [100 * p["fam"]["accuracy"] for p in pairs]
    per = lambda xs: " / ".join("%.2f" % x for x in xs)
    print("| %g%% | %d | %.2f%% | %.2f%% | %.2f%% | %.2f%% (%s) | %.2f%% (%s) | %+.2f |" % (
        100 * rate, len(pairs), 100 * pw, 100 * sf, 100 * sm, mean(af), per(af), mean(am), per(am), mean(am) - mean(af)))
PY
