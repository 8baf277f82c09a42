#!/usr/bin/env bash
# Runs a WebRTC crash repro RUNS times and counts native crashes; for each crash it keeps the
# core dump's backtrace (gdb; the crashing thread is printed) and any fatal-error report.
#   bash test/bench/wrtc-crash-loop.sh [runs=20] [arg=30] [impl=roamhq|ndc] [outdir] [script]
# script: wrtc-crash.mjs (the default; arg = seconds of random close orders) or
# wrtc-crash-min.mjs (arg = pairs).
set -u
runs=${1:-20}
seconds=${2:-30}
impl=${3:-roamhq}
out=${4:-$(mktemp -d)}
script=${5:-wrtc-crash.mjs}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
ulimit -c unlimited
crashes=0
for i in $(seq 1 "$runs"); do
  dir="$out/run-$i"
  mkdir -p "$dir"
  (cd "$dir" && exec node --expose-gc --report-on-fatalerror --report-directory="$dir" \
    "$here/$script" "$seconds" "$impl" >stdout.txt 2>stderr.txt)
  rc=$?
  core=$(ls "$dir"/core* 2>/dev/null | head -n 1)
  if [ "$rc" -ne 0 ] || [ -n "$core" ] || ls "$dir"/report.*.json >/dev/null 2>&1; then
    crashes=$((crashes + 1))
    echo "run $i: exit $rc $(tail -c 300 "$dir/stderr.txt" | tr '\n' ' ')"
    if [ -n "$core" ]; then
      gdb -batch -ex 'bt 12' -ex 'thread apply all bt 25' "$(command -v node)" "$core" >"$dir/backtrace.txt" 2>&1
      grep -m 6 -E '^#' "$dir/backtrace.txt" | sed 's/^/    /'
      rm -f "$core"
    fi
  else
    echo "run $i: ok $(cat "$dir/stdout.txt")"
  fi
done
echo "{\"script\":\"$script\",\"impl\":\"$impl\",\"runs\":$runs,\"seconds\":$seconds,\"crashes\":$crashes,\"out\":\"$out\"}"
