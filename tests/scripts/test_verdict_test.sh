#!/usr/bin/env bash
# scripts/test-verdict, the last line of `make test`: each case's line and status.
set -uo pipefail
verdict="$(dirname "$0")/../../scripts/test-verdict"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fails=0
check() {  # EXPECTED_LINE EXPECTED_STATUS CTEST_TEXT CTEST_STATUS FUZZ_TEXT FUZZ_STATUS
  printf '%b' "$3" >"$dir/ctest.log"
  printf '%b' "$5" >"$dir/fuzz.log"
  local got status
  got=$("$verdict" "$dir/ctest.log" "$4" "$dir/fuzz.log" "$6")
  status=$?
  if [[ $got != "$1" || $status != "$2" ]]; then
    echo "FAIL: expected '$1' ($2), got '$got' ($status)"
    fails=$((fails + 1))
  fi
}
ok='100% tests passed, 0 tests failed out of 12\n'
check 'make test: PASSED (12 tests, fuzzers ok)' 0 "$ok" 0 'fuzz: fuzz_parser for 10s\n' 0
check 'make test: PASSED (12 tests, fuzzers skipped: no clang++)' 0 "$ok" 0 'fuzz: clang++ not found, fuzzers skipped\n' 0
check 'make test: FAILED (12 tests, fuzzers FAILED)' 1 "$ok" 0 'fuzz: fuzz_parser FAILED\n' 1
check 'make test: FAILED (2 of 12 tests failed, fuzzers ok)' 1 '83% tests passed, 2 tests failed out of 12\n' 8 '' 0
check 'make test: FAILED (12 tests, ctest exited 8, fuzzers ok)' 1 "$ok" 8 '' 0
check 'make test: FAILED (ctest gave no summary, fuzzers ok)' 1 'No tests were found!!!\n' 0 '' 0
# The summary is found among ctest's other lines (the last one counts).
check 'make test: PASSED (3 tests, fuzzers ok)' 0 "1/3 Test #1: A ... Passed\n$ok\n100% tests passed, 0 tests failed out of 3\nTotal Test time\n" 0 '' 0
exit $((fails > 0))
