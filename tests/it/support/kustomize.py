"""The part of `kubectl kustomize` that deploy/kubernetes/render.sh --kustomize uses, for tests on
a machine without kubectl or kustomize: `resources` (files and directories with a
kustomization.yaml), `nameSuffix` (on every resource gathered in that kustomization) and inline
JSON 6902 `patches` with a `target` kind (RFC 6902 `replace`, `add` and `remove`; a `replace` of a
path that is not there is an error, as in kustomize). Any other field is refused, so a tree that
uses more than this subset fails the test instead of rendering wrong.

    python kustomize.py DIR    ->  multi-document YAML on stdout
"""
import copy
import os
import sys

import yaml

KNOWN = {"apiVersion", "kind", "resources", "nameSuffix", "patches"}


def pointer(path):
    return [p.replace("~1", "/").replace("~0", "~") for p in path.lstrip("/").split("/")]


def apply_op(doc, op):
    parts = pointer(op["path"])
    parent = doc
    for p in parts[:-1]:
        if p not in parent:
            raise SystemExit(f"patch {op['op']} {op['path']}: no {p}")
        parent = parent[p]
    last = parts[-1]
    if op["op"] == "replace":
        if last not in parent:
            raise SystemExit(f"patch replace {op['path']}: not there")
        parent[last] = op["value"]
    elif op["op"] == "add":
        parent[last] = op["value"]
    elif op["op"] == "remove":
        del parent[last]
    else:
        raise SystemExit(f"patch op {op['op']} is not supported here")


def build(directory):
    with open(os.path.join(directory, "kustomization.yaml")) as f:
        k = yaml.safe_load(f)
    unknown = set(k) - KNOWN
    if unknown:
        raise SystemExit(f"{directory}: fields this renderer does not know: {sorted(unknown)}")
    docs = []
    for r in k.get("resources", []):
        path = os.path.normpath(os.path.join(directory, r))
        if os.path.isdir(path):
            docs.extend(build(path))
        else:
            with open(path) as f:
                docs.extend(d for d in yaml.safe_load_all(f) if d)
    for patch in k.get("patches", []):
        target = patch["target"]
        if set(target) != {"kind"}:
            raise SystemExit(f"{directory}: patch targets other than kind are not supported")
        ops = yaml.safe_load(patch["patch"])
        hits = [d for d in docs if d["kind"] == target["kind"]]
        if not hits:
            raise SystemExit(f"{directory}: patch target {target} matches nothing")
        for d in hits:
            for op in ops:
                apply_op(d, op)
    suffix = k.get("nameSuffix", "")
    out = []
    for d in docs:
        d = copy.deepcopy(d)
        d["metadata"]["name"] = d["metadata"]["name"] + suffix
        out.append(d)
    return out


if __name__ == "__main__":
    yaml.safe_dump_all(build(sys.argv[1]), sys.stdout, sort_keys=False)
