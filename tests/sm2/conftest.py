"""Real SM2 keys for the national-algorithm tests: two SM2 cities, an SM2 attacker posing as Zibo, an RSA city."""

from __future__ import annotations

import shutil

import pytest

from tests.envelope.helpers import Party, make_party


@pytest.fixture(scope="session")
def sm2_parties(tmp_path_factory) -> dict[str, Party]:
    folder = tmp_path_factory.mktemp("sm2-keys")
    return {
        "zibo": make_party("370300", folder / "zibo", "sm2"),
        "jinan": make_party("370100", folder / "jinan", "sm2"),
        "attacker": make_party("370300", folder / "attacker", "sm2"),
        "rsa": make_party("370300", folder / "rsa"),
    }


@pytest.fixture(scope="session")
def openssl() -> str:
    """Debian's OpenSSL 3 command line: an SM2/SM3 implementation independent of GmSSL (scripts/test installs it)."""
    path = shutil.which("openssl")
    assert path, "openssl is needed: scripts/test installs it"
    return path


@pytest.fixture(scope="session")
def parties(sm2_parties) -> dict[str, Party]:
    """The envelope tests' cast, all on SM2, for the RSA/ECDSA tests run again here (test_signature.py)."""
    return {name: sm2_parties[name] for name in ("zibo", "jinan", "attacker")}


@pytest.fixture(autouse=True)
def streamed_too(request, monkeypatch):
    """Each check and verification of these tests is also made streamed, and must agree
    (tests/envelope/differential.py): SM2, and the E-Port shape (C14N 1.0, DER values) of test_interop."""
    from tests.envelope import differential

    differential.wrap(request.module, monkeypatch)
