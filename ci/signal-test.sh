#!/usr/bin/env bash
# Stops `mmapconf run` at random moments and counts what is left behind.
#
#   ci/signal-test.sh [BINARY] [RUNS]     (default: target/release/mmapconf, 50)
#
# RUNS runs each stopped by SIGTERM, SIGINT and SIGKILL at a random moment (0-600 ms in),
# then RUNS runs killed (SIGKILL) during the write of the report, after the last case.
# Counted: case processes still alive (tagged through an environment variable only our
# runs carry), work directories left (in a private TMPDIR and a private tmpfs directory,
# plus /dev/shm names carrying one of our runners' pids), and outputs that are truncated
# or of two different runs. SIGKILL must leave no process; the directories it cannot
# remove must be gone after the next run. Everything else must leave nothing. A kill inside
# the few renames of the output commit can leave report files of two runs (counted and
# printed; per-file renames cannot replace five files at one instant), which the next
# complete run must repair. Exits 1 on any leftover or truncated output, printing the
# figures either way.
set -euo pipefail
# Job control: background runs then get SIGINT's default action, not the SIG_IGN a
# non-interactive shell gives them, so SIGINT before the signal thread starts is not lost.
set -m
cd "$(dirname "$0")/.."

bin=${1:-target/release/mmapconf}
runs=${2:-50}
if [ "$bin" = target/release/mmapconf ]; then cargo build --release --quiet; fi
bin=$(realpath "$bin")

scratch=$(mktemp -d)
shm_base=""
if [ -d /dev/shm ] && [ "$(stat -f -c %T /dev/shm)" = tmpfs ]; then
  shm_base=$(mktemp -d /dev/shm/sigtest.XXXXXX)
fi
trap 'rm -rf "$scratch" ${shm_base:+"$shm_base"}' EXIT
export TMPDIR=$scratch/tmp
mkdir -p "$TMPDIR"
if [ -n "$shm_base" ]; then export MMAPCONF_TMPFS=$shm_base; fi
tag="sigtest-$$-$RANDOM"
pids_file=$scratch/pids
: >"$pids_file"

# Processes whose environment carries our tag: the runner and every case it forked.
tagged() { grep -las "MMAPCONF_SIGTEST=$tag" /proc/[0-9]*/environ 2>/dev/null | wc -l; }
# Work directories of our runs.
dirs_left() {
  local n=0 p
  n=$(find "$TMPDIR" ${shm_base:+"$shm_base"} -mindepth 1 -maxdepth 1 -name 'mmapconf-*' | wc -l)
  while read -r p; do
    n=$((n + $(find /dev/shm -maxdepth 1 -name "mmapconf-$p-*" 2>/dev/null | wc -l)))
  done <"$pids_file"
  echo "$n"
}
# Waits up to 2 s for our case processes to be gone; prints how many remain.
procs_after() {
  local i n
  for i in $(seq 1 40); do
    n=$(tagged)
    [ "$n" -eq 0 ] && break
    sleep 0.05
  done
  echo "$n"
}

start_run() { # start_run OUTDIR ERRFILE: sets $pid
  env MMAPCONF_SIGTEST="$tag" "$bin" run --out "$1" >/dev/null 2>"$2" &
  pid=$!
  echo "$pid" >>"$pids_file"
}

fail=0
declare -A left_procs left_dirs finished wrong_rc early
for sig in TERM INT KILL; do
  left_procs[$sig]=0; left_dirs[$sig]=0; finished[$sig]=0; wrong_rc[$sig]=0; early[$sig]=0
  case $sig in TERM) want=143 ;; INT) want=130 ;; KILL) want=137 ;; esac
  for i in $(seq 1 "$runs"); do
    start_run "$scratch/out-$sig" "$scratch/err"
    sleep "0.$(printf '%03d' $((RANDOM % 600)))"
    kill -s "$sig" "$pid" 2>/dev/null || true
    rc=0; { wait "$pid"; } 2>/dev/null || rc=$?
    if [ "$rc" -eq 0 ] || [ "$rc" -eq 1 ]; then
      finished[$sig]=$((finished[$sig] + 1))
    elif [ "$sig" != KILL ] && [ ! -s "$scratch/err" ]; then
      # Stopped before the signal thread existed, by the signal's default action; nothing
      # had been made yet.
      early[$sig]=$((early[$sig] + 1))
    elif [ "$rc" -ne "$want" ]; then
      wrong_rc[$sig]=$((wrong_rc[$sig] + 1))
      echo "SIG$sig run $i: exit $rc, not $want: $(tail -n 2 "$scratch/err")"
    fi
    if [ "$sig" != KILL ] && [ "$rc" -eq "$want" ] && [ -s "$scratch/err" ] && ! grep -q "was stopped by SIG$sig" "$scratch/err"; then
      wrong_rc[$sig]=$((wrong_rc[$sig] + 1))
      echo "SIG$sig run $i: no stop message: $(tail -n 1 "$scratch/err")"
    fi
    left_procs[$sig]=$((left_procs[$sig] + $(procs_after)))
    if [ "$sig" != KILL ]; then
      left_dirs[$sig]=$((left_dirs[$sig] + $(dirs_left)))
      # Count each leftover once.
      find "$TMPDIR" ${shm_base:+"$shm_base"} -mindepth 1 -maxdepth 1 -name 'mmapconf-*' -exec rm -rf {} +
    fi
  done
