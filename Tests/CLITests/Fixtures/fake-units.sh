#!/usr/bin/env bash
# A stand-in for `fapsim resilience|reduce` that follows the unit contract
# `fapsim slurm` relies on (docs/cluster.md), for tests without the real commands:
#
#   fake-units.sh CMD ARGS --list-units --json   one JSON object: command, units, done, missing, out
#   fake-units.sh CMD ARGS --units LIST --quiet  computes those units into OUT.work/unit-<i>.txt (done ones skipped)
#   fake-units.sh CMD ARGS --merge-only          concatenates the units into OUT; missing units: one-line error
#   fake-units.sh CMD ARGS                       the whole local run (all units, then the merge)
#
# ARGS: --out FILE (required), --units-total N (default 6), --seed S (default 1),
#       --sleep SECONDS per unit (default 0), --fail-unit I (computing unit I fails).
set -euo pipefail

cmd="${1:?usage: fake-units.sh resilience|reduce ARGS}"
shift
out="" total=6 seed=1 sleep_s=0 fail_unit=-1 mode=run units="" json=0
while [ $# -gt 0 ]; do
    case "$1" in
        --out) out="$2"; shift ;;
        --out=*) out="${1#--out=}" ;;
        --units-total) total="$2"; shift ;;
        --seed) seed="$2"; shift ;;
        --sleep) sleep_s="$2"; shift ;;
        --fail-unit) fail_unit="$2"; shift ;;
        --list-units) mode=list ;;
        --merge-only) mode=merge ;;
        --units) mode=units; units="$2"; shift ;;
        --json) json=1 ;;
        --quiet|--force) ;;
        *) echo "Error: fake-units.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
[ -n "$out" ] || { echo "Error: --out: expected a file" >&2; exit 2; }
case "$cmd" in resilience|reduce) ;; *) echo "Error: unknown command $cmd" >&2; exit 2 ;; esac
work="$out.work"

unit_file() { echo "$work/unit-$1.txt"; }

expand() { # "0-2,5" -> "0 1 2 5"
    local part a b
    for part in ${1//,/ }; do
        if [[ "$part" == *-* ]]; then a="${part%-*}"; b="${part#*-}"; seq "$a" "$b"; else echo "$part"; fi
    done
}

compute() {
    local i=$1 f
    f="$(unit_file "$i")"
    [ -f "$f" ] && return 0   # a finished unit is never recomputed
    if [ "$i" -lt 0 ] || [ "$i" -ge "$total" ]; then echo "Error: --units: unit $i is outside 0..<$total" >&2; exit 2; fi
    [ "$i" = "$fail_unit" ] && { echo "Error: unit $i: simulated failure" >&2; exit 1; }
    sleep "$sleep_s"
    mkdir -p "$work"
    # Deterministic content from (command, seed, unit); written beside and renamed into place.
    printf '%s seed %s unit %s value %s\n' "$cmd" "$seed" "$i" "$(( (seed * 7919 + i * 104729) % 1000003 ))" > "$f.tmp.$$"
    mv "$f.tmp.$$" "$f"
}

missing_list() {
    local i
    for ((i = 0; i < total; i++)); do [ -f "$(unit_file "$i")" ] || echo "$i"; done
}

merge() {
    local missing
    missing="$(missing_list | paste -sd, -)"
    if [ -n "$missing" ]; then echo "Error: $out: cannot merge, units not done: $missing" >&2; exit 1; fi
    local i
    for ((i = 0; i < total; i++)); do cat "$(unit_file "$i")"; done > "$out.tmp.$$"
    mv "$out.tmp.$$" "$out"
}

case "$mode" in
    list)
        done_l="" miss_l=""
        for ((i = 0; i < total; i++)); do
            if [ -f "$(unit_file "$i")" ]; then done_l="$done_l${done_l:+, }$i"; else miss_l="$miss_l${miss_l:+, }$i"; fi
        done
        printf '{"command": "%s", "units": %s, "done": [%s], "missing": [%s], "out": "%s"}\n' "$cmd" "$total" "$done_l" "$miss_l" "$out"
        ;;
    units) for i in $(expand "$units"); do compute "$i"; done ;;
    merge) merge ;;
    run) for ((i = 0; i < total; i++)); do compute "$i"; done; merge ;;
esac
