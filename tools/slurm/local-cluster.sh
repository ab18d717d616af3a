#!/usr/bin/env bash
# A one-node Slurm "cluster" on localhost, for the `fapsim slurm` tests and for
# trying the feature on a workstation.
#
#   bash tools/slurm/local-cluster.sh start    # install (if needed), configure, start, wait for idle
#   bash tools/slurm/local-cluster.sh start --no-install   # fail instead of running apt-get
#   bash tools/slurm/local-cluster.sh status   # daemons, sinfo, squeue
#   bash tools/slurm/local-cluster.sh stop     # kill the daemons started by `start` (by recorded PID)
#   bash tools/slurm/local-cluster.sh env      # print `export SLURM_CONF=...`
#
# Everything (slurm.conf, the munge key and socket, spool directories, logs and
# PID files) lives in one directory: $FAPSIM_SLURM_DIR, default /tmp/fapsim-slurm.
# Needs root (slurmd runs jobs as the submitting user; SlurmUser=root).
#
# Environment:
#   FAPSIM_SLURM_DIR         state directory (default /tmp/fapsim-slurm)
#   FAPSIM_SLURM_NO_INSTALL  =1: never run apt-get, fail if the daemons are missing
#   FAPSIM_SLURM_TIMEOUT     seconds to wait for the node to become idle (default 90)
#   FAPSIM_SLURM_CTLD_PORT, FAPSIM_SLURM_D_PORT   ports (default 6817, 6818; change them
#                            if another Slurm runs on this machine)
#
# Debian bookworm ships Slurm 22.05, which has no auth/slurm, so a private munged
# (own key, own socket) authenticates. Without systemd or cgroups the plugins are
# the plain ones: proctrack/linuxproc, task/none, no accounting (so no sacct;
# follow jobs with squeue / scontrol / `sbatch --wait`).
# Measured on a 2-core Debian bookworm VM (docs/cluster.md): `start` from a fresh
# state directory, packages installed, takes 1.1-1.8 s until `sinfo` shows the
# node idle (the time is kept in $FAPSIM_SLURM_DIR/start-seconds); the apt
# install of the 8 packages added 7 s.
set -euo pipefail

DIR="${FAPSIM_SLURM_DIR:-/tmp/fapsim-slurm}"
TIMEOUT="${FAPSIM_SLURM_TIMEOUT:-90}"
CONF="$DIR/slurm.conf"

log() { echo "local-cluster: $*" >&2; }
die() { echo "local-cluster: error: $*" >&2; exit 1; }

pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
pid_of() { [ -f "$DIR/$1.pid" ] && cat "$DIR/$1.pid" || true; }

install_packages() {
    local missing=()
    command -v slurmctld >/dev/null 2>&1 || missing+=(slurmctld)
    command -v slurmd >/dev/null 2>&1 || missing+=(slurmd)
    command -v sbatch >/dev/null 2>&1 || missing+=(slurm-client)
    command -v munged >/dev/null 2>&1 || [ -x /usr/sbin/munged ] || missing+=(munge)
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "${FAPSIM_SLURM_NO_INSTALL:-0}" = 1 ]; then
        die "missing ${missing[*]} and FAPSIM_SLURM_NO_INSTALL=1 (apt-get install slurmctld slurmd slurm-client munge)"
    fi
    [ "$(id -u)" = 0 ] || die "missing ${missing[*]}; run as root to install them"
    log "installing ${missing[*]} (apt-get)"
    local t0=$SECONDS
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
    log "installed in $((SECONDS - t0)) s"
}

munged_bin() { command -v munged 2>/dev/null || echo /usr/sbin/munged; }

write_config() {
    local host node_line cpus
    host="$(hostname -s)"
    # `slurmd -C` prints this machine's node line (CPUs, sockets, cores, memory).
    node_line="$(slurmd -C | head -1)"
    [[ "$node_line" == NodeName=* ]] || die "slurmd -C did not print a node line: $node_line"
    node_line="$(echo "$node_line" | sed -E "s/^NodeName=[^ ]+/NodeName=$host/")"
    cpus="$(echo "$node_line" | sed -nE 's/.*CPUs=([0-9]+).*/\1/p')"
    cat > "$CONF" <<EOF
# One-node Slurm for fapsim tests; written by tools/slurm/local-cluster.sh.
ClusterName=fapsim-local
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$DIR/munge/munge.socket
SlurmctldPort=${FAPSIM_SLURM_CTLD_PORT:-6817}
SlurmdPort=${FAPSIM_SLURM_D_PORT:-6818}
StateSaveLocation=$DIR/ctld
SlurmdSpoolDir=$DIR/d
SlurmctldPidFile=$DIR/slurmctld.pidfile
SlurmdPidFile=$DIR/slurmd.pidfile
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
ReturnToService=2
MpiDefault=none
InactiveLimit=0
KillWait=5
MinJobAge=300
Waittime=0
$node_line NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    echo "$cpus" > "$DIR/cpus"
}

