#!/usr/bin/env bash
# Validates what deploy/ ships against what vtrack exports, without Docker, a cluster or
# the network:
#
#   * the metric names, kinds and histograms of src/metrics.rs (the single source of truth);
#   * the Grafana dashboard: valid JSON, every PromQL expression (panels and template
#     variables) names only metrics vtrack exports (histograms only as _bucket, _sum,
#     _count), every histogram_quantile reads a _bucket series, unique panel ids;
#   * the Prometheus alert rules: the same metric check, a severity label, summary,
#     description and runbook_url annotations, each runbook anchor a heading of
#     docs/operations.md; `promtool check rules`, `promtool test rules` and
#     `promtool check config` on prometheus.yml; the dashboard's queries parse (promtool);
#   * the compose file: it parses, and every file a service builds from or mounts exists;
#   * every Kubernetes YAML (multi-document) parses, each object has apiVersion, kind and
#     a name; kustomization.yaml's resources and generator files exist; deploy/k8s/vtrack.toml
#     parses and uses only keys config/vtrack.toml documents;
#   * docs/operations.md has a row for every metric in its metrics table, with the kind
#     src/metrics.rs declares, and names no metric vtrack does not export.
#
# Needs bash, python3 with PyYAML (`pip install pyyaml`) and promtool. Set
# VTRACK_SKIP_PROMTOOL=1 to skip the promtool steps where promtool is not installed.
# Exits non-zero, listing every problem, when anything is wrong.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

fail() {
    echo "check-deploy: FAILED: $*" >&2
    exit 1
}

command -v python3 >/dev/null 2>&1 || fail "python3 is not installed"
python3 -c 'import yaml' 2>/dev/null ||
    fail "python3 cannot import yaml (PyYAML): pip install pyyaml"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
export CHECK_DEPLOY_DASHBOARD_RULES="$tmp/dashboard-rules.yml"

echo "check-deploy: metrics, dashboard, alerts, compose, Kubernetes, docs"
python3 - <<'PY'
import json
import os
import re
import sys
import tomllib

import yaml

errors = []


def err(msg):
    errors.append(msg)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


# ------------------------------------------------------------------ metrics.rs
src = read("src/metrics.rs")
consts = dict(re.findall(r'pub const ([A-Z_]+): &str = "([^"]+)";', src))
table = re.search(r"pub const ALL: &\[.*?\] = &\[(.*?)\n\];", src, re.S)
if not consts or not table:
    sys.exit("check-deploy: FAILED: cannot read the metric declarations of src/metrics.rs")
kinds = {}
for const, kind in re.findall(r"\(\s*([A-Z_]+),\s*Kind::(\w+),", table.group(1)):
    if const not in consts:
        err(f"src/metrics.rs: ALL names {const}, which is not a declared metric constant")
        continue
    kinds[consts[const]] = kind
for const, name in consts.items():
    if name not in kinds:
        err(f"src/metrics.rs: {const} ({name}) is declared but not listed in ALL")
histograms = {n for n, k in kinds.items() if k == "Histogram"}
exported = {n for n, k in kinds.items() if k != "Histogram"}
exported |= {h + s for h in histograms for s in ("_bucket", "_sum", "_count")}
print(f"  {len(kinds)} metrics in src/metrics.rs ({len(histograms)} histograms)")

TOKEN = re.compile(r"(?<![A-Za-z0-9_:])vtrack_[A-Za-z0-9_:]*")
STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')


def metric_tokens(expr):
    """Metric names in a PromQL expression (string literals, i.e. label values, left out)."""
    return TOKEN.findall(STRING.sub('""', expr))


def check_expr(where, expr):
    if not isinstance(expr, str) or not expr.strip():
        err(f"{where}: empty expression")
        return
    names = metric_tokens(expr)
    for name in names:
        if name not in exported:
            hint = ""
            if name in histograms:
                hint = " (a histogram: use its _bucket, _sum or _count series)"
            err(f"{where}: `{name}` is not a metric vtrack exports{hint}")
    if "histogram_quantile" in expr and not any(n.endswith("_bucket") for n in names):
        err(f"{where}: histogram_quantile without a _bucket series")
    return names


