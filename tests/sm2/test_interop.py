"""Interoperability with an independent SM2/SM3 implementation: Debian's OpenSSL 3 command line.

Debian has no GmSSL package (`apt-cache search gmssl` finds only a Go library), so the other side is OpenSSL,
whose SM2/SM3 share no code with GmSSL. It signs and verifies the canonical SignedInfo and digests the
canonical document; the canonical forms themselves come from lxml (libxml2) on both sides, which is what any
XML-DSig implementation on libxml2 (xmlsec1 included) would compute.
"""

from __future__ import annotations

import base64
import re
import subprocess
from pathlib import Path

from lxml import etree

from gateway.documents import safe_xml
from gateway.documents.check import TrustStore, check_message
from gateway.documents.signature import DS

from tests.envelope.helpers import claim_header, packed_sample

NS = {"ds": DS}
DISTID = "distid:1234567812345678"


def _openssl(openssl: str, *args: str) -> bytes:
    return subprocess.run([openssl, *args], check=True, capture_output=True).stdout


def test_our_signature_and_digest_check_out_in_openssl(sm2_parties, openssl, tmp_path):
    zibo = sm2_parties["zibo"]
    data = packed_sample(zibo)
    root = safe_xml.parse(data).getroot()
    signature = root.find("ds:Signature", NS)
    signed_info = tmp_path / "signed_info.bin"
    signed_info.write_bytes(etree.tostring(signature.find("ds:SignedInfo", NS), method="c14n", exclusive=True))
    raw = base64.b64decode(signature.findtext("ds:SignatureValue", namespaces=NS))
    r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    (tmp_path / "signature.der").write_bytes(encode_dss_signature(r, s))
    out = _openssl(openssl, "pkeyutl", "-verify", "-certin", "-inkey", str(zibo.cert_path), "-rawin",
                   "-digest", "sm3", "-pkeyopt", DISTID, "-in", str(signed_info), "-sigfile",
                   str(tmp_path / "signature.der"))
    assert b"Signature Verified Successfully" in out
    # The DigestValue is OpenSSL's SM3 of the canonical document without its signature.
    expected = base64.b64decode(signature.findtext("ds:SignedInfo/ds:Reference/ds:DigestValue", namespaces=NS))
    root.remove(signature)
    document = tmp_path / "document.c14n"
    document.write_bytes(etree.tostring(root, method="c14n", exclusive=True))
    assert _openssl(openssl, "dgst", "-sm3", "-binary", str(document)) == expected
    # And a change is caught there too.
    document.write_bytes(document.read_bytes().replace(b"<Period>", b"<Period> ", 1))
    assert _openssl(openssl, "dgst", "-sm3", "-binary", str(document)) != expected


def _openssl_signed(openssl: str, tmp_path: Path, key: Path, cert: Path, *, method: str, digest_method: str) -> bytes:
    """A message signed the E-Port way by OpenSSL: C14N 1.0, only the enveloped transform, DER SignatureValue."""
    from gateway.documents.envelope import ENVELOPE_NS, header_element
    from gateway.documents.sample import sample_bytes

    message = etree.Element(f"{{{ENVELOPE_NS}}}Message", nsmap={None: ENVELOPE_NS})
    document = etree.fromstring(sample_bytes("A3", "370300", "370100", "2026-10", persons=5, seed=3))
    serial = document.findtext("{urn:ltcgw:settlement:1}Serial")
    message.append(header_element(claim_header(serial=serial)))
    etree.SubElement(message, f"{{{ENVELOPE_NS}}}Body").append(document)
    canonical = tmp_path / "document.c14n"
    canonical.write_bytes(etree.tostring(message, method="c14n"))
    digest = _openssl(openssl, "dgst", "-sm3", "-binary", str(canonical))
    signature = etree.SubElement(message, f"{{{DS}}}Signature", nsmap={"ds": DS})
    signed_info = etree.SubElement(signature, f"{{{DS}}}SignedInfo")
    etree.SubElement(signed_info, f"{{{DS}}}CanonicalizationMethod",
                     Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315")
    etree.SubElement(signed_info, f"{{{DS}}}SignatureMethod", Algorithm=method)
    reference = etree.SubElement(signed_info, f"{{{DS}}}Reference", URI="")
    transforms = etree.SubElement(reference, f"{{{DS}}}Transforms")
    etree.SubElement(transforms, f"{{{DS}}}Transform", Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature")
    etree.SubElement(reference, f"{{{DS}}}DigestMethod", Algorithm=digest_method)
    etree.SubElement(reference, f"{{{DS}}}DigestValue").text = base64.b64encode(digest).decode()
    (tmp_path / "signed_info.bin").write_bytes(etree.tostring(signed_info, method="c14n"))
    _openssl(openssl, "pkeyutl", "-sign", "-inkey", str(key), "-rawin", "-digest", "sm3", "-pkeyopt", DISTID,
             "-in", str(tmp_path / "signed_info.bin"), "-out", str(tmp_path / "signature.der"))
    value = base64.b64encode((tmp_path / "signature.der").read_bytes()).decode()
    etree.SubElement(signature, f"{{{DS}}}SignatureValue").text = value
    der = _openssl(openssl, "x509", "-in", str(cert), "-outform", "DER")
    x509_data = etree.SubElement(etree.SubElement(signature, f"{{{DS}}}KeyInfo"), f"{{{DS}}}X509Data")
    etree.SubElement(x509_data, f"{{{DS}}}X509Certificate").text = base64.b64encode(der).decode()
    return etree.tostring(message, xml_declaration=True, encoding="UTF-8")


def test_a_message_signed_by_openssl_passes_our_whole_check(openssl, tmp_path):
    from gateway.documents.keys import load_certificates

    key, cert = tmp_path / "zibo.key", tmp_path / "zibo.crt"
    _openssl(openssl, "genpkey", "-algorithm", "SM2", "-out", str(key))
    _openssl(openssl, "req", "-new", "-x509", "-key", str(key), "-sm3", "-sigopt", DISTID, "-subj",
             "/C=CN/CN=370300", "-days", "30", "-out", str(cert))
    trust = TrustStore({"370300": load_certificates(cert)}, algorithms={"370300": ("sm2",)})
    for method, digest_method in [
        ("http://www.w3.org/2000/09/xmldsig#sm2-sm3", "http://www.w3.org/2000/09/xmldsig#sm3"),
        ("http://www.chinaport.gov.cn/2022/04/xmldsig#sm2-sm3", "http://www.chinaport.gov.cn/2022/04/xmldsig#sm3"),
        ("http://www.w3.org/2000/09/xmldsig#sm2-sm3", "http://www.w3.org/2007/05/xmldsig-more#sm3"),
    ]:
        data = _openssl_signed(openssl, tmp_path, key, cert, method=method, digest_method=digest_method)
        result = check_message(data, trust)
        assert result.valid, (method, digest_method, result.findings)
        assert result.header.sender == "370300"
        changed = re.sub(rb"<Receiver>370100</Receiver>", b"<Receiver>370200</Receiver>", data)
        assert check_message(changed, trust).codes == ["sig.digest"]
