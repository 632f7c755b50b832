#!/usr/bin/env bash
# Markdown for a run job's summary ($GITHUB_STEP_SUMMARY): the run's totals, then each
# failing case of a results.json with its observation (the failing steps, or the call's
# expected and observed outcome), so a red job says what to fix without its artifact.
# Usage: ci/summarize-failures.sh TITLE RESULTS.JSON   (needs jq; exit 2 if unreadable)
set -euo pipefail
title=$1 results=$2
command -v jq >/dev/null || { echo "error: jq is not installed" >&2; exit 2; }
if [[ ! -s $results ]]; then
  printf '### %s\n\nNo results.json: the suite did not run to the end (see the logs artifact).\n' "$title"
  exit 0
fi
jq -r --arg title "$title" '
  "### \($title)\n",
  ([.totals[] | "\(.[1]) \(.[0])"] | join(", ")) + "\n",
  (.cases[] | select(.verdict == "fail") |
    "- `\(.id)` (\(.file)): " +
    ([.steps[]? | select(.verdict == "fail")
        | "step \(.step) `\(.what)`: expected \(.expected), observed \(.observed)"] as $s
     | if ($s | length) > 0 then ($s | join("; "))
       else "`\(.call)`: expected \(.expected), observed \(.observed)" +
            (if (.message // "") != "" then " (\(.message))" else "" end)
       end))
' "$results" || { echo "error: $results is not a mmapconf results file" >&2; exit 2; }
