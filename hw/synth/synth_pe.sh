#!/usr/bin/env bash
# Area of the PE from the RTL: Yosys (Debian's 0.23) synthesizes fap_pe in its
# variants to generic gates and prints each one's cell count and its ratio to
# the FAP PE (docs/mitigations.md quotes the table), then the array-level cost
# of column-groups spares on a 256x256 array.
#
#   usage: hw/synth/synth_pe.sh [--check [FILE] | --write [FILE]]
#                                          (needs: apt-get install -y yosys bc python3)
#
#   (none), --check [FILE]  synthesize, print the table, and compare with the
#                           committed cell counts FILE (default
#                           hw/synth/pe-cells.json, what `fapsim mitigate compare`
#                           reads): exit 1 with one line when a variant's cells
#                           differ by more than the file's tolerance_cells or its
#                           flip-flops differ at all (check_pe_cells.py)
#   --write [FILE]          synthesize and (re)write FILE (default hw/synth/pe-cells.json)
#
# Variants (single-buffered, int8 x int8 -> int32, no test-only stuck-at):
#   nobypass      fap_pe with BYPASS_MUX=0: no FAP bypass at all       (pe_nobypass)
#   fap           fap_pe as the array instantiates it (the FAP bypass) (pe_fap)
#   rowcol-reg    row/column bypass as fapsim models it:               (pe_rowcol_reg)
#                 bypass = fault | row_off | col_off
#   rowcol-wire   a zero-latency pass-through of switched-off lines    (pe_rowcol_wire)
#   spare-host-gG an array PE of fap_spare_array with groups of G:     (pe_spare_host, G = 4, 16, 32)
#                 the FAP PE plus its select compare and 2:1 output mux
#   spare-gG      a spare PE with its G:1 input muxes (fap_spare_pe)   (pe_spare, G = 4, 16, 32)
# (wrappers in hw/synth/pe_variants.sv, so every variant gets its parameters the same way)
# Gate library: abc -g AND,NAND,OR,NOR,XOR,XNOR,MUX (plus Yosys's flip-flops).
# Every variant reads the same files, and synth runs with -noalumacc: with
# alumacc, Yosys merges the PE's multiply and add into one $macc whose mapping
# depended on which files had been read (the same fap_pe came out at 666 or
# 1,068 cells); without it the multiplier and the adder map on their own and
# the counts move by a few cells at most (docs/mitigations.md, "Area from the RTL").
# Exit status 0 only if every variant synthesized and the table is consistent:
# the FAP PE within 2% of the one without bypass (FAP adds one input to an AND;
# ABC's structural choices move a count by a few cells either way), and every
# spare-host and spare PE no smaller than the FAP PE.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RTL="$(dirname "$HERE")/rtl"
MODE=check
CELLS_FILE="$HERE/pe-cells.json"
case "${1:-}" in
    "") ;;
    --check|--write) MODE=${1#--}; [ -n "${2:-}" ] && CELLS_FILE=$2 ;;
    *) echo "synth_pe.sh: unknown argument '$1' (expected --check [FILE] or --write [FILE])" >&2; exit 2 ;;
