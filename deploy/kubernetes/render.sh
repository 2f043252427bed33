#!/usr/bin/env bash
# Render nodefit's Kubernetes manifests for your control-plane nodes (stdout, multi-document YAML).
#
#   deploy/kubernetes/render.sh --image REGISTRY/nodefit:0.1.0 cp-1 cp-2 cp-3 | kubectl apply -f -
#       the namespace and one nightly CronJob per node, each in its own slot: node i starts at
#       --start + i x --spacing, and every Job is stopped after --deadline, which is shorter than the
#       spacing, so two nodes are never measured at once (default 02:00 UTC, every 30 min, 20 min)
#   deploy/kubernetes/render.sh --job --image REGISTRY/nodefit:0.1.0 cp-1 | kubectl create -f -
#       a one-off Job for ONE node (run the next after it ended: deploy/kubernetes/one-at-a-time.sh)
#   deploy/kubernetes/render.sh --kustomize DIR --image REGISTRY/nodefit:0.1.0 cp-1 cp-2 cp-3
#       the same nightly CronJobs as a Kustomize tree for GitOps (Flux, Argo CD): DIR/base, one
#       overlay per node in DIR/overlays/<node>, DIR/kustomization.yaml listing them all
#
# Options: --profile NAME (k8s-control-plane), --etcd-data-dir DIR (/var/lib/etcd), --scratch DIR on
# the etcd disk, not inside etcd's data directory (/var/lib/nodefit/scratch; the pod checks the disk),
# --reports DIR (/var/lib/nodefit/reports), --textfile-dir DIR, node_exporter's textfile directory,
# which must exist (/var/lib/node_exporter/textfile_collector; see docs/fleet.md for your setup's),
# --qualify-args "WORDS" (extra `nodefit qualify` options, e.g. "--rounds 1").
# Node names are the nodes' kubernetes.io/hostname labels. Exit 2 with a one-line reason on bad input.
set -euo pipefail
die() { echo "render.sh: $*" >&2; exit 2; }

here=$(cd "$(dirname "$0")" && pwd)
image="" start="02:00" spacing=30 deadline=20 profile="k8s-control-plane" job=false kustomize=""
scratch="/var/lib/nodefit/scratch" reports="/var/lib/nodefit/reports" etcd_data="/var/lib/etcd" qargs=""
textfile="/var/lib/node_exporter/textfile_collector"
nodes=()
while [ $# -gt 0 ]; do
  case "$1" in
    --image|--start|--spacing-minutes|--deadline-minutes|--profile|--scratch|--reports|--textfile-dir|--etcd-data-dir|--qualify-args|--kustomize)
      [ $# -ge 2 ] || die "$1 needs a value"
      case "$1" in
        --image) image=$2 ;; --start) start=$2 ;; --spacing-minutes) spacing=$2 ;;
        --deadline-minutes) deadline=$2 ;; --profile) profile=$2 ;; --scratch) scratch=$2 ;;
        --reports) reports=$2 ;; --textfile-dir) textfile=$2 ;; --etcd-data-dir) etcd_data=$2 ;;
        --qualify-args) qargs=$2 ;; --kustomize) kustomize=$2 ;;
      esac
      shift 2 ;;
    --job) job=true; shift ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1" ;;
    *) nodes+=("$1"); shift ;;
  esac
