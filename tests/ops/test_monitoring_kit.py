"""deploy/prometheus and deploy/grafana: the alerting rules pass `promtool check` and their unit tests, and
the dashboard and the rules query only series the gateway exports, with labels it sets. "Exports" is read
from a running `ltcgw run`'s /metrics after a small real exchange, never from a list written here."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from gateway.workspace.city_system import CitySystem
from gateway.domain.envelope import MessageType
from tests.observability.obs_support import JINAN, PERIOD, YANTAI, ZIBO, Daemon, http_get, wait_for, workspace
from tests.support.sshd import free_port

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
RULES = DEPLOY / "prometheus" / "ltc-gateway.rules.yml"
RULE_TESTS = DEPLOY / "prometheus" / "ltc-gateway.rules.test.yml"
DASHBOARD = DEPLOY / "grafana" / "ltc-gateway.dashboard.json"
TARGET_LABELS = {"instance", "job"}  # Prometheus adds them to every scraped series
# Grafana's variables, replaced as Grafana would before the query goes to Prometheus.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h", "$city": ".*"}


def promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    assert shutil.which("promtool"), "promtool is missing: install Debian's prometheus package (scripts/test does)"
    return subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=120, cwd=cwd)


# --- what a running gateway exports ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def scraped(tmp_path_factory) -> str:
    """A running daemon's /metrics after: a claim routed, delivered and answered with a
    receipt; an unreadable file refused, then sent again (a duplicate); a city's drop gone."""
    root = tmp_path_factory.mktemp("exporter")
    port = free_port()
    config = workspace(root, [JINAN, ZIBO, YANTAI], f"[metrics]\nenabled = true\nport = {port}\n")
    base = f"http://127.0.0.1:{port}/metrics"
    daemon = Daemon(config)
    try:
        wait_for(lambda: _scrape(base), what="/metrics")
        zibo = CitySystem(ZIBO, root / "keys", root / "drops" / ZIBO)
        jinan = CitySystem(JINAN, root / "keys", root / "drops" / JINAN)
        zibo.send(MessageType.A3, JINAN, PERIOD, seed=5)
        zibo.drop_file("broken.xml", b"<not a message")
        wait_for(lambda: jinan.deliveries() and zibo.replies("NACK"), what="the delivery and the NACK")
        zibo.drop_file("broken-again.xml", b"<not a message")  # the same bytes: a duplicate of an unreadable file
        jinan.answer()
        shutil.rmtree(root / "drops" / YANTAI)
        wait_for(lambda: _value(_scrape(base), "ltcgw_decisions_total", outcome="duplicate")
                 and _value(_scrape(base), "ltcgw_decisions_total", outcome="receipt")
                 and _value(_scrape(base), "ltcgw_city_up", city=YANTAI) == 0
                 and _value(_scrape(base), "ltcgw_delivery_seconds_count"), what="the metrics of the exchange")
        return _scrape(base)
    finally:
        assert daemon.stop() == 0


