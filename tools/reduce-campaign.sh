#!/usr/bin/env bash
# A whole Reduce campaign from one config file (campaigns/*.conf):
#   1. the weights: train VGG11 from scratch (train_epochs > 0) or use weights=FILE
#   2. a chip lot on the config's array
#   3. the fault-free baseline on the test subset, and targets just under it
#   4. Reduce step 1: resilience (rates x repeats x FAT epochs)
#   5. Reduce step 2: every chip's budget (max policy) for the campaign target
#   6. Reduce step 3: FAT on every chip under the Reduce and fixed policies; the report
# Every step resumes where a killed run stopped: rerun the same command.
# Usage: bash tools/reduce-campaign.sh campaigns/demo.conf   (needs `swift build -c release`)
set -euo pipefail
conf="${1:?usage: tools/reduce-campaign.sh CONFIG (e.g. campaigns/demo.conf)}"
[ -f "$conf" ] || { echo "Error: $conf: campaign config not found" >&2; exit 1; }
cd "$(dirname "$0")/.."
BIN="${FAPSIM_BIN:-.build/release/fapsim}"
SHARED="${FAPSIM_SHARED:-../shared}"
DATA="${FAPSIM_CIFAR_DIR:-$SHARED/datasets/cifar-10-batches-bin}"
[ -x "$BIN" ] || { echo "Error: $BIN not found; run swift build -c release first" >&2; exit 1; }
weights="" train_epochs=0 width=1.0
# shellcheck disable=SC1090
source "$conf"
for key in out config chips lot_seed lot_model rates repeats fat_epochs train_subset test_subset \
           targets_below_baseline campaign_target_index policies fixed seed; do
    [ -n "${!key:-}" ] || { echo "Error: $conf: $key: missing (see docs/reduce.md, campaign configs)" >&2; exit 1; }
done
OUT="${FAPSIM_OUT:-$out}"
mkdir -p "$OUT"
t0=$(date +%s)
step() { echo >&2; echo "== [$(( $(date +%s) - t0 )) s] $*" >&2; }

if [ "$train_epochs" -gt 0 ]; then
    weights="$OUT/vgg11-w$width.h5"
    step "1. train VGG11 width $width on the 50,000 CIFAR-10 training images ($train_epochs epochs, one-cycle, crop+flip)"
    [ -f "$weights" ] || "$BIN" train --data "$DATA" --width "$width" --epochs "$train_epochs" --out "$weights" --resume
else
    step "1. weights $weights"
    [ -f "$weights" ] || { echo "Error: $conf: weights: $weights not found" >&2; exit 1; }
fi

step "2. a lot of $chips chips on $config ($lot_model)"
# shellcheck disable=SC2086
"$BIN" lot generate --config "$config" --chips "$chips" --seed "$lot_seed" --model $lot_model --out "$OUT/lot.h5" --force

step "3. the network fault-free on the first $test_subset test images (the baseline the targets sit under)"
"$BIN" evaluate --weights "$weights" --data "$DATA" --limit "$test_subset" --json --quiet > "$OUT/baseline.json"
targets=$(python3 - "$OUT/baseline.json" "$targets_below_baseline" <<'PY'
import json, math, sys
b = json.load(open(sys.argv[1]))["accuracy"]
below = sorted((float(d) for d in sys.argv[2].split(",")), reverse=True)
# b - d rounded down to half a point, ascending, distinct
ts = sorted({math.floor((b - d) * 200) / 200 for d in below})
print(",".join("%.3f" % t for t in ts))
PY
)
target=$(echo "$targets" | cut -d, -f"$campaign_target_index")
echo "baseline accuracy $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["accuracy"])' "$OUT/baseline.json"); targets $targets; campaign target $target" >&2

step "4. Reduce step 1: resilience at rates $rates, $repeats fault maps each, $fat_epochs FAT epochs on $train_subset training images"
[ -f "$OUT/resilience.h5" ] || "$BIN" resilience --weights "$weights" --data "$DATA" --config "$config" --rates "$rates" \
    --repeats "$repeats" --epochs "$fat_epochs" --targets "$targets" --train-subset "$train_subset" \
    --test-subset "$test_subset" --seed "$seed" --out "$OUT/resilience.h5"

step "5. Reduce step 2: each chip's budget for target $target (conservative max policy)"
"$BIN" budget --resilience "$OUT/resilience.h5" --lot "$OUT/lot.h5" --target "$target" --policy max \
    --out "$OUT/budget.h5" --force

step "6. Reduce step 3: FAT on every chip under policies $policies and fixed $fixed epochs; the report"
[ -f "$OUT/campaign.h5" ] || "$BIN" reduce --weights "$weights" --data "$DATA" --lot "$OUT/lot.h5" \
    --resilience "$OUT/resilience.h5" --target "$target" --policies "$policies" --fixed "$fixed" \
    --train-subset "$train_subset" --test-subset "$test_subset" --seed "$seed" --out "$OUT/campaign.h5"
"$BIN" report --resilience "$OUT/resilience.h5" --campaign "$OUT/campaign.h5" --out "$OUT/report" --force

step "done in $(( $(date +%s) - t0 )) s: the report is $OUT/report/report.md"
