"""Real keys for the envelope tests (RSA for one city, ECDSA for another) and the trust store pinning them.

Every test here runs once per RSA/ECDSA verifier: ours (the one at run time), then libxmlsec1 and signxml as
cross-checks: the same attacks must meet the same findings whichever one verifies."""

from __future__ import annotations

import pytest

from tests.envelope.helpers import Party, make_party


@pytest.fixture(autouse=True, params=["strict", "xmlsec", "signxml"])
def verifier(request, monkeypatch) -> str:
    from gateway.documents import signature, xmldsig_xmlsec

    if request.param == "xmlsec":
        # The tests depend on the binding (a cross-check): where it is unusable that check is gone, a failure.
        assert xmldsig_xmlsec.available(), f"libxmlsec1 is not usable here: {xmldsig_xmlsec.UNAVAILABLE}"
    monkeypatch.setattr(signature, "rsa_ecdsa_verifier", lambda: request.param)
    return request.param


@pytest.fixture(scope="session")
def parties(tmp_path_factory) -> dict[str, Party]:
    """Zibo (RSA), Jinan (ECDSA), the gateway, and an attacker who claims to be Zibo."""
    folder = tmp_path_factory.mktemp("keys")
    return {
        "zibo": make_party("370300", folder / "zibo"),
        "jinan": make_party("370100", folder / "jinan", "ecdsa"),
        "gateway": make_party("370000", folder / "gateway"),
        "attacker": make_party("370300", folder / "attacker"),
    }


@pytest.fixture(scope="session")
def trust(parties):
    from gateway.documents.check import TrustStore

    return TrustStore({p.code: [p.cert] for name, p in parties.items() if name != "attacker"})
