#!/usr/bin/env python3
"""Generates helm/kube-event-exporter/dashboards/*.json (the Grafana dashboards the chart ships).

Edit this file, not the JSON, then run: python3 helm/tools/gen-dashboards.py
(test/e2e/test_helm.py checks that the JSON matches this generator's output). Datasources are
the variables ${loki} and ${prometheus}; metric names of the exporter start with ${metrics_prefix},
which the chart sets to config.metricsNamePrefix."""
import json, os, sys
# output directory: argv[1], default the chart's dashboards/
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "kube-event-exporter", "dashboards")
LOKI = {"type": "loki", "uid": "${loki}"}
PROM = {"type": "prometheus", "uid": "${prometheus}"}
EVENT_LINE = '[{{.type}}] {{.reason}}: {{.message}} (Pod: {{.involvedObject_name}})'

def ds_var(name, typ, label):
    return {"name": name, "label": label, "type": "datasource", "query": typ, "refresh": 1,
            "current": {}, "hide": 0, "includeAll": False, "multi": False, "options": [], "regex": ""}

def textbox(name, label, default, hide=0):
    return {"name": name, "label": label, "type": "textbox", "query": default, "hide": hide,
            "current": {"text": default, "value": default},
            "options": [{"selected": True, "text": default, "value": default}]}

def custom(name, label, values, default_all=True, multi=True):
    return {"name": name, "label": label, "type": "custom", "query": ",".join(values),
            "multi": multi, "includeAll": True, "allValue": ".*", "hide": 0,
            "current": {"text": ["All"], "value": ["$__all"]} if default_all else {},
            "options": []}

def prom_query_var(name, label, query):
    return {"name": name, "label": label, "type": "query", "datasource": PROM,
            "query": query,  # the classic string form: every Grafana version reads (and migrates) it
            "definition": query, "refresh": 2, "multi": True, "includeAll": True, "allValue": ".*",
            "current": {"text": ["All"], "value": ["$__all"]}, "options": [], "sort": 1, "hide": 0, "regex": ""}

class Dash:
    def __init__(self, uid, title, desc, tags):
        self.d = {"uid": uid, "title": title, "description": desc, "tags": ["kube-event-exporter"] + tags,
                  "editable": True, "schemaVersion": 39, "version": 1, "time": {"from": "now-6h", "to": "now"},
                  "refresh": "1m", "timezone": "", "graphTooltip": 1, "annotations": {"list": []},
                  "links": [{"title": "kube-event-exporter", "type": "dashboards", "tags": ["kube-event-exporter"],
                             "asDropdown": True, "includeVars": False, "keepTime": True}],
                  "templating": {"list": []}, "panels": []}
        self.y = 0; self.x = 0; self.rowh = 0; self.id = 1
    def var(self, v): self.d["templating"]["list"].append(v)
    def panel(self, typ, title, ds, targets, w=12, h=8, desc="", **extra):
        if self.x + w > 24:
            self.y += self.rowh; self.x = 0; self.rowh = 0
        p = {"id": self.id, "type": typ, "title": title, "description": desc, "datasource": ds,
             "gridPos": {"x": self.x, "y": self.y, "w": w, "h": h}, "targets": []}
        for i, t in enumerate(targets):
            t = dict(t); t.setdefault("refId", chr(65 + i)); t["datasource"] = ds
            p["targets"].append(t)
        p.update(extra)
        self.d["panels"].append(p); self.id += 1
        self.x += w; self.rowh = max(self.rowh, h)
        return p
    def row(self, title):
        if self.x: self.y += self.rowh; self.x = 0; self.rowh = 0
        self.d["panels"].append({"id": self.id, "type": "row", "title": title, "collapsed": False,
                                 "gridPos": {"x": 0, "y": self.y, "w": 24, "h": 1}, "panels": []})
        self.id += 1; self.y += 1
    def save(self, name):
        with open(os.path.join(OUT, name + ".json"), "w") as f:
            json.dump(self.d, f, indent=2); f.write("\n")

def ts(unit="short", stack=False, legend_calcs=("lastNotNull", "max")):
    return {"fieldConfig": {"defaults": {"unit": unit, "custom": {"drawStyle": "line", "fillOpacity": 10,
            "stacking": {"mode": "normal" if stack else "none"}}}, "overrides": []},
            "options": {"legend": {"displayMode": "table", "placement": "bottom", "calcs": list(legend_calcs)},
                        "tooltip": {"mode": "multi", "sort": "desc"}}}

