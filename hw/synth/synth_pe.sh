#!/usr/bin/env bash
# Area of the PE from the RTL: Yosys (Debian's 0.23) synthesizes fap_pe in its
# variants to generic gates and prints each one's cell count and its ratio to
# the FAP PE (docs/mitigations.md quotes the table).
#
#   usage: hw/synth/synth_pe.sh            (needs: apt-get install -y yosys)
#
# Variants (single-buffered, int8 x int8 -> int32, no test-only stuck-at):
#   nobypass      fap_pe with BYPASS_MUX=0: no FAP bypass at all       (pe_nobypass)
#   fap           fap_pe as the array instantiates it (the FAP bypass) (pe_fap)
#   rowcol-reg    row/column bypass as fapsim models it:               (pe_rowcol_reg)
#                 bypass = fault | row_off | col_off
#   rowcol-wire   a zero-latency pass-through of switched-off lines    (pe_rowcol_wire)
# (wrappers in hw/synth/pe_variants.sv, so every variant gets its parameters the same way)
# Gate library: abc -g AND,NAND,OR,NOR,XOR,XNOR,MUX (plus Yosys's flip-flops).
# Exit status 0 only if every variant synthesized and the table is consistent
# (the FAP PE is no smaller than the one without bypass).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RTL="$(dirname "$HERE")/rtl"
command -v yosys >/dev/null || { echo "synth_pe.sh: yosys not found (apt-get install -y yosys)" >&2; exit 2; }
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

synth() {  # synth NAME TOP -> "cells flops"
    local name=$1 top=$2
    yosys -q -l "$WORK/$name.log" -p "
        read_verilog -sv $RTL/fap_pe.sv $HERE/pe_variants.sv
        synth -top $top -flatten
        abc -g AND,NAND,OR,NOR,XOR,XNOR,MUX
        opt_clean
        tee -q -o $WORK/$name.stat stat" >/dev/null
    local cells flops
    cells=$(grep -E '^ +Number of cells:' "$WORK/$name.stat" | awk '{print $4}')
    flops=$(grep -E '^ +\$_[A-Z]*DFF[A-Z0-9_]* +[0-9]+' "$WORK/$name.stat" | awk '{s += $2} END {print s + 0}')
    echo "$cells $flops"
}

declare -A CELLS FLOPS
for v in nobypass fap rowcol-reg rowcol-wire; do
    r=$(synth $v "pe_$(echo $v | tr - _)")
    CELLS[$v]=${r% *}; FLOPS[$v]=${r#* }
done
base=${CELLS[fap]}
printf '%-12s %8s %8s %8s %14s\n' variant cells flops logic "ratio_to_fap"
for v in nobypass fap rowcol-reg rowcol-wire; do
    printf '%-12s %8d %8d %8d %14.4f\n' "$v" "${CELLS[$v]}" "${FLOPS[$v]}" $(( ${CELLS[$v]} - ${FLOPS[$v]} )) \
        "$(echo "${CELLS[$v]} / $base" | bc -l)"
done
if [ "${CELLS[fap]}" -lt "${CELLS[nobypass]}" ] || [ "${CELLS[nobypass]}" -le 0 ]; then
    echo "synth_pe.sh: inconsistent cell counts" >&2; exit 1
fi