# ------------------------------------------------------------------ dashboard
dash_path = "deploy/grafana/dashboards/vtrack.json"
used = set()
try:
    dash = json.loads(read(dash_path))
except (OSError, ValueError) as e:
    err(f"{dash_path}: not valid JSON: {e}")
    dash = None
if dash is not None:
    def walk(panels):
        for p in panels:
            yield p
            yield from walk(p.get("panels", []))

    ids = set()
    n_exprs = 0
    for p in walk(dash.get("panels", [])):
        title = p.get("title", "?")
        pid = p.get("id")
        if pid in ids:
            err(f"{dash_path}: panel id {pid} used twice")
        ids.add(pid)
        if p.get("type") == "row":
            continue
        targets = p.get("targets") or []
        if not targets:
            err(f"{dash_path}: panel `{title}` has no query")
        for t in targets:
            n_exprs += 1
            used |= set(check_expr(f"{dash_path}: panel `{title}`", t.get("expr")) or [])
    for v in dash.get("templating", {}).get("list", []):
        q = v.get("query")
        if isinstance(q, dict):
            q = q.get("query")
        if v.get("type") == "query" and isinstance(q, str):
            n_exprs += 1
            used |= set(check_expr(f"{dash_path}: variable `{v.get('name')}`", q) or [])
    if n_exprs == 0:
        err(f"{dash_path}: no queries at all")
    # Every panel query as a recording rule, Grafana's variables replaced by values, so
    # that promtool parses them (below).
    grafana_vars = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h",
                    "$job": ".*", "$instance": ".*"}
    records = []
    for p in walk(dash.get("panels", [])):
        for t in p.get("targets") or []:
            expr = t.get("expr") or ""
            for k, v in grafana_vars.items():
                expr = expr.replace(k, v)
            records.append({"record": f"dashboard:panel_{p.get('id')}:{t.get('refId', 'A')}", "expr": expr})
    out = os.environ.get("CHECK_DEPLOY_DASHBOARD_RULES")
    if out:
        with open(out, "w", encoding="utf-8") as f:
            yaml.safe_dump({"groups": [{"name": "dashboard", "rules": records}]}, f)
    print(f"  dashboard: {n_exprs} queries checked")

# ------------------------------------------------------------------ docs
guide_path = "docs/operations.md"
try:
    guide = read(guide_path)
except OSError as e:
    err(f"{guide_path}: {e}")
    guide = ""


def slug(heading):
    """GitHub's anchor of a Markdown heading."""
    s = heading.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


