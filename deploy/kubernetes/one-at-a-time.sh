#!/usr/bin/env bash
# One-off qualification of several nodes, one after another, with kubectl: for each node, render
# its Job (render.sh --job), create it, and wait until it is Complete *or* Failed (an UNFIT node's
# Job fails: waiting for Complete alone would sit out the whole timeout), then the next node.
#
#   deploy/kubernetes/one-at-a-time.sh [--timeout-minutes 30] --image REGISTRY/nodefit:0.1.0 \
#       [other render.sh options] cp-1 cp-2 cp-3
#
# Prints one line per node (Complete/Failed/timed out) and exits 1 if any Job did not complete.
# Needs kubectl with access to the cluster (KUBECONFIG as usual). Exit 2 on bad input.
set -euo pipefail
die() { echo "one-at-a-time.sh: $*" >&2; exit 2; }

here=$(cd "$(dirname "$0")" && pwd)
timeout=30 poll=${NODEFIT_POLL_SECONDS:-5}
opts=() nodes=()
while [ $# -gt 0 ]; do
  case "$1" in
    --timeout-minutes) [ $# -ge 2 ] || die "$1 needs a value"; timeout=$2; shift 2 ;;
    --job|--kustomize) die "$1 is not for this script (it renders each node's Job itself)" ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --*) [ $# -ge 2 ] || die "$1 needs a value"; opts+=("$1" "$2"); shift 2 ;;
    *) nodes+=("$1"); shift ;;
  esac
done
[[ "$timeout" =~ ^[0-9]+$ ]] || die "--timeout-minutes is whole minutes"
[ "${#nodes[@]}" -gt 0 ] || die "name the control-plane nodes (their kubernetes.io/hostname)"
command -v kubectl >/dev/null 2>&1 || die "kubectl not found"

bad=()
for n in "${nodes[@]}"; do
  manifest=$("$here/render.sh" --job "${opts[@]}" "$n") || exit 2
  job=$(printf '%s\n' "$manifest" | kubectl apply -f - -o name | grep '^job') \
    || die "$n: kubectl did not create the Job"
  end=$(( $(date +%s) + timeout * 60 ))
  state="timed out after $timeout min"
  while [ "$(date +%s)" -lt "$end" ]; do
    conds=$(kubectl get -n nodefit "$job" \
      -o jsonpath='{range .status.conditions[?(@.status=="True")]}{.type}{" "}{end}')
    case " $conds " in
      *" Complete "*) state=Complete; break ;;
      *" Failed "*) state=Failed; break ;;
    esac
    sleep "$poll"
  done
  echo "nodefit: $n $job $state"
  [ "$state" = Complete ] || bad+=("$n")
done
[ "${#bad[@]}" -eq 0 ] || { echo "nodefit: not complete: ${bad[*]}" >&2; exit 1; }