done
[ -n "$image" ] || die "--image is required (build one from the make-dist artifact: deploy/kubernetes/Dockerfile)"
[ "${#nodes[@]}" -gt 0 ] || die "name the control-plane nodes (their kubernetes.io/hostname)"
[[ "$spacing" =~ ^[0-9]+$ && "$deadline" =~ ^[0-9]+$ ]] || die "--spacing-minutes and --deadline-minutes are whole minutes"
[ "$deadline" -ge 5 ] || die "--deadline-minutes must be at least 5"
[ "$spacing" -gt "$deadline" ] || die "--spacing-minutes ($spacing) must exceed --deadline-minutes ($deadline), or two nodes could be measured at once"
[[ "$start" =~ ^([01][0-9]|2[0-3]):([0-5][0-9])$ ]] || die "--start must be HH:MM (UTC)"
start_min=$((10#${BASH_REMATCH[1]} * 60 + 10#${BASH_REMATCH[2]}))
[ $(( ${#nodes[@]} * spacing )) -le 1440 ] || die "${#nodes[@]} nodes x $spacing min do not fit in a day"
if $job && [ "${#nodes[@]}" -ne 1 ]; then
  die "--job renders one node at a time (run the next when it completed), got ${#nodes[@]}"
fi
for n in "${nodes[@]}"; do
  [[ "$n" =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]] || die "'$n' is not a node name"
done
for p in "$scratch" "$reports" "$textfile" "$etcd_data"; do
  [[ "$p" == /* ]] || die "$p: host paths must be absolute"
  [[ "$p" =~ ^[A-Za-z0-9/._-]+$ && "$p" != *..* ]] || die "$p: host paths are letters, digits and / . _ - (no ..)"
done
# Scratch files go on etcd's disk, never into etcd's own data directory (beside member/).
case "${scratch%/}/" in
  "${etcd_data%/}"/*) die "--scratch $scratch is inside etcd's data directory $etcd_data: use a nodefit directory beside it on the same disk" ;;
esac
[[ "$qargs" =~ ^[A-Za-z0-9\ ._=/:,-]*$ ]] || die "--qualify-args: only letters, digits, spaces and . _ = / : , - (it is split into words)"
if $job && [ -n "$kustomize" ]; then die "--kustomize renders the nightly CronJobs, not --job"; fi

# label/name-safe form of a node name: lower case, [a-z0-9-], at most 40 characters
label() {
  local s
  s=$(printf '%s' "$1" | tr 'A-Z' 'a-z' | tr -c 'a-z0-9-' '-' | sed 's/^-*//; s/-*$//')
  s=${s:0:40}
  s=${s%-}
  [ -n "$s" ] || die "node name '$1' has nothing usable for a Kubernetes name"
  printf '%s' "$s"
}

# The pod template, without its comment header, indented to sit under `template:`.
pod() {
  local indent=$1
  grep -v '^#' "$here/pod-template.yaml" | sed "s/^/$indent/" | sed "1s/^$indent//"
}

fill() {  # template file, node, schedule, indent
  local node=$1 schedule=$2 indent=$3 tmpl=$4 stamp
  stamp=$(date -u +%Y%m%d%H%M%S)
  local podtext
  podtext=$(pod "$indent")
  awk -v pod="$podtext" '{ if ($0 ~ /@POD@/) { sub(/@POD@.*/, ""); printf "%s%s\n", $0, pod } else print }' "$tmpl" \
    | grep -v '^#' \
    | sed -e "s|@NODE@|$node|g" -e "s|@NODE_LABEL@|$(label "$node")|g" -e "s|@SCHEDULE@|$schedule|g" \
          -e "s|@IMAGE@|$image|g" -e "s|@PROFILE@|$profile|g" -e "s|@SCRATCH@|$scratch|g" \
          -e "s|@REPORTS@|$reports|g" -e "s|@TEXTFILE_DIR@|$textfile|g" \
          -e "s|@DEADLINE@|$((deadline * 60))|g" -e "s|@STAMP@|$stamp|g" \
          -e "s|@ETCD_DATA@|$etcd_data|g" -e "s|@QUALIFY_ARGS@|$qargs|g"
}

if [ -n "$kustomize" ]; then
  . "$here/kustomize.sh"
  exit 0
fi

cat "$here/namespace.yaml"
i=0
for n in "${nodes[@]}"; do
  echo "---"
  if $job; then
    fill "$n" "" "    " "$here/job.yaml"
  else
    m=$(( (start_min + i * spacing) % 1440 ))
    fill "$n" "$((m % 60)) $((m / 60)) * * *" "        " "$here/cronjob.yaml"
  fi
  i=$((i + 1))
done