@pytest.fixture(scope="module")
def exported(scraped: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of that scrape: (series name, labels) -> value."""
    return _samples(scraped)


def _scrape(url: str) -> str | None:
    try:
        status, text = http_get(url, timeout=2)
    except OSError:
        return None
    return text if status == 200 else None


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _value(text: str | None, name: str, **labels: str) -> float | None:
    if text is None:
        return None
    for (sample, found), value in _samples(text).items():
        if sample == name and all(dict(found).get(k) == v for k, v in labels.items()):
            return value
    return None


def _labels_by_series(exported) -> dict[str, set[str]]:
    labels: dict[str, set[str]] = {}
    for name, found in exported:
        labels.setdefault(name, set()).update(k for k, _ in found)
    return labels


# --- the metric names ------------------------------------------------------------------------------------

def test_an_unreadable_file_has_one_type_in_every_metric(exported) -> None:
    types = {dict(labels)["type"] for (name, labels) in exported if "type" in dict(labels)}
    assert types <= {t.value for t in MessageType} | {"unreadable"}, types  # no "-", no "None"
    get = lambda name, **want: sum(v for (n, labels), v in exported.items()  # noqa: E731
                                   if n == name and want.items() <= dict(labels).items())
    assert get("ltcgw_messages", type="unreadable", state="REJECTED") == 1
    assert get("ltcgw_decisions_total", outcome="rejected", type="unreadable") == 1
    assert get("ltcgw_decisions_total", outcome="duplicate", type="unreadable") == 1
    assert get("ltcgw_decisions_total", outcome="routed", type="A3") == 1
    assert get("ltcgw_decisions_total", outcome="receipt", type="RECEIPT") == 1


def test_the_alert_counter_is_named_for_alerts_and_starts_at_zero(exported) -> None:
    names = {name for name, _ in exported}
    assert not any("failure" in n or "retries" in n for n in names), sorted(names)
    get = lambda **want: [v for (n, labels), v in exported.items()  # noqa: E731
                          if n == "ltcgw_alerts_total" and want.items() <= dict(labels).items()]
    assert get(kind="city_unreachable")[0] >= 1
    assert get(kind="host_key_refused") == [0]  # exported before it ever happens: increase() sees the first one
    assert {dict(labels)["cause"] for (n, labels) in exported if n == "ltcgw_resends_total"} == {"receipt_overdue", "operator", "sender"}


def test_instance_gauges_do_not_use_prometheus_s_instance_label(exported) -> None:
    for name in ("ltcgw_instance_up", "ltcgw_city_held", "ltcgw_captures_leased"):
        labels = _labels_by_series(exported)[name]
        assert "gateway_instance" in labels and "instance" not in labels, (name, labels)


def test_the_metrics_table_of_the_docs_is_what_the_gateway_exports(scraped) -> None:
    families = {f.name: f.type for f in text_string_to_metric_families(scraped) if f.name.startswith("ltcgw_")}
    exported = {name + ("_total" if kind == "counter" else "") for name, kind in families.items()
                if not (name.endswith("_created") and name.removesuffix("_created") in families)}  # client's start times
    docs = (DEPLOY.parent / "docs" / "operations.md").read_text(encoding="utf-8")
    table = docs.split("### Metrics and `/healthz`", 1)[1].split("###", 1)[0]
    documented = set(re.findall(r"^\| `(ltcgw_\w+)`", table, re.MULTILINE))
    assert documented == exported, (sorted(exported - documented), sorted(documented - exported))


# --- the alerting rules ----------------------------------------------------------------------------------

def test_the_rules_pass_promtool_and_their_unit_tests() -> None:
    checked = promtool("check", "rules", str(RULES))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = promtool("test", "rules", RULE_TESTS.name, cwd=RULE_TESTS.parent)
    assert tested.returncode == 0 and "SUCCESS" in tested.stdout, tested.stdout + tested.stderr
    config = promtool("check", "config", str(DEPLOY / "prometheus" / "prometheus.example.yml"))
    assert config.returncode == 0, config.stdout + config.stderr


def test_a_broken_rule_fails_its_unit_test(tmp_path: Path) -> None:
    """The unit tests can fail: a rule that never fires is caught."""
    (tmp_path / RULES.name).write_text(RULES.read_text().replace("ltcgw_city_up == 0", "ltcgw_city_up == 2"))
    shutil.copy(RULE_TESTS, tmp_path)
    tested = promtool("test", "rules", RULE_TESTS.name, cwd=tmp_path)
    assert tested.returncode != 0 and "LtcgwCityUnreachable" in tested.stdout + tested.stderr


def test_every_alert_has_a_unit_test_and_a_chinese_summary() -> None:
    rules = [r for group in yaml.safe_load(RULES.read_text())["groups"] for r in group["rules"]]
    tested = {case["alertname"] for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
              for case in test.get("alert_rule_test", []) if case.get("exp_alerts")}
    assert {r["alert"] for r in rules} == tested
    for rule in rules:
        assert re.search(r"[\u4e00-\u9fff]", rule["annotations"]["summary"]), rule["alert"]
        assert rule["labels"]["severity"] in ("critical", "warning", "info")


def test_the_rules_query_what_the_gateway_exports(exported) -> None:
    rules = [r for group in yaml.safe_load(RULES.read_text())["groups"] for r in group["rules"]]
    problems = [p for rule in rules for p in _unexported(rule["expr"], exported)]
    assert not problems, problems


def test_the_city_alert_fires_on_the_series_a_running_gateway_exports(exported, tmp_path: Path) -> None:
    """The exporter's own ltcgw_city_up samples, as Prometheus would store them, fed to the rule."""
    cities = [(dict(labels), value) for (name, labels), value in exported.items() if name == "ltcgw_city_up"]
    assert {c["city"] for c, _ in cities} == {JINAN, ZIBO, YANTAI}
    target = {"job": "ltc-gateway", "instance": "127.0.0.1:9470"}
    series = [{"series": "ltcgw_city_up{" + ", ".join(f'{k}="{v}"' for k, v in sorted({**c, **target}.items())) + "}",
               "values": f"{value:g}x15"} for c, value in cities]
    down = [{"exp_labels": {**c, **target, "severity": "warning"}} for c, value in cities if value == 0]
    assert [d["exp_labels"]["city"] for d in down] == [YANTAI]
    case = {"rule_files": [str(RULES)], "evaluation_interval": "1m", "tests": [{
        "interval": "1m", "input_series": series,
        "alert_rule_test": [{"eval_time": "12m", "alertname": "LtcgwCityUnreachable",
                             "exp_alerts": [{**d, "exp_annotations": _annotations(d["exp_labels"]["city"])} for d in down]}],
    }]}
    (tmp_path / "live.test.yml").write_text(json.dumps(case, ensure_ascii=False))  # JSON is YAML
    tested = promtool("test", "rules", "live.test.yml", cwd=tmp_path)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def _annotations(city: str) -> dict[str, str]:
    rule = next(r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]
                if r["alert"] == "LtcgwCityUnreachable")
    return {k: v.replace("{{ $labels.city }}", city) for k, v in rule["annotations"].items()}


