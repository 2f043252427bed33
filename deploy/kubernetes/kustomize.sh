# Sourced by render.sh --kustomize DIR (its variables and functions): the nightly CronJobs as a
# Kustomize tree a GitOps tool can point at. base/: the CronJob for a placeholder node; one overlay
# per node (overlays/<label>/) patching its name, hostname, labels and slot; namespace/; and
# DIR/kustomization.yaml listing the namespace and every overlay. Prints DIR.
k=$kustomize
for n in "${nodes[@]}"; do
  [ ! -e "$k/overlays/$(label "$n")" ] || die "$k/overlays/$(label "$n") exists: render into a new directory"
done
mkdir -p "$k/base" "$k/namespace" || die "cannot create $k"
kustomization() {  # resources...
  printf 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n'
  printf '  - %s\n' "$@"
}
cp "$here/namespace.yaml" "$k/namespace/namespace.yaml"
kustomization namespace.yaml > "$k/namespace/kustomization.yaml"
fill "NODE" "0 2 * * *" "        " "$here/cronjob.yaml" \
  | sed -e 's/"nodefit-node"/"nodefit"/' > "$k/base/cronjob.yaml"
kustomization cronjob.yaml > "$k/base/kustomization.yaml"
overlays=()
i=0
for n in "${nodes[@]}"; do
  l=$(label "$n")
  m=$(( (start_min + i * spacing) % 1440 ))
  mkdir -p "$k/overlays/$l"
  {
    kustomization ../../base
    cat <<EOF
nameSuffix: "-$l"
patches:
  - target:
      kind: CronJob
    patch: |-
      - op: replace
        path: /spec/schedule
        value: "$((m % 60)) $((m / 60)) * * *"
      - op: replace
        path: /metadata/labels/nodefit.io~1node
        value: "$l"
      - op: replace
        path: /spec/jobTemplate/metadata/labels/nodefit.io~1node
        value: "$l"
      - op: replace
        path: /spec/jobTemplate/spec/template/metadata/labels/nodefit.io~1node
        value: "$l"
      - op: replace
        path: /spec/jobTemplate/spec/template/spec/nodeSelector/kubernetes.io~1hostname
        value: "$n"
EOF
  } > "$k/overlays/$l/kustomization.yaml"
  overlays+=("overlays/$l")
  i=$((i + 1))
done
kustomization namespace "${overlays[@]}" > "$k/kustomization.yaml"
echo "$k"
