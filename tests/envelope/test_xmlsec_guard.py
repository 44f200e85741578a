"""The libxmlsec1 binding (a cross-check in the tests and the bench, not a dependency of the service) is
loaded only where it is safe: never a crash when it is absent, too old or built against another libxml2 than
lxml's. The service never imports it: our own verifier checks every family."""

from __future__ import annotations

import importlib.abc
import logging
import os
import subprocess
import sys
import textwrap
from importlib import metadata

import pytest
from lxml import etree

from gateway.documents import signature, xmldsig_xmlsec
from gateway.domain.findings import Refused

from tests.envelope.helpers import packed_sample, signed_claim

MISMATCH = "(-1, 'lxml & xmlsec libxml2 library version mismatch')"  # what xmlsec >= 1.3.14 raises at import


@pytest.fixture
def verifier() -> None:
    """These tests choose the verifier themselves (overrides the conftest's parametrized one)."""


@pytest.fixture
def fresh_choice():
    signature.rsa_ecdsa_verifier.cache_clear()
    yield
    signature.rsa_ecdsa_verifier.cache_clear()


class _Refuse(importlib.abc.MetaPathFinder):
    """Makes `import xmlsec` fail as a mismatched build does (or as a test that must not import it)."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.asked = False

    def find_spec(self, name, path=None, target=None):
        if name == "xmlsec":
            self.asked = True
            raise self.error
        return None


@pytest.fixture
def refuse_import(monkeypatch):
    def install(error: Exception) -> _Refuse:
        finder = _Refuse(error)
        monkeypatch.delitem(sys.modules, "xmlsec", raising=False)
        monkeypatch.setattr(sys, "meta_path", [finder, *sys.meta_path])
        return finder

    return install


def test_this_machines_binding_is_used():
    binding, reason = xmldsig_xmlsec._load()
    assert reason is None and binding is not None
    assert tuple(binding.get_libxml_version()) == tuple(etree.LIBXML_VERSION)


def test_a_libxml2_mismatch_refused_at_import_is_a_reason_not_a_crash(refuse_import):
    refuse_import(RuntimeError(MISMATCH))
    binding, reason = xmldsig_xmlsec._load()
    assert binding is None and "library version mismatch" in reason


def test_a_binding_on_another_libxml2_is_not_used(monkeypatch):
    monkeypatch.setattr(etree, "LIBXML_VERSION", (2, 9, 14))
    binding, reason = xmldsig_xmlsec._load()
    assert binding is None and "lxml on 2.9.14" in reason


def test_a_binding_too_old_to_check_is_not_even_imported(monkeypatch, refuse_import):
    finder = refuse_import(AssertionError("imported"))
    monkeypatch.setattr(metadata, "version", lambda name: "1.3.13")
    binding, reason = xmldsig_xmlsec._load()
    assert binding is None and "older than 1.3.14" in reason and not finder.asked


def test_no_binding_installed(monkeypatch):
    def missing(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", missing)
    assert xmldsig_xmlsec._load() == (None, "the xmlsec binding is not installed")


def test_asked_for_without_the_binding_our_verifier_verifies_and_it_is_logged_once(parties, monkeypatch, caplog,
                                                                                  fresh_choice):
    from gateway.documents import xmldsig_xmlsec

    monkeypatch.setattr(xmldsig_xmlsec, "_xmlsec", None)
    monkeypatch.setattr(xmldsig_xmlsec, "UNAVAILABLE", "xmlsec runs on libxml2 2.9.14 and lxml on 2.14.6")
    monkeypatch.setenv(signature.ENVIRONMENT, "xmlsec")
    with caplog.at_level(logging.INFO, logger="ltcgw.documents.signature"):
        assert signature.rsa_ecdsa_verifier() == "strict"
        assert signature.rsa_ecdsa_verifier() == "strict"
        zibo = parties["zibo"]
        assert signature.verify_message(signed_claim(zibo), [zibo.cert]).certificate == zibo.cert
        with pytest.raises(Refused) as caught:
            signature.verify(signed_claim(zibo).replace(b"1234.56", b"1234.57"), [zibo.cert])
    assert [f.code for f in caught.value.findings] == ["sig.digest"]
    [record] = caplog.records
    assert record.levelno == logging.WARNING and "2.9.14" in record.getMessage()
    assert "our own verifier" in record.getMessage()


def test_ours_is_the_default_and_the_environment_can_choose_a_cross_check(monkeypatch, fresh_choice):
    monkeypatch.delenv(signature.ENVIRONMENT, raising=False)
    assert signature.rsa_ecdsa_verifier() == "strict"
    for name in ("signxml", "xmlsec", "strict"):
        signature.rsa_ecdsa_verifier.cache_clear()
        monkeypatch.setenv(signature.ENVIRONMENT, name)
        assert signature.rsa_ecdsa_verifier() == name
    signature.rsa_ecdsa_verifier.cache_clear()
    monkeypatch.setenv(signature.ENVIRONMENT, "openssl")
    assert signature.rsa_ecdsa_verifier() == "strict"


def test_the_service_never_imports_the_binding(parties, trust, tmp_path):
    """The whole check in a fresh process where `import xmlsec` fails: it is never even tried, nor signxml
    imported (both are cross-checks in the tests, not dependencies of the service)."""
    import pickle

    (tmp_path / "message.xml").write_bytes(packed_sample(parties["zibo"]))
    (tmp_path / "ecdsa.xml").write_bytes(packed_sample(parties["jinan"], receiver="370300"))
    (tmp_path / "trust.pickle").write_bytes(pickle.dumps(trust))
    script = textwrap.dedent(
        f"""
        import importlib.abc, pickle, sys
        class Mismatched(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name == "xmlsec":
                    raise RuntimeError({MISMATCH!r})
        sys.meta_path.insert(0, Mismatched())
        from pathlib import Path
        from gateway.documents.check import check_message
        folder = Path({str(tmp_path)!r})
        trust = pickle.loads((folder / "trust.pickle").read_bytes())
        for name in ("message.xml", "ecdsa.xml"):
            data = (folder / name).read_bytes()
            print(check_message(data, trust).codes)
            print(check_message(data.replace(b"<Period>", b"<Period> ", 1), trust).codes)
        from gateway.documents.replies import make_ack
        print("xmlsec" in sys.modules, "signxml" in sys.modules)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:5] == ["[]", "['sig.digest']", "[]", "['sig.digest']", "False False"]
