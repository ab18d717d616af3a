#!/usr/bin/env bash
# End-to-end test of `fapsim slurm` on a real one-node Slurm on localhost:
#   1. `fapsim slurm resilience` and `fapsim slurm reduce` on tiny inputs give the
#      same merged file as a local run with the same seeds;
#   2. one array task killed mid-run (scancel JOB_INDEX) is reported as failed,
#      `fapsim slurm resume` computes only the missing unit (finished unit files keep
#      their checksums and mtimes) and the final file still equals the local run.
# Starts the cluster (tools/slurm/local-cluster.sh; installs Slurm with apt if
# needed, so run as root) and stops it on exit unless it was already running.
#
#   FAPSIM_BIN=.build/release/fapsim bash tools/slurm/ci.sh
#
# Environment: FAPSIM_BIN (default .build/release/fapsim), FAPSIM_SLURM_CI_STUB=1
# (use the contract stub Tests/CLITests/Fixtures/fake-units.sh even when the real
# commands exist), FAPSIM_SLURM_CI_WORK (scratch folder, default .build/slurm-ci),
# FAPSIM_SLURM_DIR (cluster state, default /tmp/fapsim-slurm).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
FAPSIM="$(realpath "${FAPSIM_BIN:-$ROOT/.build/release/fapsim}")"
[ -x "$FAPSIM" ] || { echo "ci.sh: $FAPSIM is not built (swift build -c release, or set FAPSIM_BIN)" >&2; exit 1; }
WORK="${FAPSIM_SLURM_CI_WORK:-$ROOT/.build/slurm-ci}"
STUB="$ROOT/Tests/CLITests/Fixtures/fake-units.sh"
t_start=$SECONDS

say() { echo "slurm-ci: $*" >&2; }
fail() { echo "slurm-ci: FAIL: $*" >&2; exit 1; }

# --- the cluster -------------------------------------------------------------
already=0
bash "$ROOT/tools/slurm/local-cluster.sh" status >/dev/null 2>&1 && already=1
cleanup() {
    local rc=$?
    if [ $already = 0 ]; then bash "$ROOT/tools/slurm/local-cluster.sh" stop || true; fi
    [ $rc = 0 ] || say "failed (exit $rc); scratch left in $WORK"
}
trap cleanup EXIT
t0=$EPOCHREALTIME
eval "$(bash "$ROOT/tools/slurm/local-cluster.sh" start)"   # exports SLURM_CONF
say "cluster up in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s (SLURM_CONF=$SLURM_CONF)"

rm -rf "$WORK"
mkdir -p "$WORK"
cd "$WORK"

# --- real commands or the stub ----------------------------------------------
# The help is read whole before grep looks at it: `fapsim ... --help | grep -q`
# under pipefail fails at random once the help outgrows one 4 KiB write (grep
# exits at the first match, fapsim's second write gets SIGPIPE), which once
# dropped this script into stub mode silently.
has_contract() { local help; help="$("$FAPSIM" "$1" --help 2>/dev/null)" && grep -q -- '--list-units' <<<"$help"; }
if [ "${FAPSIM_SLURM_CI_STUB:-0}" = 1 ]; then
    MODE=stub
elif has_contract resilience && has_contract reduce; then
    MODE=real
else
    fail "$FAPSIM resilience/reduce --help do not list --list-units (the unit contract); set FAPSIM_SLURM_CI_STUB=1 to test the driver with the stub"
fi
say "mode: $MODE"

# LOCAL_EXE is what a local run calls; DRIVER_OPTS point fapsim slurm at it.
if [ $MODE = stub ]; then
    LOCAL_EXE="$STUB"
    # One node: its /tmp is the only "shared" filesystem, and CI may clone under /tmp.
    DRIVER_OPTS=(--fapsim "$STUB" --allow-local-fs)
    RES_ARGS=(--units-total 6 --seed 11 --sleep 0.3)
    RED_ARGS=(--units-total 5 --seed 12 --sleep 0.3)
    KILL_ARGS=(--units-total 4 --seed 13 --sleep 4)
    EXT=txt
    same() { cmp "$1" "$2" && say "$2 equals $1"; }
