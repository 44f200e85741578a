"""The standards' test vectors against the library the gateway signs with (gmssl-pyx, through our sm2 module).

SM3: GB/T 32905-2016 Appendix A. SM2: the signature example of GB/T 32918.5-2017 / GM/T 0003.5-2012 Annex A on
the recommended curve (the curve the gateway uses): key, signer id 1234567812345678, message "message digest",
Z_A, e and the signature (r, s) produced with the standard's k. The library draws its own k, so our side of the
vector is: the standard's signature verifies, and Z_A / e computed with the library's SM3 are the standard's.
(GB/T 32918.2's Annex A example uses a 256-bit example curve that GmSSL does not offer.)
"""

from __future__ import annotations

import gmssl_pyx
import pytest
from cryptography.hazmat.primitives import hashes

from gateway.documents import sm2

SM3_VECTORS = {
    b"abc": "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0",
    b"abcd" * 16: "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732",
}

# The recommended curve sm2p256v1 (GB/T 32918.5): a, b, G.
A = "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC"
B = "28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93"
GX = "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7"
GY = "BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0"
# The signature example.
D = "3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8"
PUBLIC = bytes.fromhex(
    "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
    "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"
)
USER_ID = b"1234567812345678"
MESSAGE = b"message digest"
Z_A = "B2E14C5C79C6DF5B85F4FE7ED8DB7A262B9DA7E07CCB0EA9F4747B8CCDA8A4F3"
E = "F0B43E94BA45ACCAACE692ED534382EB17E6AB5A19CE7B31F4486FDFC0D28640"
R = "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3"
S = "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA"
RAW_SIGNATURE = bytes.fromhex(R + S)


@pytest.mark.parametrize("message", list(SM3_VECTORS), ids=["abc", "abcd*16"])
def test_sm3_vectors(message):
    assert sm3_hex(message) == SM3_VECTORS[message]
    reference = hashes.Hash(hashes.SM3())  # OpenSSL's SM3 through pyca/cryptography: a second opinion
    reference.update(message)
    assert reference.finalize().hex() == SM3_VECTORS[message]


def sm3_hex(message: bytes) -> str:
    return sm2.sm3(message).hex()


def test_z_and_e_of_the_signature_example():
    entl = (len(USER_ID) * 8).to_bytes(2, "big")
    z = sm2.sm3(entl + USER_ID + bytes.fromhex(A + B + GX + GY) + PUBLIC)
    assert z.hex().upper() == Z_A
    assert sm2.sm3(z + MESSAGE).hex().upper() == E


def test_the_standards_signature_verifies_raw_and_der():
    assert sm2.verify(PUBLIC, MESSAGE, RAW_SIGNATURE, USER_ID)
    assert sm2.verify(PUBLIC, MESSAGE, sm2.to_der(RAW_SIGNATURE), USER_ID)
    assert gmssl_pyx.sm2_verify_sm3_digest(PUBLIC, bytes.fromhex(E), sm2.to_der(RAW_SIGNATURE))


@pytest.mark.parametrize(
    "public, message, signature, user_id",
    [
        (PUBLIC, MESSAGE + b"!", RAW_SIGNATURE, USER_ID),
        (PUBLIC, MESSAGE, RAW_SIGNATURE, b"1234567812345679"),
        (PUBLIC, MESSAGE, bytes.fromhex(S + R), USER_ID),
        (PUBLIC[:32] + bytes(32), MESSAGE, RAW_SIGNATURE, USER_ID),  # not a point on the curve
        (PUBLIC, MESSAGE, sm2.to_der(RAW_SIGNATURE) + b"\x00", USER_ID),  # trailing bytes after the DER
    ],
    ids=["message", "user-id", "swapped-r-s", "bad-point", "trailing-der"],
)
def test_anything_else_does_not_verify(public, message, signature, user_id):
    assert not sm2.verify(public, message, signature, user_id)


def test_a_signature_made_with_the_standards_key_verifies_under_its_public_key():
    key = sm2.Sm2PrivateKey(bytes.fromhex(D), PUBLIC)
    signature = key.sign(MESSAGE)
    assert sm2.verify(PUBLIC, MESSAGE, signature, USER_ID)
    assert sm2.verify(PUBLIC, MESSAGE, sm2.to_raw(signature), USER_ID)
    assert signature != sm2.to_der(RAW_SIGNATURE)  # a fresh k each time, not the standard's
