"""Every check the envelope tests make, made twice: on the tree and streamed (gateway.documents.check_stream).

The conftest wraps `check_message` (and, for the signature tests, `verify_message`) so that each file those
tests build (valid, tampered, resigned with wrong figures, hostile, signed by the wrong key, ...) is also
checked in one streamed pass, and the two results must be equal wherever the stream decides. `DECIDED`
counts the files the stream decided, so that a stream deferring everything to the tree cannot pass unseen.
"""

from __future__ import annotations

from collections import Counter
from unittest.mock import patch

from gateway.documents import check, check_stream, signature
from gateway.documents.check import CheckResult, TrustStore
from gateway.documents.envelope import peek_sender
from gateway.documents.keys import certificate_fingerprint
from gateway.domain.findings import Refused

DECIDED: Counter[str] = Counter()
OURS = signature._VERIFY["strict"]  # as imported, before a test replaces a verifier to see which one runs


def same(tree: CheckResult, streamed: CheckResult) -> None:
    for name in CheckResult.__slots__:
        assert getattr(streamed, name) == getattr(tree, name), (name, tree.codes, streamed.codes)


def checked_twice(data: bytes, trust: TrustStore, **options) -> CheckResult:
    options.pop("stream_from", None)
    tree = check.check_tree(data, trust, **options)
    if len(data) <= options.get("max_bytes", check.safe_xml.DEFAULT_MAX):
        options.pop("max_bytes", None)
        streamed = check_stream.check_streamed(data, trust, **options)
        DECIDED["check" if streamed is not None else "check deferred"] += 1
        if streamed is not None:
            same(tree, streamed)
    return tree


def verified_twice(original):
    def verify_message(data, certificates, *, at=None, tree=None, algorithms=None,
                       sm2_user_id=signature.DEFAULT_USER_ID, verifier=None):
        try:
            outcome = original(data, certificates, at=at, tree=tree, algorithms=algorithms, sm2_user_id=sm2_user_id,
                               verifier=verifier)
        except Refused as refused:
            outcome, expected = refused, ("refused", list(refused.findings))
        else:
            expected = ("signed", certificate_fingerprint(outcome.certificate))
        if (verifier or signature.rsa_ecdsa_verifier()) != "strict":
            # The stream verifies with ours whatever the tree was asked to use: hold it to ours on the tree.
            try:
                with patch.dict(signature._VERIFY, strict=OURS):
                    ours = original(data, certificates, at=at, algorithms=algorithms, sm2_user_id=sm2_user_id,
                                    verifier="strict")
            except Refused as refused:
                expected = ("refused", list(refused.findings))
            else:
                expected = ("signed", certificate_fingerprint(ours.certificate))
        root = check.safe_xml.parse(data, max_bytes=len(data)).getroot() if tree is None else None
        sender = peek_sender(root) if root is not None else None
        if sender is not None:
            trust = TrustStore({sender: certificates}, algorithms=None if algorithms is None else {sender: algorithms},
                               sm2_user_ids={sender: sm2_user_id})
            try:
                streamed = check_stream.verified_signature(data, trust, now=at)
            except Refused as refused:
                streamed = ("refused", list(refused.findings))
            else:
                streamed = None if streamed is None else ("signed", certificate_fingerprint(streamed))
            DECIDED["signature" if streamed is not None else "signature deferred"] += 1
            if streamed is not None:
                assert streamed == expected
        if isinstance(outcome, Refused):
            raise outcome
        return outcome

    return verify_message


def wrap(module, monkeypatch) -> None:
    """Make `module`'s checks and verifications twice (not in the timing tests)."""
    if module.__name__.endswith("test_performance"):
        return
    if getattr(module, "check_message", None) is check.check_message:
        monkeypatch.setattr(module, "check_message", checked_twice)
    if getattr(module, "verify_message", None) is signature.verify_message:
        monkeypatch.setattr(module, "verify_message", verified_twice(signature.verify_message))
    if getattr(module, "verify", None) is signature.verify:
        wrapped = verified_twice(signature.verify_message)
        monkeypatch.setattr(module, "verify", lambda data, certificates, *, at=None: wrapped(data, certificates, at=at).root)