start_munge() {
    local m="$DIR/munge"
    mkdir -p "$m"
    chmod 700 "$m"
    if [ ! -f "$m/munge.key" ]; then
        dd if=/dev/urandom of="$m/munge.key" bs=1 count=1024 status=none
        chmod 400 "$m/munge.key"
    fi
    # --force: the state dir may belong to root while munged checks ownership.
    "$(munged_bin)" --force --key-file="$m/munge.key" --socket="$m/munge.socket" \
        --pid-file="$m/munged.pid" --log-file="$DIR/log/munged.log" --seed-file="$m/munge.seed" \
        >>"$DIR/log/munged.out" 2>&1
    # munged daemonizes itself and writes its pid file.
    for _ in $(seq 1 50); do [ -S "$m/munge.socket" ] && [ -s "$m/munged.pid" ] && break; sleep 0.1; done
    [ -S "$m/munge.socket" ] || die "munged did not start; see $DIR/log/munged.log"
    cp "$m/munged.pid" "$DIR/munged.pid"
}

cmd_start() {
    local t0
    t0=$EPOCHREALTIME
    if pid_alive "$(pid_of slurmctld)" && pid_alive "$(pid_of slurmd)"; then
        log "already running (state in $DIR)"
        echo "export SLURM_CONF=$CONF"
        return 0
    fi
    # A half-started cluster (one daemon dead) is stopped first.
    cmd_stop quiet || true
    install_packages
    mkdir -p "$DIR"/{ctld,d,log}
    write_config
    export SLURM_CONF="$CONF"
    start_munge
    # -D: foreground, so the PID we record is the daemon's; -i: ignore old state.
    slurmctld -D -i -f "$CONF" >>"$DIR/log/slurmctld.out" 2>&1 &
    echo $! > "$DIR/slurmctld.pid"
    slurmd -D -f "$CONF" >>"$DIR/log/slurmd.out" 2>&1 &
    echo $! > "$DIR/slurmd.pid"
    local deadline=$((SECONDS + TIMEOUT)) state=""
    while :; do
        state="$(sinfo -h -p debug -o '%t' 2>/dev/null | head -1 || true)"
        case "$state" in idle|idle*|mix*) break ;; esac
        pid_alive "$(pid_of slurmctld)" || die "slurmctld exited; see $DIR/log/slurmctld.log"
        pid_alive "$(pid_of slurmd)" || die "slurmd exited; see $DIR/log/slurmd.log"
        if [ $SECONDS -ge $deadline ]; then
            die "node not idle after ${TIMEOUT}s (state '${state:-none}'); see $DIR/log/slurmctld.log and slurmd.log"
        fi
        # A node that registered as down/drained (e.g. after an unclean stop) is resumed.
        case "$state" in down*|drain*) scontrol update nodename="$(hostname -s)" state=resume 2>/dev/null || true ;; esac
        sleep 0.2
    done
    local secs
    secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
    echo "$secs" > "$DIR/start-seconds"
    log "node $(hostname -s) idle in partition debug after ${secs}s ($(cat "$DIR/cpus") CPUs); state in $DIR"
    echo "export SLURM_CONF=$CONF"
}

kill_pidfile() {
    local name=$1 pid
    pid="$(pid_of "$name")"
    if pid_alive "$pid"; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do pid_alive "$pid" || break; sleep 0.1; done
        pid_alive "$pid" && kill -9 "$pid" 2>/dev/null || true
        [ "${2:-}" = quiet ] || log "stopped $name ($pid)"
    fi
    rm -f "$DIR/$name.pid"
}

cmd_stop() {
    [ -d "$DIR" ] || { [ "${1:-}" = quiet ] || log "nothing to stop ($DIR does not exist)"; return 0; }
    # slurmd first so running job steps are torn down while slurmctld is still there.
    kill_pidfile slurmd "${1:-}"
    kill_pidfile slurmctld "${1:-}"
    kill_pidfile munged "${1:-}"
}

cmd_status() {
    local rc=0
    for d in munged slurmctld slurmd; do
        local pid
        pid="$(pid_of $d)"
        if pid_alive "$pid"; then echo "$d: running (pid $pid)"; else echo "$d: not running"; rc=1; fi
    done
    if [ $rc = 0 ]; then
        export SLURM_CONF="$CONF"
        sinfo
        squeue
        echo "export SLURM_CONF=$CONF"
    fi
    return $rc
}

case "${1:-}" in
    start)
        [ "${2:-}" = --no-install ] && export FAPSIM_SLURM_NO_INSTALL=1
        cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    env) echo "export SLURM_CONF=$CONF" ;;
    *) echo "usage: $0 start|stop|status|env   (state in \$FAPSIM_SLURM_DIR, default /tmp/fapsim-slurm)" >&2; exit 2 ;;
esac