# ---- 1. Kubernetes events (Loki) -----------------------------------------------------------
d = Dash("kee-events", "Kubernetes events", "Kubernetes Events shipped to Loki by kube-event-exporter "
         "(stream {job=\"kubernetes-event\"}, one JSON line per event).", ["events", "loki"])
d.var(ds_var("loki", "loki", "Loki"))
d.var(textbox("job", "Stream job", "kubernetes-event"))
d.var(textbox("namespace", "Namespace (regex)", ".*"))
d.var(custom("type", "Type", ["Normal", "Warning"]))
d.var(textbox("search", "Line contains", ""))
sel = '{job="$job"} |= "$search" | json | __error__="" | involvedObject_namespace=~"$namespace" | type=~"$type"'
d.panel("stat", "Events", LOKI, [{"expr": f'sum(count_over_time({sel} [$__range]))', "queryType": "instant"}],
        w=6, h=4, desc="Events in the time range.", options={"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "value", "graphMode": "none"})
d.panel("stat", "Warnings", LOKI, [{"expr": f'sum(count_over_time({sel} | type="Warning" [$__range]))', "queryType": "instant"}],
        w=6, h=4, desc="Warning events in the time range.",
        fieldConfig={"defaults": {"color": {"mode": "thresholds"}, "thresholds": {"mode": "absolute", "steps": [{"color": "green", "value": None}, {"color": "orange", "value": 1}]}}, "overrides": []},
        options={"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "background", "graphMode": "none"})
d.panel("stat", "Namespaces with warnings", LOKI, [{"expr": f'count(sum by (involvedObject_namespace) (count_over_time({sel} | type="Warning" [$__range])))', "queryType": "instant"}],
        w=6, h=4, desc="Distinct involved-object namespaces with Warning events.", options={"reduceOptions": {"calcs": ["lastNotNull"]}, "graphMode": "none"})
d.panel("stat", "Distinct reasons", LOKI, [{"expr": f'count(sum by (reason) (count_over_time({sel} [$__range])))', "queryType": "instant"}],
        w=6, h=4, desc="Distinct event reasons.", options={"reduceOptions": {"calcs": ["lastNotNull"]}, "graphMode": "none"})
d.panel("timeseries", "Events by reason", LOKI, [{"expr": f'sum by (reason) (count_over_time({sel} [$__interval]))', "legendFormat": "{{reason}}"}],
        w=12, h=8, desc="Counts per reason over time.", **ts(stack=True, legend_calcs=("sum",)))
d.panel("timeseries", "Events by type", LOKI, [{"expr": f'sum by (type) (count_over_time({sel} [$__interval]))', "legendFormat": "{{type}}"}],
        w=12, h=8, desc="Normal vs Warning over time.", **ts(stack=True, legend_calcs=("sum",)))
d.panel("bargauge", "Top reasons", LOKI, [{"expr": f'topk(15, sum by (reason, type) (count_over_time({sel} [$__range])))', "queryType": "instant", "legendFormat": "{{type}} {{reason}}"}],
        w=12, h=9, desc="The 15 most frequent reasons in the range.", options={"orientation": "horizontal", "displayMode": "basic", "reduceOptions": {"calcs": ["lastNotNull"]}})
d.panel("bargauge", "Top involved objects (warnings)", LOKI, [{"expr": f'topk(15, sum by (involvedObject_namespace, involvedObject_kind, involvedObject_name) (count_over_time({sel} | type="Warning" [$__range])))', "queryType": "instant", "legendFormat": "{{involvedObject_namespace}}/{{involvedObject_kind}}/{{involvedObject_name}}"}],
        w=12, h=9, desc="Objects with the most Warning events: what is broken and where.", options={"orientation": "horizontal", "displayMode": "basic", "reduceOptions": {"calcs": ["lastNotNull"]}})
d.panel("logs", "Events", LOKI, [{"expr": '{job="$job"} |= "$search" | json | involvedObject_namespace=~"$namespace" | type=~"$type" | line_format "' + EVENT_LINE.replace('"', '\\"') + '"'}],
        w=24, h=16, desc="One readable line per event; expand a line for every field of the event JSON.",
        options={"showTime": True, "wrapLogMessage": True, "sortOrder": "Descending", "enableLogDetails": True, "dedupStrategy": "none"})
d.save("events")

# ---- 2. kube-bench status (Prometheus) -----------------------------------------------------
d = Dash("kee-kube-bench-status", "kube-bench status", "CIS benchmark totals per node and target "
         "(kube_bench_info, from the reports posted to kube-event-exporter).", ["kube-bench", "security"])
d.var(ds_var("prometheus", "prometheus", "Prometheus"))
d.var(prom_query_var("node", "Node", "label_values(kube_bench_info, kube_bench_node_name)"))
d.var(prom_query_var("target", "Target", 'label_values(kube_bench_info{kube_bench_node_name=~"$node"}, kube_bench_target)'))
m = lambda t: f'max by (kube_bench_node_name, kube_bench_target) (kube_bench_info{{kube_bench_type="{t}", kube_bench_node_name=~"$node", kube_bench_target=~"$target"}})'
colors = {"total_fail": "red", "total_warn": "orange", "total_pass": "green", "total_info": "blue"}
for t, title in (("total_fail", "FAIL"), ("total_warn", "WARN"), ("total_pass", "PASS"), ("total_info", "INFO")):
    steps = [{"color": "green", "value": None}] + ([{"color": colors[t], "value": 1}] if t in ("total_fail", "total_warn") else [])
    if t in ("total_pass", "total_info"):
        steps = [{"color": colors[t], "value": None}]
    d.panel("stat", f"{title} per node and target", PROM, [{"expr": m(t), "instant": True, "legendFormat": "{{kube_bench_node_name}} ({{kube_bench_target}})"}],
            w=12 if t in ("total_fail", "total_warn") else 12, h=7, desc=f"{title} checks in the latest report of each node and target.",
            fieldConfig={"defaults": {"color": {"mode": "thresholds"}, "thresholds": {"mode": "absolute", "steps": steps}}, "overrides": []},
            options={"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "background", "graphMode": "area", "textMode": "value_and_name", "orientation": "auto"})
d.panel("stat", "Age of the latest report", PROM, [{"expr": 'time() - max by (kube_bench_node_name, kube_bench_target) (kube_bench_last_report_timestamp_seconds{kube_bench_node_name=~"$node", kube_bench_target=~"$target"})', "instant": True, "legendFormat": "{{kube_bench_node_name}} ({{kube_bench_target}})"}],
        w=24, h=5, desc="Time since each node and target last posted a report: a node that stops reporting shows here.",
        fieldConfig={"defaults": {"unit": "s", "color": {"mode": "thresholds"}, "thresholds": {"mode": "absolute", "steps": [{"color": "green", "value": None}, {"color": "orange", "value": 8 * 86400}]}}, "overrides": []},
        options={"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "background", "graphMode": "none", "textMode": "value_and_name"})
d.panel("timeseries", "FAIL over time", PROM, [{"expr": m("total_fail"), "legendFormat": "{{kube_bench_node_name}} ({{kube_bench_target}})"}],
        w=12, h=8, desc="Do findings rise or fall after a change?", **ts())
d.panel("timeseries", "WARN over time", PROM, [{"expr": m("total_warn"), "legendFormat": "{{kube_bench_node_name}} ({{kube_bench_target}})"}],
        w=12, h=8, desc="Warnings per node and target over time.", **ts())
d.panel("table", "Latest totals", PROM, [{"expr": 'max by (kube_bench_node_name, kube_bench_target, kube_bench_syntax, kube_bench_type) (kube_bench_info{kube_bench_node_name=~"$node", kube_bench_target=~"$target"})', "instant": True, "format": "table"}],
        w=24, h=10, desc="Every node, target and command with its totals.",
        transformations=[{"id": "groupingToMatrix", "options": {"columnField": "kube_bench_type", "rowField": "kube_bench_node_name", "valueField": "Value"}}])
d.save("kube-bench-status")

# ---- 3. kube-bench checks (Loki) -----------------------------------------------------------
d = Dash("kee-kube-bench-checks", "kube-bench checks", "Per-check kube-bench results in Loki (one JSON "
         "line per check with the kube_bench_gb_* keys): FAIL and WARN with their remediation.", ["kube-bench", "security", "loki"])
d.var(ds_var("loki", "loki", "Loki"))
d.var(textbox("job", "Stream job", "kube-bench"))
d.var(textbox("node", "Node (regex)", ".*"))
d.var(custom("status", "Status", ["FAIL", "WARN", "PASS", "INFO"], default_all=False))
d.d["templating"]["list"][-1]["current"] = {"text": ["FAIL", "WARN"], "value": ["FAIL", "WARN"]}
sel = '{job="$job"} | json | __error__="" | kube_bench_node_name=~"$node" | kube_bench_gb_tg_test_minor_status=~"$status"'
d.panel("timeseries", "Checks by status", LOKI, [{"expr": f'sum by (kube_bench_gb_tg_test_minor_status) (count_over_time({sel} [$__interval]))', "legendFormat": "{{kube_bench_gb_tg_test_minor_status}}"}],
        w=12, h=8, desc="Checks posted per status over time.", **ts(stack=True, legend_calcs=("sum",)))
d.panel("bargauge", "Checks by node and status", LOKI, [{"expr": f'sum by (kube_bench_node_name, kube_bench_gb_tg_test_minor_status) (count_over_time({sel} [$__range]))', "queryType": "instant", "legendFormat": "{{kube_bench_node_name}} {{kube_bench_gb_tg_test_minor_status}}"}],
        w=12, h=8, desc="Which node has the most findings.", options={"orientation": "horizontal", "displayMode": "basic", "reduceOptions": {"calcs": ["lastNotNull"]}})
d.panel("table", "Findings", LOKI, [{"expr": f'sum by (kube_bench_node_name, kube_bench_gb_tg_test_minor_section, kube_bench_gb_tg_test_minor_status, kube_bench_gb_tg_test_minor_description) (count_over_time({sel} [$__range]))', "queryType": "instant", "format": "table"}],
        w=24, h=10, desc="Each failing or warning check once per node, with how often it was reported in the range.")
d.panel("logs", "Checks with remediation", LOKI, [{"expr": sel.replace(' | __error__=""', '') + ' | line_format "[{{.kube_bench_gb_tg_test_minor_status}}] {{.kube_bench_node_name}} {{.kube_bench_gb_tg_test_minor_section}} {{.kube_bench_gb_tg_test_minor_description}} -- remediation: {{.kube_bench_gb_tg_test_minor_remediation}}"'}],
        w=24, h=16, desc="One line per check; expand it for audit, actual value and expected result.",
        options={"showTime": True, "wrapLogMessage": True, "sortOrder": "Descending", "enableLogDetails": True, "dedupStrategy": "none"})
d.save("kube-bench-checks")

# ---- 4. exporter health (Prometheus) -------------------------------------------------------
d = Dash("kee-exporter-health", "kube-event-exporter health", "Throughput, drops, errors, Loki push "
         "latency, queues and spool of kube-event-exporter.", ["health"])
d.var(ds_var("prometheus", "prometheus", "Prometheus"))
d.var(textbox("metrics_prefix", "metricsNamePrefix", "event_exporter_", hide=2))
d.var(prom_query_var("instance", "Instance", "label_values(${metrics_prefix}build_info, instance)"))
p = "${metrics_prefix}"; I = 'instance=~"$instance"'
d.panel("stat", "Up", PROM, [{"expr": f'sum(up{{{I}}} * on (instance) group_left max by (instance) ({p}build_info{{{I}}}))', "instant": True}],
        w=6, h=4, desc="Scraped instances that are up.", options={"reduceOptions": {"calcs": ["lastNotNull"]}, "graphMode": "none"})
d.panel("stat", "Events/s", PROM, [{"expr": f'sum(rate({p}events_sent{{{I}}}[$__rate_interval]))', "instant": True}],
        w=6, h=4, desc="Events accepted by the age filter per second.", fieldConfig={"defaults": {"unit": "reqps"}, "overrides": []}, options={"reduceOptions": {"calcs": ["lastNotNull"]}})
d.panel("stat", "Dropped records (range)", PROM, [{"expr": f'sum(increase({p}receiver_records_dropped_total{{{I}, reason!="shutdown"}}[$__range]))', "instant": True}],
        w=6, h=4, desc="Records a receiver dropped (queue full, rejected).",
        fieldConfig={"defaults": {"color": {"mode": "thresholds"}, "thresholds": {"mode": "absolute", "steps": [{"color": "green", "value": None}, {"color": "red", "value": 1}]}}, "overrides": []},
        options={"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "background"})
d.panel("table", "Version", PROM, [{"expr": f'max by (instance, version, revision) ({p}build_info{{{I}}})', "instant": True, "format": "table"}],
        w=6, h=4, desc="Build of each instance.")
d.row("Throughput")
d.panel("timeseries", "Events in", PROM, [
    {"expr": f'sum by (instance) (rate({p}events_sent{{{I}}}[$__rate_interval]))', "legendFormat": "sent {{instance}}"},
    {"expr": f'sum by (instance) (rate({p}events_discarded{{{I}}}[$__rate_interval]))', "legendFormat": "discarded (too old) {{instance}}"},
    {"expr": f'sum by (instance) (rate({p}records_unrouted_total{{{I}}}[$__rate_interval]))', "legendFormat": "unrouted {{instance}}"}],
    w=12, h=8, desc="Events from the watch, per second.", **ts("reqps"))
d.panel("timeseries", "Records sent per receiver", PROM, [
    {"expr": f'sum by (receiver) (rate({p}receiver_records_sent_total{{{I}}}[$__rate_interval]))', "legendFormat": "{{receiver}}"}],
    w=12, h=8, desc="Records delivered per receiver per second.", **ts("reqps"))
d.row("Errors and drops")
d.panel("timeseries", "Drops by receiver and reason", PROM, [
    {"expr": f'sum by (receiver, reason) (rate({p}receiver_records_dropped_total{{{I}}}[$__rate_interval]))', "legendFormat": "{{receiver}} {{reason}}"}],
    w=8, h=8, desc="queue_full, rejected, unsupported_sink, shutdown.", **ts("reqps"))
d.panel("timeseries", "Send and watch errors", PROM, [
    {"expr": f'sum by (instance) (rate({p}send_event_errors{{{I}}}[$__rate_interval]))', "legendFormat": "send errors {{instance}}"},
    {"expr": f'sum by (instance) (rate({p}watch_errors{{{I}}}[$__rate_interval]))', "legendFormat": "watch errors {{instance}}"}],
    w=8, h=8, desc="Failed sends (e.g. Loki push errors) and watch failures per second.", **ts("reqps"))
d.panel("timeseries", "Loki retries", PROM, [
    {"expr": f'sum by (receiver) (rate({p}loki_retries_total{{{I}}}[$__rate_interval]))', "legendFormat": "retries {{receiver}}"},
    {"expr": f'sum by (receiver) (rate({p}loki_lines_truncated_total{{{I}}}[$__rate_interval]))', "legendFormat": "truncated lines {{receiver}}"}],
    w=8, h=8, desc="Pushes retried after an error, lines truncated to maxLineSize.", **ts("reqps"))
d.row("Loki")
d.panel("timeseries", "Loki push latency", PROM, [
    {"expr": f'histogram_quantile(0.5, sum by (receiver, le) (rate({p}loki_push_duration_seconds_bucket{{{I}}}[$__rate_interval])))', "legendFormat": "p50 {{receiver}}"},
    {"expr": f'histogram_quantile(0.99, sum by (receiver, le) (rate({p}loki_push_duration_seconds_bucket{{{I}}}[$__rate_interval])))', "legendFormat": "p99 {{receiver}}"},
    {"expr": f'sum by (receiver) (rate({p}loki_push_duration_seconds_sum{{{I}}}[$__rate_interval])) / sum by (receiver) (rate({p}loki_push_duration_seconds_count{{{I}}}[$__rate_interval]))', "legendFormat": "mean {{receiver}}"}],
    w=12, h=8, desc="Duration of Loki push requests.", **ts("s"))
d.panel("timeseries", "Loki throughput", PROM, [
    {"expr": f'sum by (receiver) (rate({p}loki_entries_sent_total{{{I}}}[$__rate_interval]))', "legendFormat": "entries/s {{receiver}}"},
    {"expr": f'sum by (receiver) (rate({p}loki_entries_spooled_total{{{I}}}[$__rate_interval]))', "legendFormat": "spooled entries/s {{receiver}}"}],
    w=12, h=8, desc="Entries pushed and entries written to the spool.", **ts("reqps"))
d.row("Queues and spool")
d.panel("timeseries", "Receiver queue depth", PROM, [
    {"expr": f'sum by (receiver) ({p}receiver_queue_depth{{{I}}})', "legendFormat": "{{receiver}}"}],
    w=8, h=8, desc="Records waiting in each receiver's bounded queue.", **ts())
d.panel("timeseries", "Loki queue bytes", PROM, [
    {"expr": f'sum by (receiver) ({p}loki_queue_bytes{{{I}}})', "legendFormat": "{{receiver}}"}],
    w=8, h=8, desc="Bytes buffered in memory for Loki.", **ts("bytes"))
d.panel("timeseries", "Loki spool", PROM, [
    {"expr": f'sum by (receiver) ({p}loki_spool_bytes{{{I}}})', "legendFormat": "bytes {{receiver}}"},
    {"expr": f'sum by (receiver) ({p}loki_spool_batches{{{I}}})', "legendFormat": "batches {{receiver}}"}],
    w=8, h=8, desc="Data spooled to disk while Loki is unreachable.", **ts("bytes"))
d.row("Kubernetes API")
d.panel("timeseries", "Enrichment cache", PROM, [
    {"expr": f'sum(rate({p}kube_api_read_cache_hits{{{I}}}[$__rate_interval]))', "legendFormat": "hits"},
    {"expr": f'sum(rate({p}kube_api_read_cache_misses{{{I}}}[$__rate_interval]))', "legendFormat": "misses (API GETs)"}],
    w=24, h=8, desc="Involved-object metadata lookups.", **ts("reqps"))
d.save("exporter-health")