done
# SIGKILL cannot clean up; the next run removes what the dead runners left.
killed_dirs=$(dirs_left)
# A killed runner's cases die by PDEATHSIG a moment later, and until then hold its work
# dir's lock: the sweep of the next run must not race them.
: "$(procs_after)"  # in a subshell, as everywhere: its greps race exiting processes
start_run "$scratch/out-after" "$scratch/err"
rc=0; wait "$pid" || rc=$?
left_dirs[KILL]=$(dirs_left)

# Kills during the write: a complete report first, then runs killed after their last case.
total=$("$bin" list | wc -l)
out=$scratch/report
start_run "$out" "$scratch/err"
wait "$pid" || true
check_outputs() {
  python3 - "$1" <<'EOF'
import json, sys, xml.etree.ElementTree as ET
d = sys.argv[1]
bad = []
try:
    r = json.load(open(f"{d}/results.json"))
    m = json.load(open(f"{d}/merged.json"))
    ET.parse(f"{d}/junit.xml")
    html = open(f"{d}/report.html").read()
    md = open(f"{d}/report.md").read()
    if not html.rstrip().endswith("</html>"):
        bad.append("report.html truncated")
    if not md.endswith("\n") or "## " not in md:
        bad.append("report.md truncated")
    if r["finished_at"] != m["runs"][0]["finished_at"]:
        bad.append("results.json and merged.json are of different runs")
except Exception as e:
    bad.append(f"{type(e).__name__}: {e}")
print("; ".join(bad))
EOF
}
truncated=0; mixed=0; prev_ok=1; kills=0; finished_w=0; temps=0; attempts=0
while [ "$kills" -lt "$runs" ] && [ "$attempts" -lt $((runs * 5)) ]; do
  attempts=$((attempts + 1))
  start_run "$out" "$scratch/err"
  until grep -q "\[ *$total/$total\]" "$scratch/err" 2>/dev/null || ! kill -0 "$pid" 2>/dev/null; do
    sleep 0.01
  done
  sleep "0.$(printf '%03d' $((RANDOM % 100)))"
  kill -KILL "$pid" 2>/dev/null || true
  rc=0; { wait "$pid"; } 2>/dev/null || rc=$?
  if [ "$rc" -eq 137 ]; then kills=$((kills + 1)); else finished_w=$((finished_w + 1)); fi
  bad=$(check_outputs "$out")
  case $bad in
    "") ;;
    "results.json and merged.json are of different runs")
      # A kill inside the commit's renames (see harness/src/atomic.rs); counted once
      # per kill that made it, not again while a later killed run leaves it as it is.
      if [ "$prev_ok" = 1 ]; then mixed=$((mixed + 1)); echo "after a kill during the write: $bad"; fi ;;
    *) truncated=$((truncated + 1)); echo "after a kill during the write: $bad" ;;
  esac
  if [ -z "$bad" ]; then prev_ok=1; else prev_ok=0; fi
  temps=$((temps + $(find "$out" -name '.*.mmapconf-tmp-*' | wc -l)))
  procs=$(procs_after)
  left_procs[KILL]=$((left_procs[KILL] + procs))
done
# The next write removes the temporaries of killed writers (once their cases are gone).
: "$(procs_after)"  # in a subshell, as everywhere: its greps race exiting processes
start_run "$out" "$scratch/err"
wait "$pid" || true
temps_after=$(find "$out" -name '.*.mmapconf-tmp-*' | wc -l)
final_bad=$(check_outputs "$out")
left_dirs[KILL]=$((left_dirs[KILL] + $(dirs_left)))

for sig in TERM INT KILL; do
  printf 'SIG%-4s %d runs: %d finished before the signal, %d stopped before startup, %d wrong exit/message, %d case processes left, %d work dirs left\n' \
    "$sig" "$runs" "${finished[$sig]}" "${early[$sig]}" "${wrong_rc[$sig]}" "${left_procs[$sig]}" "${left_dirs[$sig]}"
done
echo "SIGKILL: $killed_dirs work dirs left by the killed runners, ${left_dirs[KILL]} after the next runs"
echo "kills during the write: $kills (and $finished_w runs that finished first): $truncated with a truncated or unreadable output, $mixed left report and results.json of different runs (a kill inside the renames of the commit), ${final_bad:-none} after the next complete run; $temps temporaries seen after the kills, $temps_after after the next write"
for sig in TERM INT KILL; do
  [ "${left_procs[$sig]}" -eq 0 ] && [ "${left_dirs[$sig]}" -eq 0 ] && [ "${wrong_rc[$sig]}" -eq 0 ] || fail=1
done
[ "$truncated" -eq 0 ] && [ -z "$final_bad" ] && [ "$temps_after" -eq 0 ] && [ "$kills" -ge "$runs" ] || fail=1
exit "$fail"
