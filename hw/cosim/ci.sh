#!/usr/bin/env bash
# RTL co-simulation CI: the Verilog array in hw/rtl against fapsim's
# register-level model, cycle by cycle and bit by bit.
#
#   usage: hw/cosim/ci.sh [PATH/TO/fapsim]      (or FAPSIM_BIN=... hw/cosim/ci.sh)
#   needs: apt-get install -y verilator iverilog ; pip install vcdvcd ; python3 >= 3.8
#
# Steps (each counts its cases; the last line is "N passed, M failed"):
#   1. lint + Icarus acceptance: verilator --lint-only -Wall, iverilog -g2012 compile
#      and one Icarus co-simulation
#   2. >= 50 random GEMMs (2x2 .. 16x16, single/double-buffered, shapes below/at/above
#      multiples of the array, fault rates 0..1, with and without a stuck-at bit,
#      every fifth mapped by FAM: operands written in slot order, RTL unchanged; another
#      fifth under row/column bypass: lines.txt drives the array's row_off/col_off; and
#      a fifth under column-groups spares: the FAP array on the effective map, and
#      hw/rtl/fap_spare_array.sv on the raw map + spares.txt, and again with the
#      repaired PEs' fault bits cleared):
#      `fapsim vectors` -> Verilator RTL -> every cycle's bottom outputs + cycle count,
#      and the same vectors through hw/cosim/refmodel.py (independent Python model);
#      n-outer and k-outer mapping orders; then the same GEMMs on Icarus
#   3. broken RTL (bypass mux inverted; switched-off lines blocking data instead of
#      passing it; the spare output mux ignoring its select) must be caught with a
#      first-mismatch report
#   4. RTL VCD (Verilator and Icarus) vs fapsim's VCD, independent reader (vcdvcd)
#   5. random per-edge stress (no controller): RTL vs refmodel.py
#   6. the alternative PE in hw/rtl/examples swapped in for fap_pe (6 GEMMs)
# Exit status 0 only if every case passed.
set -u
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
HW="$(dirname "$HERE")"
FAPSIM_BIN="${1:-${FAPSIM_BIN:-}}"
COUNT="${COSIM_COUNT:-50}"
PY="${PYTHON:-python3}"
export FAP_COSIM_BUILD="${FAP_COSIM_BUILD:-$HERE/build}"

passed=0; failed=0
note() { echo "== $*"; }
count() {  # count LOGFILE: add the RESULT line of a run_cosim.py step
    local line
    line=$(grep '^RESULT ' "$1" | tail -1)
    if [ -z "$line" ]; then failed=$((failed + 1)); echo "   (no RESULT line: counted as 1 failure)"; return; fi
    passed=$((passed + $(echo "$line" | awk '{print $3}')))
    failed=$((failed + $(echo "$line" | awk '{print $5}')))
}

if [ -z "$FAPSIM_BIN" ] || [ ! -x "$FAPSIM_BIN" ]; then
    echo "ci.sh: give the fapsim binary as the first argument or in FAPSIM_BIN (got '${FAPSIM_BIN}')" >&2
    echo "0 passed, 1 failed"; exit 2
fi
for tool in verilator iverilog vvp "$PY"; do
    command -v "$tool" >/dev/null || { echo "ci.sh: $tool not found (apt-get install -y verilator iverilog)" >&2; echo "0 passed, 1 failed"; exit 2; }
done
"$PY" -c "import vcdvcd" 2>/dev/null || { echo "ci.sh: python package vcdvcd missing (pip install vcdvcd)" >&2; echo "0 passed, 1 failed"; exit 2; }
echo "fapsim: $FAPSIM_BIN; $(verilator --version); $(iverilog -V 2>&1 | head -1)"
LOG="$(mktemp -d)"
t0=$(date +%s)