# --- the dashboard -----------------------------------------------------------------------------------------

def _dashboard() -> dict:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def _queries(dashboard: dict) -> list[tuple[str, str]]:
    """(where, PromQL) of every panel target."""
    return [(f"panel {p['id']} {p['title']} {t['refId']}", t["expr"])
            for p in dashboard["panels"] for t in p.get("targets", [])]


def test_the_dashboard_is_importable_grafana_json() -> None:
    board = _dashboard()
    assert board["id"] is None and board["uid"] and board["title"] and board["schemaVersion"] >= 36
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        assert {"x", "y", "w", "h"} <= panel["gridPos"].keys() and panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        if panel["type"] == "row":
            continue
        assert panel["type"] in {"stat", "timeseries", "table"} and panel["targets"], panel["title"]
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs)), panel["title"]
    assert len(_queries(board)) >= 15


def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    """promtool parses each query (Grafana's variables replaced) as a recording rule: a typo fails here."""
    rules = []
    for index, (where, expr) in enumerate(_queries(_dashboard())):
        for variable, value in GRAFANA_VARIABLES.items():
            expr = expr.replace(variable, value)
        assert "$" not in expr, f"{where}: a Grafana variable this test does not know: {expr}"
        rules.append({"record": f"dashboard:query_{index}", "expr": expr})
    path = tmp_path / "dashboard.rules.yml"
    path.write_text(json.dumps({"groups": [{"name": "dashboard", "rules": rules}]}))
    checked = promtool("check", "rules", str(path))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    path.write_text(json.dumps({"groups": [{"name": "d", "rules": [{"record": "x", "expr": "sum by (city (ltcgw_city_up)"}]}]}))
    assert promtool("check", "rules", str(path)).returncode != 0  # the check can fail


def test_the_dashboard_queries_what_the_gateway_exports(exported) -> None:
    board = _dashboard()
    problems = [f"{where}: {p}" for where, expr in _queries(board) for p in _unexported(expr, exported)]
    for variable in board["templating"]["list"]:
        if variable["type"] == "query":
            metric, label = re.fullmatch(r"label_values\((\w+), *(\w+)\)", variable["query"]["query"]).groups()
            if label not in _labels_by_series(exported).get(metric, set()):
                problems.append(f"variable {variable['name']}: {metric} has no label {label}")
    assert not problems, problems


def test_the_export_check_finds_a_misnamed_metric(exported) -> None:
    assert _unexported('sum(rate(ltcgw_failures_total{kind="x"}[5m]))', exported) == ["ltcgw_failures_total is not exported"]
    assert _unexported("max by (gateway_instance) (ltcgw_instance_up{instance_name=\"a\"})", exported) == [
        "ltcgw_instance_up has no label instance_name"]
    assert _unexported("sum by (town) (ltcgw_city_up)", exported) == ["by (town): no such label on ltcgw_city_up"]


SELECTOR = re.compile(r"\b(ltcgw_\w+)\s*(?:\{([^}]*)\})?")
GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")


def _unexported(expr: str, exported) -> list[str]:
    """What in `expr` the gateway does not export: metric names, matcher labels, grouping labels."""
    labels = _labels_by_series(exported)
    problems, used = [], []
    for name, matchers in SELECTOR.findall(expr):
        if name not in labels:
            problems.append(f"{name} is not exported")
            continue
        used.append(name)
        for label in re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", matchers or ""):
            if label not in labels[name] | TARGET_LABELS:
                problems.append(f"{name} has no label {label}")
    known = set().union(*(labels[n] for n in used)) | TARGET_LABELS if used else TARGET_LABELS
    for group in GROUPING.findall(expr):
        for label in filter(None, (part.strip() for part in group.split(","))):
            if label not in known:
                problems.append(f"by ({label}): no such label on {', '.join(used)}")
    return problems