anchors = {slug(h) for h in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", guide, re.M)}
for name in sorted(kinds):
    if f"`{name}`" not in guide:
        err(f"{guide_path}: metric `{name}` of src/metrics.rs is not documented")
table_kinds = dict(re.findall(r"^\|\s*`(vtrack_[a-z0-9_]+)`\s*\|\s*(\w+)\s*\|", guide, re.M))
for name, kind in sorted(kinds.items()):
    if name in table_kinds and table_kinds[name].lower() != kind.lower():
        err(f"{guide_path}: the metrics table says `{name}` is a {table_kinds[name]}, src/metrics.rs a {kind.lower()}")
    elif name not in table_kinds:
        err(f"{guide_path}: `{name}` has no row in the metrics table")
for name in sorted(set(TOKEN.findall(guide))):
    if name not in exported and name not in histograms:
        err(f"{guide_path}: names `{name}`, which vtrack does not export")

# ------------------------------------------------------------------ alerts
alerts_path = "deploy/prometheus/alerts.yml"
try:
    alerts = yaml.safe_load(read(alerts_path))
except (OSError, yaml.YAMLError) as e:
    err(f"{alerts_path}: {e}")
    alerts = None
if alerts is not None:
    n_rules = 0
    for group in alerts.get("groups") or []:
        for rule in group.get("rules") or []:
            n_rules += 1
            name = rule.get("alert") or rule.get("record") or "?"
            where = f"{alerts_path}: {name}"
            used |= set(check_expr(where, rule.get("expr")) or [])
            if "alert" not in rule:
                continue
            sev = (rule.get("labels") or {}).get("severity")
            if sev not in ("critical", "warning", "info"):
                err(f"{where}: label severity must be critical, warning or info, not {sev!r}")
            ann = rule.get("annotations") or {}
            for key in ("summary", "description", "runbook_url"):
                if not ann.get(key):
                    err(f"{where}: no `{key}` annotation")
            url = ann.get("runbook_url", "")
            if url:
                path, _, anchor = url.partition("#")
                if not path.endswith("docs/operations.md") or not anchor:
                    err(f"{where}: runbook_url must point to a section of docs/operations.md: {url}")
                elif anchor not in anchors:
                    err(f"{where}: runbook_url anchor #{anchor} is no heading of {guide_path}")
    if n_rules == 0:
        err(f"{alerts_path}: no rules")
    print(f"  alerts: {n_rules} rules checked")

prom_path = "deploy/prometheus/prometheus.yml"
try:
    prom = yaml.safe_load(read(prom_path)) or {}
    for f in prom.get("rule_files") or []:
        if not os.path.exists(os.path.join(os.path.dirname(prom_path), f)):
            err(f"{prom_path}: rule file {f} does not exist next to it")
except (OSError, yaml.YAMLError) as e:
    err(f"{prom_path}: {e}")

unused = sorted(n for n in kinds if not any(u == n or u.startswith(n + "_") for u in used))
if unused:
    print(f"  note: not on the dashboard or in an alert: {', '.join(unused)}")

# ------------------------------------------------------------------ compose
compose_path = "deploy/docker-compose.yml"
compose_dir = os.path.dirname(compose_path)
try:
    compose = yaml.safe_load(read(compose_path)) or {}
except (OSError, yaml.YAMLError) as e:
    err(f"{compose_path}: {e}")
    compose = {}
services = compose.get("services") or {}
if not services:
    err(f"{compose_path}: no services")
for need in ("kafka", "vtrack", "generate", "prometheus", "grafana"):
    if need not in services:
        err(f"{compose_path}: no `{need}` service")
ENV_DEFAULT = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*:-([^}]*)\}")


def local(path):
    """A compose path with ${VAR:-default} resolved to its default, relative to the file."""
    path = ENV_DEFAULT.sub(lambda m: m.group(1), path)
    return os.path.normpath(os.path.join(compose_dir, path))


for name, svc in services.items():
    where = f"{compose_path}: service {name}"
    build = svc.get("build")
    if isinstance(build, str):
        build = {"context": build}
    if isinstance(build, dict):
        ctx = local(build.get("context", "."))
        if not os.path.isdir(ctx):
            err(f"{where}: build context {ctx} does not exist")
        dockerfile = os.path.join(ctx, build.get("dockerfile", "Dockerfile"))
        if not os.path.isfile(dockerfile):
            err(f"{where}: Dockerfile {dockerfile} does not exist")
    for vol in svc.get("volumes") or []:
        source = vol.get("source", "") if isinstance(vol, dict) else str(vol).split(":")[0]
        if source.startswith((".", "/")):
            if not os.path.exists(local(source)):
                err(f"{where}: mounts {source}, which does not exist ({local(source)})")
        elif source and source not in (compose.get("volumes") or {}):
            err(f"{where}: named volume {source} is not declared under volumes:")
    for env_file in ([svc["env_file"]] if isinstance(svc.get("env_file"), str) else svc.get("env_file") or []):
        if not os.path.exists(local(env_file)):
            err(f"{where}: env_file {env_file} does not exist")
    deps = svc.get("depends_on") or []
    for dep in deps if isinstance(deps, list) else deps.keys():
        if dep not in services:
            err(f"{where}: depends on unknown service {dep}")

dockerfile = read("deploy/Dockerfile") if os.path.exists("deploy/Dockerfile") else ""
if not dockerfile:
    err("deploy/Dockerfile does not exist")
for m in re.findall(r"^COPY\s+(?!--from)(\S+)\s", dockerfile, re.M):
    if m != "." and not os.path.exists(m):
        err(f"deploy/Dockerfile: COPY {m}: no such file in the build context")

# ------------------------------------------------------------------ Grafana provisioning
for dirpath, _, files in os.walk("deploy/grafana/provisioning"):
    for f in files:
        if f.endswith((".yml", ".yaml")):
            p = os.path.join(dirpath, f)
            try:
                yaml.safe_load(read(p))
            except yaml.YAMLError as e:
                err(f"{p}: {e}")