note "1. lint (Verilator -Wall, both policies, FAP and spare arrays) and Icarus -g2012"
ok=1
RTL_ALL=("$HW/rtl/fap_pe.sv" "$HW/rtl/fap_array_core.sv" "$HW/rtl/fap_array.sv" "$HW/rtl/fap_spare_pe.sv" "$HW/rtl/fap_spare_array.sv")
for db in 0 1; do
    for sg in 0 2; do
        verilator --lint-only -Wall --timing --top-module fap_tb -GROWS=3 -GCOLS=4 -GDOUBLE_BUFFERED=$db -GSPARE_GROUP=$sg \
            "${RTL_ALL[@]}" "$HW/tb/fap_tb.sv" > "$LOG/lint$db$sg.txt" 2>&1 || { ok=0; cat "$LOG/lint$db$sg.txt"; }
    done
    verilator --lint-only -Wall --top-module fap_array -GROWS=3 -GCOLS=4 -GDOUBLE_BUFFERED=$db \
        "$HW/rtl/fap_pe.sv" "$HW/rtl/fap_array_core.sv" "$HW/rtl/fap_array.sv" > "$LOG/lintarr$db.txt" 2>&1 || { ok=0; cat "$LOG/lintarr$db.txt"; }
    for g in 1 4; do
        verilator --lint-only -Wall --top-module fap_spare_array -GROWS=3 -GCOLS=4 -GGROUP=$g -GDOUBLE_BUFFERED=$db \
            "$HW/rtl/fap_pe.sv" "$HW/rtl/fap_array_core.sv" "$HW/rtl/fap_spare_pe.sv" "$HW/rtl/fap_spare_array.sv" > "$LOG/lintsp$db$g.txt" 2>&1 || { ok=0; cat "$LOG/lintsp$db$g.txt"; }
    done
done
if [ $ok = 1 ]; then passed=$((passed + 1)); echo "ok   lint clean"; else failed=$((failed + 1)); echo "FAIL lint"; fi
VEC="$LOG/icarus_vec"
cfg="$LOG/icarus.yaml"
printf 'name: ci-icarus\nrows: 4\ncols: 3\nweight_load: double-buffered\nclock_mhz: 700\ndatapath: int8\n' > "$cfg"
if "$FAPSIM_BIN" vectors --config "$cfg" --m 7 --k 9 --n 8 --fault-rate 0.3 --stuck-at 2,1,9,1 --seed 5 --out "$VEC" --no-vcd > "$LOG/ivec.txt" 2>&1; then
    "$PY" "$HERE/run_cosim.py" --fapsim "$FAPSIM_BIN" --sim icarus one "$VEC" 2>&1 | tee "$LOG/icarus.txt"; count "$LOG/icarus.txt"
else
    cat "$LOG/ivec.txt"; failed=$((failed + 1))
fi

note "2. $COUNT random GEMMs: fapsim vectors vs Verilator RTL (and refmodel.py)"
"$PY" "$HERE/run_cosim.py" --fapsim "$FAPSIM_BIN" batch --count "$COUNT" --seed "${COSIM_SEED:-1}" 2>&1 | tee "$LOG/batch.txt"; count "$LOG/batch.txt"

note "2b. the same $COUNT GEMMs on Icarus"
"$PY" "$HERE/run_cosim.py" --fapsim "$FAPSIM_BIN" --sim icarus batch --count "$COUNT" --seed "${COSIM_SEED:-1}" 2>&1 | tee "$LOG/batch_icarus.txt"; count "$LOG/batch_icarus.txt"

note "3. broken RTL (bypass mux inverted, row/column pass-through blocking, spare output mux ignoring its select) must be caught"
"$PY" "$HERE/run_cosim.py" --fapsim "$FAPSIM_BIN" broken 2>&1 | tee "$LOG/broken.txt"; count "$LOG/broken.txt"

note "4. VCD: RTL (Verilator, Icarus) vs fapsim"
"$PY" "$HERE/run_cosim.py" --fapsim "$FAPSIM_BIN" --sim both vcd 2>&1 | tee "$LOG/vcd.txt"; count "$LOG/vcd.txt"

note "5. random per-edge stress: RTL vs refmodel.py"
"$PY" "$HERE/run_cosim.py" --producer refmodel stress 2>&1 | tee "$LOG/stress.txt"; count "$LOG/stress.txt"

note "6. a user PE (hw/rtl/examples/fap_pe_alt.sv, written independently) dropped into the same flow"
"$PY" "$HERE/run_cosim.py" --fapsim "$FAPSIM_BIN" --pe "$HW/rtl/examples/fap_pe_alt.sv" batch --count 6 --arrays 4x4s,3x5d --seed 9 2>&1 | tee "$LOG/altpe.txt"; count "$LOG/altpe.txt"

echo "co-simulation CI took $(( $(date +%s) - t0 )) s"
rm -rf "$LOG"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
