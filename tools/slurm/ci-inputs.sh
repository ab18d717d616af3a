# Sourced by tools/slurm/ci.sh when the real `fapsim resilience` / `fapsim reduce`
# exist: makes tiny inputs in the scratch folder (the current directory) and sets
# the argument lists. Needs FAPSIM, ROOT, say and fail from ci.sh.
#   RES_ARGS   fapsim resilience: 2 rates x 2 repeats = 4 units
#   RED_ARGS   fapsim reduce: 3 chips (reads local/resilience.h5, which ci.sh makes first)
#   KILL_ARGS  the run one task of is cancelled: 3 units, each long enough to be caught running
export FAPSIM_CIFAR_DIR="${FAPSIM_CIFAR_DIR:-$ROOT/../shared/datasets/cifar-10-batches-bin}"
[ -d "$FAPSIM_CIFAR_DIR" ] || fail "CIFAR-10 not found at $FAPSIM_CIFAR_DIR (set FAPSIM_CIFAR_DIR)"
CONFIG="$ROOT/hw-configs/small-8x8.yaml"
mkdir -p inputs
# A VGG11 at 1/8 width trained for one epoch on 256 images: FAT on it takes well under a second.
"$FAPSIM" train --width 0.125 --epochs 1 --train-subset 256 --test-subset 128 --train-seed 3 --out inputs/w.h5 --quiet >/dev/null
WEIGHTS=inputs/w.h5
KILL_IMAGES="${FAPSIM_SLURM_CI_KILL_IMAGES:-1536}"
"$FAPSIM" lot generate --config "$CONFIG" --chips 3 --seed 7 --model uniform --rate-range 0.02:0.2 --out inputs/lot.h5 >/dev/null
COMMON=(--weights "$WEIGHTS" --test-subset 64 --seed 5)
RES_ARGS=("${COMMON[@]}" --train-subset 64 --config "$CONFIG" --rates 0.05,0.2 --repeats 2 --epochs 1 --targets 0.02)
RED_ARGS=("${COMMON[@]}" --train-subset 64 --lot inputs/lot.h5 --resilience local/resilience.h5 --target 0.02 --policies max --fixed 1)
KILL_CMD=resilience
KILL_ARGS=("${COMMON[@]}" --train-subset "$KILL_IMAGES" --config "$CONFIG" --rates 0.05,0.1,0.2 --repeats 1
           --epochs 2 --targets 0.02)
say "inputs: weights $WEIGHTS, $KILL_IMAGES training images per unit of the cancelled run, lot inputs/lot.h5 (3 chips), config $CONFIG"