# ------------------------------------------------------------------ Kubernetes
k8s = "deploy/k8s"
n_objects = 0
for f in sorted(os.listdir(k8s)):
    if not f.endswith((".yaml", ".yml")):
        continue
    p = os.path.join(k8s, f)
    try:
        docs = list(yaml.safe_load_all(read(p)))
    except yaml.YAMLError as e:
        err(f"{p}: {e}")
        continue
    for i, doc in enumerate(docs):
        if doc is None:
            continue  # an empty or commented-out document
        if not isinstance(doc, dict):
            err(f"{p}: document {i + 1} is not a mapping")
            continue
        if f.startswith("kustomization."):
            continue
        n_objects += 1
        for key in ("apiVersion", "kind"):
            if not doc.get(key):
                err(f"{p}: document {i + 1} has no {key}")
        if not (doc.get("metadata") or {}).get("name"):
            err(f"{p}: document {i + 1} has no metadata.name")
        if (doc.get("metadata") or {}).get("namespace"):
            err(f"{p}: {doc.get('kind')} sets a namespace; the manifests are namespace-agnostic")
kust_path = os.path.join(k8s, "kustomization.yaml")
try:
    kust = yaml.safe_load(read(kust_path)) or {}
    listed = list(kust.get("resources") or [])
    for gen in kust.get("configMapGenerator") or []:
        listed += [x.split("=", 1)[-1] for x in gen.get("files") or []]
    for r in listed:
        if not os.path.exists(os.path.join(k8s, r)):
            err(f"{kust_path}: {r} does not exist")
except (OSError, yaml.YAMLError) as e:
    err(f"{kust_path}: {e}")
print(f"  Kubernetes: {n_objects} objects")


def keys(table, prefix=""):
    out = set()
    for k, v in table.items():
        path = f"{prefix}{k}"
        out.add(path)
        if isinstance(v, dict) and path != "kafka.properties":
            out |= keys(v, path + ".")
    return out


try:
    documented = keys(tomllib.loads(read("config/vtrack.toml")))
    k8s_toml = os.path.join(k8s, "vtrack.toml")
    for key in sorted(keys(tomllib.loads(read(k8s_toml))) - documented):
        if not key.startswith("kafka.properties."):
            err(f"{k8s_toml}: unknown key {key} (config/vtrack.toml documents every key)")
except (OSError, tomllib.TOMLDecodeError) as e:
    err(f"vtrack.toml: {e}")

if errors:
    print("check-deploy: FAILED:", file=sys.stderr)
    for e in errors:
        print(f"  - {e}", file=sys.stderr)
    sys.exit(1)
PY

if [[ "${VTRACK_SKIP_PROMTOOL:-}" == "1" ]]; then
    echo "check-deploy: SKIPPING promtool checks (VTRACK_SKIP_PROMTOOL=1): alert rules, their tests, prometheus.yml and the dashboard's PromQL not checked by promtool"
else
    command -v promtool >/dev/null 2>&1 ||
        fail "promtool is not installed (Debian: apt-get install prometheus; or set VTRACK_SKIP_PROMTOOL=1 to skip)"
    promtool check rules deploy/prometheus/alerts.yml >/dev/null ||
        fail "promtool check rules deploy/prometheus/alerts.yml"
    if [[ -f deploy/prometheus/alerts_test.yml ]]; then
        (cd deploy/prometheus && promtool test rules alerts_test.yml >/dev/null) ||
            fail "promtool test rules deploy/prometheus/alerts_test.yml (run it to see which case)"
    fi
    promtool check config deploy/prometheus/prometheus.yml >/dev/null ||
        fail "promtool check config deploy/prometheus/prometheus.yml"
    promtool check rules "$CHECK_DEPLOY_DASHBOARD_RULES" >"$tmp/dashboard.out" 2>&1 || {
        cat "$tmp/dashboard.out" >&2
        fail "a PromQL query of deploy/grafana/dashboards/vtrack.json does not parse (dashboard:panel_<id>:<refId> above)"
    }
    echo "  promtool: rules, rule tests, config and the dashboard's PromQL pass"
fi
echo "check-deploy: OK"