esac
# ABC's structural noise between runs of the same RTL was up to 9 cells
# (docs/mitigations.md, "Area from the RTL"); a real change to a PE moves more.
TOLERANCE_CELLS=12
command -v yosys >/dev/null || { echo "synth_pe.sh: yosys not found (apt-get install -y yosys)" >&2; exit 2; }
command -v bc >/dev/null || { echo "synth_pe.sh: bc not found (apt-get install -y bc)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "synth_pe.sh: python3 not found (apt-get install -y python3)" >&2; exit 2; }
if [ "$MODE" = check ] && [ ! -f "$CELLS_FILE" ]; then
    echo "synth_pe.sh --check: $CELLS_FILE: not found (write it with hw/synth/synth_pe.sh --write)" >&2; exit 1
fi
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

synth() {  # synth NAME TOP [G] -> "cells flops"
    local name=$1 top=$2 g=${3:-} chparam=""
    [ -n "$g" ] && chparam="chparam -set G $g $top"
    yosys -q -l "$WORK/$name.log" -p "
        read_verilog -sv $RTL/fap_pe.sv $RTL/fap_spare_pe.sv $HERE/pe_variants.sv
        $chparam
        synth -top $top -flatten -noalumacc
        abc -g AND,NAND,OR,NOR,XOR,XNOR,MUX
        opt_clean
        tee -q -o $WORK/$name.stat stat" >/dev/null
    local cells flops
    cells=$(grep -E '^ +Number of cells:' "$WORK/$name.stat" | awk '{print $4}')
    flops=$(grep -E '^ +\$_[A-Z]*DFF[A-Z0-9_]* +[0-9]+' "$WORK/$name.stat" | awk '{s += $2} END {print s + 0}')
    echo "$cells $flops"
}

GROUPS_SYNTH="4 16 32"
VARIANTS="nobypass fap rowcol-reg rowcol-wire"
for g in $GROUPS_SYNTH; do VARIANTS="$VARIANTS spare-host-g$g"; done
for g in $GROUPS_SYNTH; do VARIANTS="$VARIANTS spare-g$g"; done
declare -A CELLS FLOPS
for v in $VARIANTS; do
    case $v in
        spare-host-g*) r=$(synth "$v" pe_spare_host "${v#spare-host-g}") ;;
        spare-g*)      r=$(synth "$v" pe_spare "${v#spare-g}") ;;
        *)             r=$(synth "$v" "pe_$(echo "$v" | tr - _)") ;;
    esac
    CELLS[$v]=${r% *}; FLOPS[$v]=${r#* }
done
base=${CELLS[fap]}
printf '%-14s %8s %8s %8s %14s\n' variant cells flops logic "ratio_to_fap"
for v in $VARIANTS; do
    printf '%-14s %8d %8d %8d %14.4f\n' "$v" "${CELLS[$v]}" "${FLOPS[$v]}" $(( ${CELLS[$v]} - ${FLOPS[$v]} )) \
        "$(echo "${CELLS[$v]} / $base" | bc -l)"
done
# Array level, 256x256 with column-groups:G: every array PE is a spare-host PE,
# plus R x C/G spare PEs, against 65,536 FAP PEs (wiring not counted).
R=256; C=256
echo "array ${R}x${C}, column-groups: cells against $((R * C)) FAP PEs (PEs only, no wiring)"
for g in $GROUPS_SYNTH; do
    spares=$((R * C / g))
    total=$((R * C * ${CELLS[spare-host-g$g]} + spares * ${CELLS[spare-g$g]}))
    printf 'column-groups:%-3d %6d spares  %10d cells  ratio %.4f  (spare PEs alone: %.4f)\n' "$g" "$spares" "$total" \
        "$(echo "$total / ($R * $C * $base)" | bc -l)" "$(echo "$spares * ${CELLS[spare-g$g]} / ($R * $C * $base)" | bc -l)"
done
bad=0
diff=$(( ${CELLS[fap]} - ${CELLS[nobypass]} ))
[ "${CELLS[nobypass]}" -gt 0 ] && [ $(( (diff < 0 ? -diff : diff) * 50 )) -le "${CELLS[nobypass]}" ] || bad=1
for g in $GROUPS_SYNTH; do
    [ "${CELLS[spare-host-g$g]}" -ge "$base" ] && [ "${CELLS[spare-g$g]}" -ge "$base" ] || bad=1
done
if [ $bad = 1 ]; then echo "synth_pe.sh: inconsistent cell counts" >&2; exit 1; fi

# The data file fapsim reads (docs/mitigations.md, "Area in the comparison"):
# one entry per variant, with the tool and flow that produced it.
fresh="$WORK/pe-cells.json"
{
    echo '{'
    echo '  "content": "fapsim_pe_cells",'
    echo '  "version": 1,'
    echo "  \"tool\": \"$(yosys -V)\","
    echo '  "flow": "read_verilog -sv hw/rtl/fap_pe.sv hw/rtl/fap_spare_pe.sv hw/synth/pe_variants.sv; synth -top TOP -flatten -noalumacc; abc -g AND,NAND,OR,NOR,XOR,XNOR,MUX; opt_clean; stat (cells include flip-flops)",'
    echo '  "written_by": "hw/synth/synth_pe.sh --write",'
    echo "  \"tolerance_cells\": $TOLERANCE_CELLS,"
    echo '  "variants": {'
    n=0; total=$(echo $VARIANTS | wc -w)
    for v in $VARIANTS; do
        n=$((n + 1)); sep=,; [ $n = "$total" ] && sep=
        printf '    "%s": {"cells": %d, "flip_flops": %d, "logic": %d}%s\n' "$v" "${CELLS[$v]}" "${FLOPS[$v]}" \
            $(( ${CELLS[$v]} - ${FLOPS[$v]} )) "$sep"
    done
    echo '  }'
    echo '}'
} > "$fresh"
if [ "$MODE" = write ]; then
    cp "$fresh" "$CELLS_FILE.tmp.$$" && mv "$CELLS_FILE.tmp.$$" "$CELLS_FILE"
    echo "wrote $CELLS_FILE"
else
    python3 "$HERE/check_pe_cells.py" "$CELLS_FILE" "$fresh"
    echo "$CELLS_FILE agrees with this synthesis (cells within $TOLERANCE_CELLS, flip-flops equal)"
fi