else
    LOCAL_EXE="$FAPSIM"
    DRIVER_OPTS=(--allow-local-fs)
    # shellcheck source=tools/slurm/ci-inputs.sh
    source "$ROOT/tools/slurm/ci-inputs.sh"   # makes tiny inputs, sets RES_ARGS, RED_ARGS, KILL_ARGS, KILL_CMD
    EXT=h5
    same() { python3 "$ROOT/tools/slurm/h5same.py" "$1" "$2"; }
fi
KILL_CMD="${KILL_CMD:-resilience}"

mkdir -p local slurm kill

# --- 0. a partition that does not exist: one line, before anything is written
if "$FAPSIM" slurm reduce "${DRIVER_OPTS[@]}" --partition no-such-partition -- "${RED_ARGS[@]}" --out slurm/none.$EXT 2> slurm/partition.err; then
    fail "--partition no-such-partition was accepted"
fi
grep -q "no-such-partition: no such partition on this cluster (sinfo lists: debug)" slurm/partition.err \
    || fail "unexpected error for a missing partition: $(cat slurm/partition.err)"
[ "$(wc -l < slurm/partition.err)" = 1 ] || fail "the partition error is not one line: $(cat slurm/partition.err)"
[ ! -e slurm/none.$EXT.slurm ] || fail "a job dir was written although the partition does not exist"
say "missing partition refused: $(cat slurm/partition.err)"

# --- 1. slurm run == local run ----------------------------------------------
for cmd in resilience reduce; do
    if [ $cmd = resilience ]; then args=("${RES_ARGS[@]}"); else args=("${RED_ARGS[@]}"); fi
    t0=$EPOCHREALTIME
    "$LOCAL_EXE" $cmd "${args[@]}" --out "local/$cmd.$EXT" --quiet
    t_local=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
    t0=$EPOCHREALTIME
    "$FAPSIM" slurm $cmd "${DRIVER_OPTS[@]}" --poll-seconds 1 --cpus-per-task 1 --json -- \
        "${args[@]}" --out "slurm/$cmd.$EXT" > "slurm/$cmd.json"
    t_slurm=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
    grep -q '"status" : "merged"' "slurm/$cmd.json" || fail "fapsim slurm $cmd: no merged status in slurm/$cmd.json"
    same "local/$cmd.$EXT" "slurm/$cmd.$EXT" || fail "fapsim slurm $cmd: merged file differs from the local run"
    units=$(python3 -c "import json; print(json.load(open('slurm/$cmd.json'))['units'])")
    say "$cmd: $units units, local ${t_local} s, slurm ${t_slurm} s (submit + follow + merge)"
done

# --- 2. kill one task, resume ------------------------------------------------
out="kill/$KILL_CMD.$EXT"
"$LOCAL_EXE" $KILL_CMD "${KILL_ARGS[@]}" --out "local/kill-$KILL_CMD.$EXT" --quiet
set +e
"$FAPSIM" slurm $KILL_CMD "${DRIVER_OPTS[@]}" --poll-seconds 1 --cpus-per-task 1 --max-parallel 1 -- \
    "${KILL_ARGS[@]}" --out "$out" > kill/driver.out 2> kill/driver.err &
driver=$!
set -e
state="$out.slurm/state.json"
# Wait until a unit is done and another is running, then cancel the running one.
victim="" deadline=$((SECONDS + 300))
while [ -z "$victim" ]; do
    [ $SECONDS -lt $deadline ] || fail "no running task to cancel within 300 s"
    kill -0 $driver 2>/dev/null || fail "the driver ended before a task could be cancelled: $(tail -3 kill/driver.err)"
    sleep 0.5
    [ -f "$state" ] || continue
    job=$(python3 -c "import json; s = json.load(open('$state')); print(s['job_ids'][-1] if s['job_ids'] else '')")
    [ -n "$job" ] || continue
    ndone=$("$LOCAL_EXE" $KILL_CMD "${KILL_ARGS[@]}" --out "$out" --list-units --json | python3 -c "import json, sys; print(len(json.load(sys.stdin)['done']))")
    [ "$ndone" -ge 1 ] || continue
    victim=$(squeue -h -r -j "$job" -t RUNNING -o '%K' | head -1)
