#!/usr/bin/env bash
# Holds each run of a matrix (RUNS/<run-name>/results.json) against the expectations of
# its runtime, by run name: gvisor-* against expectations/gvisor.toml, qemu-user-7.2.*,
# qemu-user-10.0.* and uml-* (User-Mode Linux: no NX, so PROT_EXEC is not enforced, and
# Debian's build lacks KSM and THP) against theirs, every other run (real kernels: the
# host, qemu-system) against expectations/linux.toml, which lists nothing. Works on results alone, so it
# gates runs made in VMs or elsewhere. Prints one line per run and one per change.
# Usage: ci/gate.sh MMAPCONF_BINARY [RUNS (default reports/matrix/runs)]
# Exit status: 0 no run changed; 1 some run changed (an unlisted or different failure, or
# a listed case that passes now); 2 a file could not be read.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:?usage: ci/gate.sh MMAPCONF_BINARY [RUNS]}
runs=${2:-reports/matrix/runs}
status=0
for r in "$runs"/*/results.json; do
  name=$(basename "$(dirname "$r")")
  case $name in
    gvisor-*) exp=expectations/gvisor.toml ;;
    qemu-user-7.2.*) exp=expectations/qemu-user-7.2.toml ;;
    qemu-user-10.0.*) exp=expectations/qemu-user-10.0.toml ;;
    uml-*) exp=expectations/uml.toml ;;
    *) exp=expectations/linux.toml ;;
  esac
  set +e
  "$bin" gate --expectations "$exp" "$r"
  rc=$?
  set -e
  if [ "$rc" -gt "$status" ]; then status=$rc; fi
done
exit "$status"
