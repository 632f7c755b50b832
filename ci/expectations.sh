#!/usr/bin/env bash
# Rewrites expectations/*.toml from the committed matrix runs (reports/matrix/runs/), with
# `mmapconf expectations --from`: notes of entries that still match are kept, and every
# entry that no longer matches is named on stderr. Run it after the matrix changed on
# purpose; ci/gate.sh then says "no change" again.
# Usage: ci/expectations.sh MMAPCONF_BINARY [RUNS (default reports/matrix/runs)]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:?usage: ci/expectations.sh MMAPCONF_BINARY [RUNS]}
runs=${2:-reports/matrix/runs}
mkdir -p expectations
# write FILE RUNTIME GLOB: the file for the runs whose names match GLOB.
write() {
  local file=$1 runtime=$2 glob=$3 from=() r
  for r in "$runs"/$glob/results.json; do
    [ -e "$r" ] && from+=(--from "$r")
  done
  if [ ${#from[@]} -eq 0 ]; then
    echo "expectations: no run matches $glob: $file left as it is" >&2
    return
  fi
  "$bin" expectations --runtime "$runtime" "${from[@]}" --out "expectations/$file"
}
write gvisor.toml "gVisor (runsc 20221219.0 and 20240729.0; ptrace and systrap; root and rootless)" 'gvisor-*'
write qemu-user-7.2.toml "qemu-user 7.2 (x86_64 and aarch64 guests)" 'qemu-user-7.2.*'
write qemu-user-10.0.toml "qemu-user 10.0 (x86_64 and aarch64 guests)" 'qemu-user-10.0.*'
write uml.toml "User-Mode Linux (Debian 6.1 and trixie's 6.12, x86_64)" 'uml-*'
