#!/bin/bash
# Alternating runs: today's binary (main), this branch adaptive, this branch --no-adaptive.
# usage: MAIN=old/nodefit MINE=new/nodefit scripts/bench-adaptive.sh SCENARIO PAIRS
#   SCENARIO fit: the disk under $W/fitdir as it is; t40: an ext4 loop device throttled to 40 write
#   IOPS (cgroup v1 blkio, scripts/throttled-disk.sh; root). Appends scenario,pair,who,seconds,exit,
#   verdict,time to $W/bench-SCENARIO.csv. See docs/bench.md.
sc=$1; pairs=$2
MAIN=${MAIN:?today's binary}; MINE=${MINE:?this branch's binary}; W=${W:-/tmp/nodefit-bench}
TD="$(dirname "$0")/throttled-disk.sh"
mkdir -p "$W"
out=$W/bench-$sc.csv
for p in $(seq 1 $pairs); do
  if [ $((p % 2)) = 1 ]; then order="main adaptive fixed"; else order="fixed adaptive main"; fi
  for who in $order; do
    case $who in main) bin=$MAIN; extra="";; adaptive) bin=$MINE; extra="";; fixed) bin=$MINE; extra="--no-adaptive";; esac
    od=$W/runs/$sc-$p-$who; rm -rf $od; mkdir -p $W/runs
    if [ $sc = t40 ]; then
      $TD up 40 t40 >/dev/null; dir=$W/t40/mnt; pre="$TD run t40"
    else
      dir=$W/fitdir; mkdir -p $dir; pre=""
    fi
    t0=$(date +%s.%N)
    $pre $bin qualify --quiet --directory $dir --output-dir $od $extra > $od.stdout 2>&1; rc=$?
    t1=$(date +%s.%N)
    [ $sc = t40 ] && $TD down t40
    v=$(python3 -c "import json;print(json.load(open('$od/result.json')).get('verdict'))" 2>/dev/null)
    echo "$sc,$p,$who,$(echo "$t1 - $t0" | bc),$rc,$v,$(date -u +%H:%M:%S)" | tee -a $out
  done
done
