"""Alert meanings are said in zh-CN by default, English on request (`[alerts] language`); the kind stays the
machine key of the webhook payload."""

from __future__ import annotations

from datetime import datetime, timezone

from gateway.observability.alerts import ALERT_KINDS, AlertSink, meaning


class _Hook:
    def __init__(self) -> None:
        self.posted: list[dict] = []

    def post(self, payload: dict) -> bool:
        self.posted.append(payload)
        return True

    def close(self) -> None:
        pass


def _payload(language: str | None) -> dict:
    hook = _Hook()
    options = {} if language is None else {"language": language}
    # message_failed is recorded by the service itself: the sink only passes it on, no ledger needed
    sink = AlertSink(None, webhook=hook, gateway="370000", clock=lambda: datetime(2026, 11, 25, tzinfo=timezone.utc),
                     **options)
    try:
        sink("alert", {"kind": "message_failed", "city": "370300", "cause": "receipt_missing"})
        assert sink.flush(timeout=10)
    finally:
        sink.close()
    [payload] = hook.posted
    return payload


def test_the_webhook_says_the_meaning_in_chinese_by_default() -> None:
    payload = _payload(None)
    assert payload["kind"] == "message_failed" and payload["cause"] == "receipt_missing"
    assert payload["meaning"].startswith("已按重发时间表投递完毕仍未收到回执")


def test_the_webhook_speaks_english_when_configured() -> None:
    assert _payload("en")["meaning"] == ALERT_KINDS["message_failed"]


def test_every_alert_kind_has_its_meaning_in_both_languages() -> None:
    for kind, english in ALERT_KINDS.items():
        assert meaning(kind, "en") == english
        assert meaning(kind, "zh-CN") != english, f"translate the meaning of {kind} in alerts.po"
    assert meaning("no_such_kind") is None


def test_a_reload_changes_the_webhooks_language(tmp_path) -> None:
    from adapters.sqlite_ledger import SqliteLedger
    from gateway.observability.alerts import AlertSettings
    from gateway.observability.events import TransferLog
    from gateway.observability.runtime import Supervision, Watched

    supervision = Supervision(Watched("370000"), TransferLog(), SqliteLedger(tmp_path / "ledger.sqlite3"))
    try:
        assert supervision.sink.language == "zh-CN"
        supervision.watch(Watched("370000", alerts=AlertSettings(language="en")))
        assert supervision.sink.language == "en"
    finally:
        supervision.close()
