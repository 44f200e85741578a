"""The city-side kit: keys, sample, pack, verify, receipt, export (for legacy systems, operators, reviewers, tests).

A city whose system cannot sign XML itself exports its document, runs `ltcgw pack` and drops the result; it
checks what it receives with `ltcgw verify` (the very check the gateway runs) and answers with
`ltcgw receipt`. Exit codes: 0 success (or a valid file), 1 a verified file is invalid, 2 usage or I/O error
(141, quietly, when the output's reader stopped early: gateway/entrypoints/cli.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from datetime import datetime, timezone
from hashlib import sha256
from pathlib import Path

from gateway.documents import safe_xml
from gateway.documents.check import CheckResult, TrustStore, check_message
from gateway.documents.envelope import (
    SETTLEMENT_NS,
    file_name,
    new_message_id,
    pack,
    peek_sender,
    read_header,
    reply_file_name,
)
from gateway.documents.keys import KeyFileError, generate_keys, load_certificates, load_private_key
from gateway.documents.replies import make_receipt
from gateway.documents.sm2 import Sm2PrivateKey
from gateway.domain.areas import KNOWN_AREAS
from gateway.domain.envelope import Header, MessageType
from gateway.domain.findings import Refused
from gateway.entrypoints.language import _, current

OK, INVALID, USAGE = 0, 1, 2


class KitError(Exception):
    """A usage or I/O problem: printed on stderr, exit code 2."""


ATTACHMENT_TYPES = [t.value for t in MessageType if t.is_attachment]
DISPUTE_TYPES = [t.value for t in MessageType if t.is_dispute]
ENTITLEMENT_TYPES = [t.value for t in MessageType if t.is_entitlement]  # 第十条, 第十五条, 第十七条
MONEY_TYPES = [t.value for t in MessageType if t.is_money]  # 第二十六条 payment, 第二十九条 refund
WITHDRAWAL_TYPES = [MessageType.WITHDRAWAL.value]  # 撤销: --ref the withdrawn message, like a dispute


def _add_addressing(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sender", required=True, metavar="CODE", help=_("sending area code"))
    p.add_argument("--receiver", required=True, metavar="CODE", help=_("receiving area code"))
    p.add_argument("--period", required=True, metavar="YYYY-MM", help=_("service month"))


def _add_signer(p: argparse.ArgumentParser) -> None:
    p.add_argument("--key", required=True, metavar="KEY", help=_("the signing city's private key (PEM, mode 0600)"))
    p.add_argument("--cert", required=True, metavar="CERT", help=_("its certificate (PEM)"))
    p.add_argument("--sm2-user-id", metavar="ID", help=_("SM2 keys only: the signer id agreed with the gateway "
                   "(default 1234567812345678)"))


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "keys", help=_("make a signing key and self-signed certificate for a city"),
        description=_("Write DIR/CITY.key.pem (mode 0600) and DIR/CITY.crt.pem (self-signed, for pilots and tests). "
        "Send the .crt.pem to the gateway operator to be pinned; never the key."),
    )
    p.add_argument("city", metavar="CITY", help=_("six-digit area code, e.g. 370300"))
    p.add_argument("-o", "--out", metavar="DIR", default=".", help=_("folder to write into (default: here)"))
    p.add_argument("--algorithm", choices=("rsa", "ecdsa", "sm2"), default="rsa",
                   help=_("RSA-2048 (default), ECDSA P-256, or SM2 (国密, certificate signed SM2-with-SM3)"))
    p.add_argument("--days", type=int, default=825, help=_("validity of the certificate in days (default 825)"))
    p.set_defaults(handler=_guarded(_keys))

    p = subparsers.add_parser(
        "sample", help=_("write a sample settlement document (not an envelope)"),
        description=_("Write a made-up but consistent settlement document of TYPE (A1–A5) for tests and pilots; "
        "DISPUTE: a dispute by --sender about the message --ref FILE (--applicant: for a person's or facility's "
        "application, 第三十一条); DISPUTE_ANSWER: the answer (or review) of the dispute --ref FILE; DISPUTE_RESULT: "
        "the residence agency's answer to the applicant of the dispute --ref FILE; WITHDRAWAL: the withdrawal (撤销) "
        "of the message --ref FILE by its sender (cities and month come from FILE). ENTITLEMENT, CHANGE_FILING, "
        "ASSESSMENT_REQUEST: one person's document (the same person for the same seed); ASSESSMENT_RESULT: the "
        "answer to the request --ref FILE, or to the sample request of the same seed. PAYMENT: the insured city "
        "--sender pays the sample A4 of the same seed (or the A4 --ref FILE); REFUND: the residence city --sender "
        "returns fees recovered from the first facility of the sample claim of the same seed."),
    )
    p.add_argument("type", metavar="TYPE",
                   choices=ATTACHMENT_TYPES + DISPUTE_TYPES + ENTITLEMENT_TYPES + MONEY_TYPES + WITHDRAWAL_TYPES,
                   help=_("the document: {types}").format(types=", ".join(ATTACHMENT_TYPES + DISPUTE_TYPES + ENTITLEMENT_TYPES + MONEY_TYPES
                                                     + WITHDRAWAL_TYPES)))
    p.add_argument("--value-date", metavar="YYYY-MM-DD", help=_("PAYMENT, REFUND: the value date (default today)"))
    p.add_argument("--sender", metavar="CODE", help=_("sending area code (DISPUTE_ANSWER: the dispute's receiver)"))
    p.add_argument("--receiver", metavar="CODE", help=_("receiving area code (disputes: the other city of --ref)"))
    p.add_argument("--period", metavar="YYYY-MM", help=_("service month (disputes: --ref's)"))
    p.add_argument("--ref", metavar="FILE", help=_("DISPUTE: the disputed message; DISPUTE_ANSWER: the dispute; WITHDRAWAL: the message withdrawn (撤销)"))
    p.add_argument("--outcome", choices=("accepted", "rejected", "partially_accepted"),
                   default="partially_accepted", help=_("DISPUTE_ANSWER: how it ends (default partially_accepted)"))
    p.add_argument("--applicant", choices=("person", "facility"),
                   help=_("DISPUTE (第三十一条): raised for the application of the disputed document's first person or "
                   "its facility at the residence agency (--sender defaults to the residence city)"))
    p.add_argument("--applied-on", metavar="YYYY-MM-DD", help=_("DISPUTE --applicant: the day of the application "
                   "(default today)"))
    p.add_argument("--kind", choices=("start", "change", "end", "assignment"),
                   help=_("ENTITLEMENT: start (default), change or end (same serial: pack it with a higher --revision); "
                   "CHANGE_FILING: assignment 派单 (default) or change 变更备案"))
    p.add_argument("--persons", type=int, default=20, help=_("number of insured persons (default 20; A3 with 0: a nil "
                   "claim, 零申报)"))
    p.add_argument("--seed", type=int, default=1, help=_("random seed: the same seed gives the same document"))
    p.add_argument("-o", "--output", metavar="FILE", help=_("file to write (default: standard output)"))
    p.set_defaults(handler=_guarded(_sample))

    p = subparsers.add_parser(
        "pack", help=_("put a document into a signed envelope"),
        description=_("Wrap the settlement document DOC in an envelope and sign it with the city's key. The "
        "output is named canonically (see docs/protocol.md) unless -o is given."),
    )
    p.add_argument("document", metavar="DOC", help=_("the settlement document (XML, UTF-8)"))
    p.add_argument("--type", required=True, choices=ATTACHMENT_TYPES + DISPUTE_TYPES + ENTITLEMENT_TYPES + MONEY_TYPES
                   + WITHDRAWAL_TYPES,
                   help=_("which document DOC is"))
    _add_addressing(p)
    _add_signer(p)
    p.add_argument("--ref", metavar="FILE", help=_("DISPUTE, DISPUTE_ANSWER, WITHDRAWAL: the message it is about, as delivered"))
    p.add_argument("--serial", help=_("流水号 (default: the document's own Serial)"))
    p.add_argument("--revision", type=int, default=1, help=_("1 for a first issue; higher to replace it (default 1)"))
    p.add_argument("-o", "--output", metavar="FILE", help=_("file to write (default: the canonical name, here)"))
    p.set_defaults(handler=_guarded(_pack))

    p = subparsers.add_parser(
        "verify", help=_("check a message exactly as the gateway does"),
        description=_("Run the gateway's whole check on FILE: XML safety, signature against the pinned "
        "certificate, envelope schema, header, settlement rules. Exit 0 when valid, 1 when not (every error "
        "is listed as: code line message), 2 on usage or I/O errors."),
    )
    p.add_argument("file", metavar="FILE", help=_("the message to check (as dropped or as delivered)"))
    trust = p.add_mutually_exclusive_group(required=True)
    trust.add_argument("--cert", action="append", metavar="CERT",
                       help=_("certificate(s) to pin for the message's sender (repeatable)"))
    trust.add_argument("-c", "--config", metavar="CONFIG", help=_("the gateway's config: its pinned certificates"))
    p.add_argument("--json", action="store_true", help=_("print the result as JSON"))
    p.add_argument("--sm2-user-id", metavar="ID", help=_("with --cert: the sender's SM2 signer id (default "
                   "1234567812345678)"))
    p.set_defaults(handler=_guarded(_verify))

    p = subparsers.add_parser(
        "receipt", help=_("answer a delivered message with a signed RECEIPT"),
        description=_("Write the signed RECEIPT for the delivered message FILE: accepted, or rejected with "
        "--reject REASON. It goes from the message's receiver back to its sender."),
    )
    p.add_argument("file", metavar="FILE", help=_("the delivered message"))
    _add_signer(p)
    p.add_argument("--reject", metavar="REASON", help=_("decline the message, saying why (no personal data)"))
    p.add_argument("-o", "--output", metavar="FILE", help=_("file to write (default: the canonical name, here)"))
    p.set_defaults(handler=_guarded(_receipt))

    _register_export(subparsers)


def _guarded(handler):
    """Usage and I/O problems become one line on stderr and exit code 2, not a traceback."""

    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except BrokenPipeError:
            raise  # the reader of our output is gone (`| head`): the entry point ends quietly
        except (KitError, KeyFileError, OSError, ValueError) as error:
            print(f"ltcgw {args.command}: {error}", file=sys.stderr)
            return USAGE
        except Refused as refused:
            for finding in refused.findings:
                print(f"ltcgw {args.command}: {_line(finding.code, finding.line, finding.text(current()))}", file=sys.stderr)
            return USAGE

    return run


def _line(code: str, line: int | None, message: str) -> str:
    return f"{code} {line if line else '-'} {message}"


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise KitError(_("cannot read {path}: {error}").format(path=path, error=error.strerror)) from None


def _write(data: bytes, output: str | None, default_name: str | None = None) -> None:
    if output is None and default_name is None:
        # A buffered write may take only part of a large document and return how much (a reader gone, a full
        # disk): write on until all is taken or the error shows.
        rest = memoryview(data)
        while rest:
            rest = rest[sys.stdout.buffer.write(rest):]
        return
    target = Path(output or default_name or "")
    target.write_bytes(data)
    print(target)


def _keys(args: argparse.Namespace) -> int:
    key_path, cert_path = generate_keys(args.city, args.out, algorithm=args.algorithm, days=args.days)
    print(key_path)
    print(cert_path)
    return OK


def _sample(args: argparse.Namespace) -> int:
    from gateway.documents.sample import sample_bytes

    if args.type in DISPUTE_TYPES:
        _write(_sample_dispute(args), args.output)
        return OK
    if args.type in WITHDRAWAL_TYPES:
        _write(_sample_withdrawal(args), args.output)
        return OK
    if args.type in ENTITLEMENT_TYPES:
        _write(_sample_entitlement(args), args.output)
        return OK
    if args.type in MONEY_TYPES and args.ref is not None:
        _write(_sample_payment_of(args), args.output)
        return OK
    missing = [f"--{name}" for name in ("sender", "receiver", "period") if getattr(args, name) is None]
    if missing:
        raise KitError(_("a sample {type} needs {options}").format(type=args.type, options=", ".join(missing)))
    if args.type in MONEY_TYPES:
        from gateway.documents.sample import sample_money
        from gateway.documents.writer import to_bytes

        document = sample_money(args.type, args.sender, args.receiver, args.period, persons=args.persons,
                                seed=args.seed, value_date=_value_date(args))
        _write(to_bytes(document), args.output)
        return OK
    if args.type == MessageType.A3.value and args.persons == 0:  # 零申报: no fees this month (issue 12)
        from gateway.documents.sample import sample_nil_claim
        from gateway.documents.writer import to_bytes

        _write(to_bytes(sample_nil_claim(args.sender, args.receiver, args.period, seed=args.seed)), args.output)
        return OK
    data = sample_bytes(args.type, args.sender, args.receiver, args.period, persons=args.persons, seed=args.seed)
    _write(data, args.output)
    return OK


def _referenced(path: str | None, kind: str) -> tuple[Header, object, bytes]:
    """The message `--ref` names (header, document, bytes): read, not verified (`ltcgw verify` does that)."""
    from gateway.documents.message import NoDocument, open_message

    if path is None:
        raise KitError(_("a {kind} needs --ref FILE: the message it is about").format(kind=kind))
    data = _read(path)
    try:
        opened = open_message(data)
    except (NoDocument, Refused):
        raise KitError(_("{path}: its document does not pass the schema (check it with ltcgw verify)").format(
            path=path)) from None
    if opened.header is None:
        raise KitError(_("{path}: a bare document; --ref names a message (with its header)").format(path=path))
    return opened.header, opened.document, data


def _sample_dispute(args: argparse.Namespace) -> bytes:
    from gateway.documents.sample import sample_dispute, sample_dispute_answer
    from gateway.documents.writer import to_bytes

    header, document, _data = _referenced(args.ref, args.type)
    if args.type == MessageType.DISPUTE.value:
        if not header.type.is_attachment:
            raise KitError(_("{file} is a {type}: a DISPUTE is about a settlement document (A1–A5)").format(
                file=args.ref, type=header.type.value))
        if args.applicant is not None:  # 第三十一条: applied at the residence agency, which raises it
            from datetime import date

            applied = date.fromisoformat(args.applied_on) if args.applied_on else None
            try:
                return to_bytes(sample_dispute(document, header, args.sender or header.residence_city,
                                               seed=args.seed, applicant=args.applicant, applied_on=applied))
            except ValueError as exc:
                raise KitError(str(exc)) from None
        sender = args.sender or header.receiver  # by default the city that received the document objects
        return to_bytes(sample_dispute(document, header, sender, seed=args.seed))
    if header.type is not MessageType.DISPUTE:
        raise KitError(_("{file} is a {type}: a {answer} answers a DISPUTE").format(
            file=args.ref, type=header.type.value, answer=args.type))
    if args.type == MessageType.DISPUTE_RESULT.value:  # the residence agency answered the applicant
        from gateway.documents.sample import sample_dispute_result

        return to_bytes(sample_dispute_result(document, outcome=args.outcome, seed=args.seed))
    if header.type is not MessageType.DISPUTE:
        raise KitError(_("{file} is a {type}: a {answer} answers a DISPUTE").format(
            file=args.ref, type=header.type.value, answer="DISPUTE_ANSWER"))
    return to_bytes(sample_dispute_answer(document, header.receiver, outcome=args.outcome, seed=args.seed))


def _sample_withdrawal(args: argparse.Namespace) -> bytes:
    from gateway.documents.sample import sample_withdrawal
    from gateway.documents.writer import to_bytes

    header, document, _data = _referenced(args.ref, args.type)
    if not header.type.is_attachment:
        raise KitError(_("{file} is a {type}: a WITHDRAWAL withdraws a claim or settlement (A1–A5)").format(
            file=args.ref, type=header.type.value))
    return to_bytes(sample_withdrawal(document, header, seed=args.seed))


def _value_date(args: argparse.Namespace):
    from datetime import date

    return date.fromisoformat(args.value_date) if args.value_date else None


def _sample_payment_of(args: argparse.Namespace) -> bytes:
    """PAYMENT --ref FILE: the payment of the settlement (A4) in FILE, by its insured city."""
    from gateway.documents.sample import sample_payment
    from gateway.documents.writer import to_bytes

    if args.type != MessageType.PAYMENT.value:
        raise KitError(_("--ref is for PAYMENT (the A4 it pays) and disputes; a sample REFUND follows the sample claim"))
    _header, document, _data = _referenced(args.ref, args.type)
    if document.type is not MessageType.A4:
        raise KitError(_("{file} is a {type}: a PAYMENT pays a settlement (A4)").format(
            file=args.ref, type=document.type.value))
    return to_bytes(sample_payment(document, seed=args.seed, value_date=_value_date(args)))
def _sample_entitlement(args: argparse.Namespace) -> bytes:
    from gateway.documents.sample_entitlement import sample_assessment_result, sample_entitlement
    from gateway.documents.writer import to_bytes

    kinds = {"ENTITLEMENT": ("start", "change", "end"), "CHANGE_FILING": ("assignment", "change")}
    if args.kind is not None and args.kind not in kinds.get(args.type, ()):
        raise KitError(_("--kind {kind} is not a kind of {type}").format(kind=args.kind, type=args.type))
    if args.type == MessageType.ASSESSMENT_RESULT.value and args.ref is not None:
        header, document, _data = _referenced(args.ref, args.type)
        if header.type is not MessageType.ASSESSMENT_REQUEST:
            raise KitError(_("{file} is a {type}: an ASSESSMENT_RESULT answers an ASSESSMENT_REQUEST").format(
                file=args.ref, type=header.type.value))
        return to_bytes(sample_assessment_result(document, seed=args.seed))
    missing = [f"--{name}" for name in ("sender", "receiver", "period") if getattr(args, name) is None]
    if missing:
        raise KitError(_("a sample {type} needs {options}").format(type=args.type, options=", ".join(missing)))
    return to_bytes(sample_entitlement(args.type, args.sender, args.receiver, args.period, seed=args.seed,
                                       kind=args.kind))


def _pack(args: argparse.Namespace) -> int:
    document = safe_xml.parse(_read(args.document)).getroot()
    serial = args.serial or _document_serial(document)
    if not serial:
        raise KitError(_("{file} has no Serial (流水号): give one with --serial").format(file=args.document))
    if args.revision < 1:
        raise KitError(_("--revision must be 1 or more"))
    now = datetime.now(timezone.utc)
    header = Header(
        message_id=new_message_id(args.sender, now),
        type=MessageType(args.type),
        sender=args.sender,
        receiver=args.receiver,
        period=args.period,
        serial=serial,
        revision=args.revision,
        created=now.replace(microsecond=0),
    )
    if args.type in DISPUTE_TYPES + WITHDRAWAL_TYPES:
        about, _document, data = _referenced(args.ref, args.type)
        header = replace(header, reply_to=about.message_id, reply_to_sha256=sha256(data).hexdigest())
    elif args.ref is not None:
        raise KitError(_("--ref is for disputes: an {type} names no other message").format(type=args.type))
    data = pack(document, header, _signing_key(args), _one_certificate(args.cert))
    _write(data, args.output, file_name(header))
    return OK


def _document_serial(document) -> str | None:
    node = document.find(f"{{{SETTLEMENT_NS}}}Serial")
    return node.text.strip() if node is not None and node.text else None


def _signing_key(args: argparse.Namespace):
    key = load_private_key(args.key)
    if args.sm2_user_id:
        if not isinstance(key, Sm2PrivateKey):
            raise KitError(_("--sm2-user-id is for SM2 keys only"))
        key = key.with_user_id(args.sm2_user_id.encode())
    return key


def _one_certificate(path: str):
    certificates = load_certificates(path)
    if len(certificates) != 1:
        raise KitError(_("{path} holds {count} certificates; signing needs the one matching the key").format(
            path=path, count=len(certificates)))
    return certificates[0]


def _verify(args: argparse.Namespace) -> int:
    data = _read(args.file)
    options: dict = {}
    if args.config:
        from gateway.config import load_config

        config = load_config(args.config)
        trust = config.trust_store()
        options = {
            "max_bytes": config.max_message_bytes,
            "gateway_code": config.code,
            "known_areas": set(KNOWN_AREAS) | set(config.cities),  # as the daemon's check
            "service_types": {code: city.service_types for code, city in config.cities.items()},
        }
    else:
        certificates = [cert for path in args.cert for cert in load_certificates(path)]
        sender = _sender_of(data)
        user_ids = {sender: args.sm2_user_id.encode()} if sender and args.sm2_user_id else {}
        trust = TrustStore({sender: certificates} if sender else {}, sm2_user_ids=user_ids)
    result = check_message(data, trust, **options)
    if args.json:
        print(json.dumps(_as_json(result), ensure_ascii=False, indent=2))
    else:
        _print_result(args.file, result)
    return OK if result.valid else INVALID


def _sender_of(data: bytes) -> str | None:
    """Whom `--cert` is pinned for: the Sender the file claims (the check then proves it)."""
    try:
        return peek_sender(safe_xml.parse(data).getroot())
    except Refused:
        return None  # check_message reports why


def _as_json(result: CheckResult) -> dict:
    header = result.header if result.header_trusted else None
    return {
        "valid": result.valid,
        "header": None if header is None else {
            "id": header.message_id,
            "type": header.type.value,
            "sender": header.sender,
            "receiver": header.receiver,
            "period": header.period,
            "serial": header.serial,
            "revision": header.revision,
            "ref": header.reply_to,
        },
        "errors": [{"code": f.code, "message": f.message, "line": f.line} for f in result.findings],
    }


def _print_result(name: str, result: CheckResult) -> None:
    header = result.header if result.header_trusted else None
    what = _("{type} {sender} -> {receiver} {period} serial {serial} r{revision} id {id}").format(
        type=header.type.value, sender=header.sender, receiver=header.receiver, period=header.period,
        serial=header.serial, revision=header.revision, id=header.message_id,
    ) if header else _("message (its header is not verified)")
    if result.valid:
        print(_("{file}: valid {what}").format(file=name, what=what))
        return
    print(_("{file}: INVALID {what} ({count} error(s))").format(file=name, what=what, count=len(result.findings)))
    for finding in result.findings:
        print(_line(finding.code, finding.line, finding.text(current())))


def _receipt(args: argparse.Namespace) -> int:
    data = _read(args.file)
    answered = read_header(safe_xml.parse(data).getroot())
    answered_sha256 = sha256(data).hexdigest()
    receipt = make_receipt(
        answered, answered_sha256=answered_sha256, key=_signing_key(args), cert=_one_certificate(args.cert),
        reject_reason=args.reject,
    )
    _write(receipt, args.output, reply_file_name(MessageType.RECEIPT, answered.message_id, answered_sha256))
    return OK


# --- export (issue 14): a claim or settlement as a workbook for the insured city's reviewers ----------------

def _register_export(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "export", help=_("write a claim (A3) or settlement (A4) as a workbook (.xlsx) for reviewers"),
        description=_("Read FILE, a message or a bare document (parsed safely and checked against the schema; "
        "the signature is not verified: ltcgw verify does that), and write its persons and amounts in the "
        "form's columns with Chinese headers: A3 申请单, 机构申请单 (附件1), 个人结算单 (附件2); A4 结算单 and "
        "个人扣款补拨 when it lists them. Amounts are numbers with two decimals, ID numbers are text."),
    )
    p.add_argument("file", metavar="FILE", help=_("an A3 claim or an A4 settlement"))
    p.add_argument("--xlsx", required=True, metavar="OUT", help=_("the workbook to write"))
    p.add_argument("--max-bytes", type=int, default=safe_xml.DEFAULT_MAX, metavar="N",
                   help=_("refuse a larger file (default {limit:,}, the gateway's default limit)").format(limit=safe_xml.DEFAULT_MAX))
    p.set_defaults(handler=_guarded(_export))


def _export(args: argparse.Namespace) -> int:
    """`ltcgw export FILE --xlsx OUT` (issue 14): read like `_referenced`, then the spreadsheet writer."""
    from gateway.documents.message import NoDocument, open_message
    from gateway.documents.spreadsheet import workbook_bytes

    try:
        document = open_message(_read(args.file), max_bytes=args.max_bytes).document
    except NoDocument as exc:
        raise KitError(f"{args.file}: {exc}") from None
    if document.type not in (MessageType.A3, MessageType.A4):
        raise KitError(_("{file}: {type} is neither a claim (A3, 附件3) nor a settlement (A4, 附件4), the documents "
                         "export writes").format(file=args.file, type=document.type.value))
    data = workbook_bytes(document)
    try:
        Path(args.xlsx).write_bytes(data)
    except OSError as error:
        raise KitError(_("cannot write {path}: {error}").format(path=args.xlsx, error=error.strerror)) from None
    rows = len(document.statements) if document.type is MessageType.A3 else len(document.adjustments or [])
    print(_("{file}: {type} {serial} {period}, {rows} {what}, {size:,} bytes").format(
        file=args.xlsx, type=document.type.value, serial=document.serial, period=document.period, rows=rows,
        what="个人结算单" if document.type is MessageType.A3 else "个人扣款补拨", size=len(data)))
    return OK