done
say "cancelling task ${job}_${victim} while it runs"
scancel "${job}_${victim}"
set +e
wait $driver
rc=$?
set -e
[ $rc != 0 ] || fail "the driver exited 0 although task $victim was cancelled"
grep -q "unit $victim failed (CANCELLED" kill/driver.err || fail "the driver did not report unit $victim as cancelled: $(cat kill/driver.err)"
grep -q "fapsim slurm resume --job-dir" kill/driver.err || fail "the driver's error does not say how to resume"
say "driver reported: $(grep "unit $victim failed" kill/driver.err)"
say "driver error: $(tail -1 kill/driver.err)"

# Merge refuses the incomplete set and names what is missing.
if "$LOCAL_EXE" $KILL_CMD "${KILL_ARGS[@]}" --out "$out" --merge-only 2> kill/merge.err; then
    fail "--merge-only succeeded with unit $victim missing"
fi
say "merge of the incomplete set refused: $(tail -1 kill/merge.err)"

# Every finished unit file: name, mtime, size, checksum. The cancelled unit's
# epoch checkpoint (unit-<i>.checkpoint, there when the cancel came after
# its first epoch) is not finished work: the resume continues from it and
# removes it.
snapshot() {
    python3 - "$out.work" <<'EOF'
import hashlib, os, sys
root = sys.argv[1]
for name in sorted(os.listdir(root)):
    p = os.path.join(root, name)
    if name.startswith(".") or ".checkpoint" in name or not os.path.isfile(p):
        continue
    st = os.stat(p)
    print(name, st.st_mtime_ns, st.st_size, hashlib.md5(open(p, "rb").read()).hexdigest())
EOF
}
snapshot > kill/before.txt
missing_before=$("$LOCAL_EXE" $KILL_CMD "${KILL_ARGS[@]}" --out "$out" --list-units --json | python3 -c "import json, sys; print(json.load(sys.stdin)['missing'])")
say "units missing before resume: $missing_before ($(wc -l < kill/before.txt) unit files done)"
"$FAPSIM" slurm resume --job-dir "$out.slurm" --poll-seconds 1 --json > kill/resume.json 2> kill/resume.err \
    || fail "fapsim slurm resume failed: $(tail -3 kill/resume.err)"
snapshot > kill/after.txt
# Nothing finished before the resume was rewritten.
missing_lines=$(comm -23 kill/before.txt kill/after.txt)
[ -z "$missing_lines" ] || fail "unit files finished before resume changed: $missing_lines"
resubmitted=$(python3 -c "import json; s = json.load(open('$state')); print(s['submissions'][-1]['array'])")
expected=$(python3 -c "print(','.join(str(i) for i in $missing_before))")
# The resume's array holds exactly the units that were missing (compressed form allowed).
python3 - "$resubmitted" "$missing_before" <<'EOF' || fail "resume submitted units $resubmitted, expected $expected"
import sys
spec, missing = sys.argv[1].split("%")[0], eval(sys.argv[2])
got = []
for part in spec.split(","):
    a, _, b = part.partition("-")
    got += list(range(int(a), int(b or a) + 1))
sys.exit(0 if got == missing else 1)
EOF
same "local/kill-$KILL_CMD.$EXT" "$out" || fail "the resumed result differs from the local run"
say "resume submitted only units $resubmitted; $(wc -l < kill/before.txt) finished unit files unchanged"

say "PASS ($MODE mode) in $((SECONDS - t_start)) s"
