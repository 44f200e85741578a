"""`ltcgw demo`: a month of claims and settlements between simulated city systems, through the real daemon.

The simulated cities behave like the legacy systems the gateway serves: they write `NAME.part` and rename it
into their outbox, read their inbox, and answer each delivery with a signed receipt (one of them late, so a
resend happens). One file is broken on purpose, so a NACK shows what a refusal looks like. A person of one claim
applies to the residence agency, which raises the dispute; the insured city reviews it and the residence agency
answers the applicant (第三十一条). One settlement is paid with a payment advice (第二十六条, its receipt the 到账确认)
and fees recovered from a facility are refunded (第二十九条): every one receipted like any delivery.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from adapters.sqlite_ledger import SqliteLedger
from gateway.config import load_config
from gateway.domain.areas import area_name
from gateway.domain.envelope import Header, MessageType
from gateway.domain.lifecycle import IN_FLIGHT
from gateway.workspace import demo_register
from gateway.workspace.city_system import (
    CitySystem,
    send_application,
    send_dispute_answer,
    send_dispute_result,
    send_payment,
    send_refund,
)
from gateway.workspace.layout import write_workspace

DEMO_CITIES = ("370100", "370200", "370300", "370600", "370700")
DEMO_PERIOD = "2026-10"


# --- the demo ----------------------------------------------------------------------------------------------

def _say(text: str = "") -> None:
    print(text, flush=True)


# The story is told in the reader's language: `ltcgw demo` hands in the CLI's catalog ("cli" domain, which
# extracts this file's `_("...")` too); called from elsewhere, it is told in English, the msgids.
_translate: Callable[[str], str] = str


def _(text: str) -> str:
    return _translate(text)


def run_demo(workdir: Path | None = None, *, keep: bool = False, translate: Callable[[str], str] | None = None) -> int:
    global _translate

    before, _translate = _translate, translate or str
    try:
        return _run_demo(workdir, keep)
    finally:
        _translate = before


def _run_demo(workdir: Path | None, keep: bool) -> int:
    temporary = workdir is None
    root = Path(tempfile.mkdtemp(prefix="ltcgw-demo-")) if temporary else workdir
    started = time.monotonic()
    _say(_("ltc-gateway demo: workspace {root}").format(root=root))
    _say("  " + _("cities: {cities}; service month {period}").format(
        cities=", ".join(f"{c} {area_name(c)}" for c in DEMO_CITIES), period=DEMO_PERIOD))
    config_path = write_workspace(root, list(DEMO_CITIES), retry=["3s", "3s", "3s"], rescan_seconds=0.5,
                                  cross_checks={demo_register.REFUSING: "refuse"})
    config = load_config(config_path)
    cities = {code: CitySystem(code, root / "keys", root / "drops" / code) for code in DEMO_CITIES}
    log = open(root / "gateway.log", "w", encoding="utf-8")
    daemon = subprocess.Popen([sys.executable, "-m", "gateway.entrypoints.cli", "run", "-c", str(config_path)],
                              stdout=log, stderr=subprocess.STDOUT)
    late_city = "370600"  # 烟台's system is slow today: its receipts come after the first resend
    try:
        pairs = [(s, r) for s in DEMO_CITIES for r in DEMO_CITIES if s != r][:12]
        # -- the register of entitlements (issue 12): who is entitled where, before the claims ----------------
        _say("\n" + _("0. insured cities notify entitlements (待遇享受通知, 第十七条); residence cities file 派单 (第十五条) ..."))
        entitled = demo_register.entitle_claims(cities, pairs, DEMO_PERIOD, 4, lambda i: i + 1)
        demo_register.wait_decided(lambda: sum(m.type in ("ENTITLEMENT", "CHANGE_FILING") and m.state.value != "RECEIVED"
                                               for m in SqliteLedger(config.ledger_path).messages()), entitled)
        _say("   " + _("{count} entitlement documents sent for the persons the claims bill").format(count=entitled))
        # ------------------------------------------------------------------------------------------------------
        _say("\n" + _("1. residence cities send their claims (附件3 with 附件1 and 附件2 inside) ..."))
        claims: list[Header] = []
        sent: dict[str, tuple[Header, bytes]] = {}  # claims and settlements as sent, by message id
        for i, (sender, receiver) in enumerate(pairs):
            header, data = cities[sender].send(MessageType.A3, receiver, DEMO_PERIOD, seed=i + 1, persons=4)
            claims.append(header)
            sent[header.message_id] = (header, data)
        broken_header, broken = cities["370300"].pack(MessageType.A3, "370100", DEMO_PERIOD, seed=99, persons=3)
        tampered = broken.replace(b"<TotalCost>", b"<TotalCost>9", 1)  # an amount changed after signing
        cities["370300"].drop_file("A3_tampered.xml", tampered)
        _say("   " + _("{count} claims sent, plus one file altered after signing (from {city})").format(
            count=len(claims), city="370300"))

        _say("\n" + _("2. insured cities receive them, answer with receipts, and settle (附件4) ..."))
        settled: set[str] = set()
        disputed = claims[0]  # a person of this claim applies to its residence agency (第三十一条)
        dispute: tuple[Header, bytes] | None = None
        answer: Header | None = None
        money = _Money(claims[1], claims[2])
        late_started: float | None = None
        twice: Header | None = None
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            for code, city in cities.items():
                if code == late_city:
                    if city.deliveries() and late_started is None:
                        late_started = time.monotonic()
                    if late_started is None or time.monotonic() - late_started < 4.5:
                        continue  # silent until the gateway has resent
                city.answer()
            # the register (issue 12): once a claim to 济南 is delivered, its residence city bills the same persons again
            if twice is None and (twice := demo_register.bill_twice_once_delivered(cities, claims, DEMO_PERIOD, 4)):
                _say("   " + _("{sender} bills the persons of a delivered claim to {receiver} a second time").format(
                    sender=twice.sender, receiver=twice.receiver))
            for header in claims:
                receiver = cities[header.receiver]
                if header.message_id not in settled and any(header.message_id in p.name for p in receiver.deliveries()):
                    sent[header.message_id + "/A4"] = receiver.send(MessageType.A4, header.sender, DEMO_PERIOD,
                                                                    seed=claims.index(header) + 1, persons=4)
                    settled.add(header.message_id)
            if dispute is None and disputed.message_id in settled:
                dispute = send_application(cities[disputed.sender], sent[disputed.message_id], "person", 1)
                _say("   " + _("a person of claim {id} applies at {residence}'s agency, which raises the dispute "
                              "with {insured} (第三十一条)").format(
                    id=disputed.message_id, residence=disputed.sender, insured=disputed.receiver))
            if dispute is not None and answer is None:  # the insured city's review, its part
                insured = cities[dispute[0].receiver]
                arrived = [p for p in insured.deliveries() if dispute[0].message_id in p.name]
                if arrived:
                    answer = send_dispute_answer(insured, arrived[0], 1)
                    _say("   " + _("{city} reviews it: partially accepted").format(city=dispute[0].receiver))
            if answer is not None and money.result is None and any(
                    answer.message_id in p.name for p in cities[disputed.sender].deliveries()):
                money.result = send_dispute_result(cities[disputed.sender], dispute, 1)  # type: ignore[arg-type]
                _say("   " + _("{residence}'s agency answers the applicant and tells {insured}").format(
                    residence=disputed.sender, insured=disputed.receiver))
            money.step(cities, settled, sent)
            ledger_states = Counter(m.state.value for m in SqliteLedger(config.ledger_path).messages())
            open_ = sum(ledger_states[s] for s in IN_FLIGHT)
            if (len(settled) == len(claims) and answer is not None and not open_
                    and money.done and ledger_states["ACKNOWLEDGED"] >= 2 * len(claims) + 5 + entitled):
                break
            time.sleep(0.3)
    finally:
        daemon.terminate()
        daemon.wait(timeout=20)
        log.close()
    _summary(config, cities, time.monotonic() - started)
    if temporary and not keep:
        shutil.rmtree(root, ignore_errors=True)
        _say("\n" + _("(workspace removed; run with --keep or --dir DIR to look around)"))
    else:
        _say("\n" + _("workspace kept: {root} (try: {command})").format(root=root, command=f"ltcgw status -c {config_path}"))
    return 0


class _Money:
    """Issue 13 in the demo: the insured city of one claim pays its settlement (PAYMENT), the residence city of
    another returns fees recovered from a facility (REFUND); each once its settlement is there."""

    def __init__(self, paid: Header, refunded: Header) -> None:
        self.paid, self.refunded = paid, refunded
        self.payment: Header | None = None
        self.refund: Header | None = None
        self.result: Header | None = None

    @property
    def done(self) -> bool:
        return None not in (self.payment, self.refund, self.result)

    def step(self, cities: dict[str, CitySystem], settled: set[str], sent: dict) -> None:
        if self.payment is None and self.paid.message_id in settled:
            self.payment = send_payment(cities[self.paid.receiver], sent[self.paid.message_id + "/A4"][1], 1)
            _say("   " + _("{insured} pays {residence} its settlement (拨付, 第二十六条)").format(
                insured=self.paid.receiver, residence=self.paid.sender))
        if self.refund is None and self.refunded.message_id in settled:
            a4 = sent[self.refunded.message_id + "/A4"][0]
            arrived = [p for p in cities[self.refunded.sender].deliveries() if a4.message_id in p.name]
            if arrived:
                self.refund = send_refund(cities[self.refunded.sender], sent[self.refunded.message_id][1], arrived[0], 2)
                _say("   " + _("{residence} returns fees recovered from a facility to {insured} (追回退回, 第二十九条)").format(
                    residence=self.refunded.sender, insured=self.refunded.receiver))


def _summary(config, cities: dict[str, CitySystem], elapsed: float) -> None:
    ledger = SqliteLedger(config.ledger_path)
    messages = ledger.messages()
    attachments = [m for m in messages if m.type in ("A3", "A4")]
    receipts = [m for m in messages if m.type == "RECEIPT"]
    states = Counter(m.state.value for m in attachments)
    _say("\n" + _("=== summary ({seconds:.0f} s) ===").format(seconds=elapsed))
    _say(_("documents received: {count} (claims A3: {claims}, settlements A4: {settlements})").format(
        count=len(attachments) + sum(1 for m in messages if m.type is None),
        claims=sum(m.type == "A3" for m in attachments), settlements=sum(m.type == "A4" for m in attachments)))
    for state, n in sorted(states.items()):
        _say(f"  {state:<18} {n}")
    flows = Counter((m.sender, m.receiver, m.type) for m in attachments if m.state.value != "REJECTED")
    codes = sorted(cities)
    _say(_("what flowed (row: sender, column: receiver; claims A3 / settlements A4):"))
    _say(" " * 15 + "".join(f"{code:>9}" for code in codes))  # 15: "  CODE 名称" as displayed (CJK is double width)
    for sender in codes:
        cells = [f"{flows[(sender, r, 'A3')]}/{flows[(sender, r, 'A4')]}" if r != sender else "-" for r in codes]
        _say(f"  {sender} {area_name(sender)}" + "".join(f"{cell:>9}" for cell in cells))
    _say(_("receipts forwarded to senders: {count}").format(count=sum(m.state.value == "FORWARDED" for m in receipts)))
    named = {"DISPUTE": _("dispute for an application (第三十一条)"), "DISPUTE_ANSWER": _("the insured city's review"),
             "DISPUTE_RESULT": _("the answer to the applicant"), "PAYMENT": _("payment advice (第二十六条)"),
             "REFUND": _("refund of recovered fees (第二十九条)")}
    for m in messages:
        if m.type in named:
            about = _(" about {id}").format(id=m.reply_to) if m.reply_to else ""
            confirmed = "; 到账确认" if m.type == "PAYMENT" and m.state.value == "ACKNOWLEDGED" else ""
            _say(f"{named[m.type]}: {m.sender}->{m.receiver}{about}, {m.state.value}{confirmed}")
    entitlements = Counter(m.type for m in messages if m.type in ("ENTITLEMENT", "CHANGE_FILING")
                           and m.state.value != "REJECTED")
    _say(_("entitlements carried (the register keeps them, hashed): {notices} notices (第十七条), {filings} 派单 "
           "filings (第十五条)").format(notices=entitlements["ENTITLEMENT"], filings=entitlements["CHANGE_FILING"]))
    _say(_("per city (as sender): received / delivered / waiting for receipt / failed / rejected"))
    for c in ledger.city_counts():
        _say(f"  {c.city} {area_name(c.city)}  {c.received} / {c.delivered} / {c.waiting_for_receipt} / {c.failed} / {c.rejected}")
    resent = [m for m in attachments if m.deliveries > 1]
    _say(_("resends (no receipt in time): {count}").format(count=len(resent)))
    for m in resent[:5]:
        _say(f"  {m.message_id} {m.type} {m.sender}->{m.receiver}: " + _("delivered {count} times, now {state}").format(
            count=m.deliveries, state=m.state.value))
    refused = [m for m in messages if m.state.value == "REJECTED"]
    _say(_("refused (NACK sent to the drop's city): {count}").format(count=len(refused)))
    for m in refused:
        codes = ", ".join(sorted({f['code'] for f in m.findings}))
        _say("  " + _("{id} from {city}: {codes}").format(id=m.message_id or m.sha256[:16], city=m.drop_city, codes=codes))
        for f in m.findings[:3]:
            _say(f"     {f['code']}: {f['message']}")
    acks = sum(len(c.replies("ACK")) for c in cities.values())
    nacks = sum(len(c.replies("NACK")) for c in cities.values())
    _say(_("files in the cities' inboxes: {deliveries} deliveries, {acks} ACK, {nacks} NACK, {receipts} receipts").format(
        deliveries=sum(len(c.deliveries()) for c in cities.values()), acks=acks, nacks=nacks,
        receipts=sum(len(c.replies("RECEIPT")) for c in cities.values())))
