#!/usr/bin/env bash
# Runs one fuzz target for a while, the way docs/reliability.md records it:
#   fuzz/run.sh <target> [seconds] [libFuzzer flags...]   e.g. fuzz/run.sh normalise 600
# (-fork=1 -ignore_crashes=1 as extra flags keeps going past a known crash.)
# Seeds fuzz/corpus/<target>/ (git-ignored) from the committed regression inputs and,
# for the JSON targets, from tests/fixtures/*.json, then runs one libFuzzer process,
# niced, on a stable toolchain (RUSTC_BOOTSTRAP=1 lets cargo-fuzz use its -Z flags).
set -euo pipefail
target=${1:?usage: fuzz/run.sh <target> [seconds] [libFuzzer flags...]}
seconds=${2:-300}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
corpus=fuzz/corpus/$target
mkdir -p "$corpus"
find tests/fuzz_regressions/"$target" -maxdepth 1 -type f -exec cp {} "$corpus"/ \;
dict=()
case $target in
normalise | redact)
    cp tests/fixtures/*.json "$corpus"/
    dict=(-dict=fuzz/dicts/webhook.dict)
    ;;
esac
RUSTC_BOOTSTRAP=1 nice -n 10 cargo fuzz run "$target" "$corpus" -- \
    -max_total_time="$seconds" -timeout=10 -print_final_stats=1 "${dict[@]}" "${@:3}"
