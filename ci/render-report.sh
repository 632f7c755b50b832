#!/usr/bin/env bash
# Renders a report page (report.html, written by `mmapconf run` or `mmapconf report`) to a
# PNG with headless Chromium, at a laptop's viewport, so a person can check the page the way
# a kernel developer sees it: red cells found within seconds, no sideways scrolling for a
# two-kernel report. Also prints the page's width against the viewport's, which must match.
# Usage: ci/render-report.sh REPORT.html OUT.png [WIDTHxHEIGHT | laptop | phone] [--full]
#   laptop is 1366x768 (the default), phone 390x844 (a current phone's CSS viewport).
# Needs: Debian's chromium (installed with apt-get when missing; root).
# Exit status: 0 rendered; 1 the page is wider than the viewport; 77 no Chromium.
set -euo pipefail
html=${1:?usage: ci/render-report.sh REPORT.html OUT.png [WIDTHxHEIGHT] [--full]}
png=${2:?usage: ci/render-report.sh REPORT.html OUT.png [WIDTHxHEIGHT] [--full]}
size=${3:-laptop}
full=${4:-}
case $size in
  laptop) size=1366x768 ;;
  phone) size=390x844 ;;
esac
w=${size%x*}
h=${size#*x}

if ! command -v chromium >/dev/null; then
  apt-get install -y chromium >/dev/null 2>&1 || { echo "render-report: no chromium (apt-get install chromium failed)"; exit 77; }
fi
# Flags: no sandbox as root; no GPU; and no background connections, which this machine's
# closed network refuses.
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
  --disable-background-networking --disable-component-update --disable-sync
  --hide-scrollbars --force-device-scale-factor=1)
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
url="file://$(realpath "$html")"

# The page's own width, measured on a scratch copy with one line of script added (the
# report itself has none): the script writes the document's scrollWidth into the DOM.
probe="$profile/probe.html"
# It also writes the viewport's own width: --dump-dom lays out no narrower than 500 px
# (Chromium's least window width), so a phone's page is measured against that.
sed 's#</body>#<script>document.body.setAttribute("data-scroll-width", document.documentElement.scrollWidth + "/" + window.innerWidth)</script></body>#' "$html" > "$probe"
measured=$(chromium "${flags[@]}" --user-data-dir="$profile" --window-size="$w,$h" \
  --dump-dom "file://$probe" 2>/dev/null | grep -o 'data-scroll-width="[0-9/]*"' | grep -o '[0-9/]*' || true)
scroll=${measured%/*}
inner=${measured#*/}
inner=${inner:-$w}

if [ "$full" = "--full" ]; then
  # Tall enough for the whole page (capped: Chromium limits a bitmap's size).
  h=16000
fi
chromium "${flags[@]}" --user-data-dir="$profile" --window-size="$w,$h" \
  --screenshot="$png" "$url" >/dev/null 2>&1
echo "render-report: $png (${w}x${h}) from $html; page width ${scroll:-unknown} px at a ${inner} px viewport"
if [ -n "$scroll" ] && [ "$scroll" -gt "$inner" ]; then
  echo "render-report: the page is wider than the viewport: it scrolls sideways"
  exit 1
fi
