#!/usr/bin/env bash
# Runs jest (native ESM) with the given arguments, then prints one plain closing line
# "jest: N passed, N failed, N skipped" that CI systems read, and exits with jest's status.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .cache
results=".cache/jest-results-$$.json"
node --experimental-vm-modules node_modules/jest/bin/jest.js --json --outputFile="$results" "$@"
status=$?
if [ -s "$results" ]; then
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const skipped = r.numPendingTests + r.numTodoTests;
    console.log(`jest: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
    if (r.numTotalTests === 0) { console.error("jest ran no test"); process.exit(1); }
    if (r.numRuntimeErrorTestSuites > 0) console.error(`${r.numRuntimeErrorTestSuites} suite(s) failed to run`);
  ' "$results" || status=1
  rm -f "$results"
else
  echo "jest: 0 passed, 1 failed (no results written)"
  status=1
fi
exit $status
