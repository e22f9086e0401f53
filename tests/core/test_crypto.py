"""National cryptography: official vectors, interop with independent SM2 implementations, misuse.

Independent references used here, none of them sharing code with yiwang.core.crypto's backends:
`gmssl` (pure Python SM2/SM3), `gmalglib` (C SM2/SM3), hand-written HMAC and Z-value from the
published curve parameters, RFC 8998's SM4-GCM vector.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys

import gmalglib.sm2 as gm_sm2
import gmalglib.sm3 as gm_sm3
import pytest
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from gmssl import sm3 as gmssl_sm3
from gmssl.sm2 import CryptSM2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yiwang.core import crypto
from yiwang.core.crypto import (
    DEFAULT_UID,
    CryptoError,
    Sm2PrivateKey,
    Sm2PublicKey,
    hmac_sm3,
    new_sm3,
    open_secret,
    seal_secret,
    sm2_z_value,
    sm3,
    sm3_hex,
    sm4_decrypt_block,
    sm4_encrypt_block,
    sm4_gcm_decrypt,
    sm4_gcm_encrypt,
)

BACKENDS = crypto.available_sm2_backends()
needs_tongsuopy = pytest.mark.skipif("tongsuopy" not in BACKENDS, reason="tongsuopy not importable here")


# --- SM3: GB/T 32905-2016 ----------------------------------------------------------------------------

SM3_ABC = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
SM3_ABCD16 = "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"


def test_sm3_standard_vectors():
    assert sm3_hex(b"abc") == SM3_ABC
    assert sm3(b"abcd" * 16).hex() == SM3_ABCD16


def test_sm3_cryptography_fallback_matches_vectors():
    # The module picks hashlib when it can; the other path must be right too.
    h = crypto._CryptographySm3(b"ab")
    h.update(b"c")
    assert h.hexdigest() == SM3_ABC
    assert h.digest() == bytes.fromhex(SM3_ABC)  # digest() does not consume the state
    c = h.copy()
    c.update(b"d")
    assert h.hexdigest() == SM3_ABC
    assert c.digest() == sm3(b"abcd")


@pytest.mark.parametrize("size", [0, 1, 55, 56, 63, 64, 65, 119, 128, 1000, 100_003])
def test_sm3_matches_independent_implementations_at_padding_edges(size):
    data = os.urandom(size)
    assert sm3(data) == gm_sm3.SM3(data).digest()
    if size <= 1000:  # gmssl's SM3 is pure Python and slow
        assert sm3_hex(data) == gmssl_sm3.sm3_hash(list(data))


def test_incremental_sm3():
    h = new_sm3(b"abcd" * 8)
    snapshot = h.copy()
    h.update(b"abcd" * 8)
    assert h.hexdigest() == SM3_ABCD16
    assert h.digest() == bytes.fromhex(SM3_ABCD16)
    assert snapshot.digest() == sm3(b"abcd" * 8)
    snapshot.update(b"abcd" * 8)
    assert snapshot.hexdigest() == SM3_ABCD16


def _hmac_reference(key: bytes, data: bytes) -> bytes:
    """RFC 2104 written out over gmalglib's SM3 (block size 64)."""
    if len(key) > 64:
        key = gm_sm3.SM3(key).digest()
    key = key.ljust(64, b"\x00")
    inner = gm_sm3.SM3(bytes(b ^ 0x36 for b in key) + data).digest()
    return gm_sm3.SM3(bytes(b ^ 0x5C for b in key) + inner).digest()


@pytest.mark.parametrize("key_size", [1, 16, 32, 64, 65, 200])
@pytest.mark.parametrize("data_size", [0, 3, 200, 5000])
def test_hmac_sm3_matches_rfc2104_reference(key_size, data_size):
    key, data = os.urandom(key_size), os.urandom(data_size)
    assert hmac_sm3(key, data) == _hmac_reference(key, data)


# --- SM4: GB/T 32907-2016 ----------------------------------------------------------------------------

SM4_KEY = bytes.fromhex("0123456789abcdeffedcba9876543210")


def test_sm4_single_block_vector():
    assert sm4_encrypt_block(SM4_KEY, SM4_KEY).hex() == "681edf34d206965e86b3e94f536e4246"
    assert sm4_decrypt_block(SM4_KEY, bytes.fromhex("681edf34d206965e86b3e94f536e4246")) == SM4_KEY


def test_sm4_million_iterations_vector():
    # ~3 s on the reference machine, so not marked slow.
    block = SM4_KEY
    for _ in range(1_000_000):
        block = sm4_encrypt_block(SM4_KEY, block)
    assert block.hex() == "595298c7c6fd271f0402f804c33d3f66"


@pytest.mark.parametrize(
    ("key", "block"), [(b"k" * 15, b"b" * 16), (b"k" * 16, b"b" * 17), ("k" * 16, b"b" * 16)]
)
def test_sm4_block_rejects_wrong_sizes(key, block):
    with pytest.raises(ValueError):
        sm4_encrypt_block(key, block)


# --- SM4-GCM and sealed secrets -----------------------------------------------------------------------


def test_sm4_gcm_rfc8998_vector():
    # RFC 8998 appendix A.1
    key = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    nonce = bytes.fromhex("00001234567800000000ABCD")
    aad = bytes.fromhex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2")
    plaintext = bytes.fromhex(
        "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD"
        "EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA"
    )
    expected = bytes.fromhex(
        "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735"
        "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D"
        "83DE3541E4C2B58177E065A9BF7B62EC"
    )
    assert crypto._gcm_seal(key, nonce, plaintext, aad) == expected
    assert crypto._gcm_open(key, nonce, expected, aad) == plaintext


@pytest.mark.parametrize("plaintext", [b"", b"x", os.urandom(1000)])
def test_sm4_gcm_round_trip_and_layout(plaintext):
    key = os.urandom(16)
    blob = sm4_gcm_encrypt(key, plaintext, b"aad")
    assert len(blob) == 1 + 12 + len(plaintext) + 16
    assert blob[0] == crypto.GCM_FORMAT_VERSION
    assert sm4_gcm_decrypt(key, blob, b"aad") == plaintext
    assert sm4_gcm_encrypt(key, plaintext, b"aad")[1:13] != blob[1:13]  # fresh nonce each time


def test_sm4_gcm_rejects_any_flipped_bit_position():
    key = os.urandom(16)
    blob = sm4_gcm_encrypt(key, b"private key material", b"ctx")
    for i in range(len(blob)):  # version, nonce, ciphertext and tag alike
        tampered = bytearray(blob)
        tampered[i] ^= 0x01
        with pytest.raises(CryptoError):
            sm4_gcm_decrypt(key, bytes(tampered), b"ctx")


def test_sm4_gcm_wrong_key_wrong_aad_truncation():
    key = os.urandom(16)
    blob = sm4_gcm_encrypt(key, b"secret", b"ctx")
    with pytest.raises(CryptoError):
        sm4_gcm_decrypt(os.urandom(16), blob, b"ctx")
    with pytest.raises(CryptoError):
        sm4_gcm_decrypt(key, blob, b"other")
    with pytest.raises(CryptoError):
        sm4_gcm_decrypt(key, blob)
    for cut in range(len(blob)):
        with pytest.raises(CryptoError):
            sm4_gcm_decrypt(key, blob[:cut], b"ctx")
    with pytest.raises(CryptoError):
        sm4_gcm_decrypt(key, blob + b"\x00", b"ctx")


def test_sm4_gcm_bad_key_size_is_a_programming_error():
    with pytest.raises(ValueError):
        sm4_gcm_encrypt(b"short", b"x")
    with pytest.raises(ValueError):
        sm4_gcm_decrypt(b"k" * 32, b"\x01" * 40)


def test_seal_secret_round_trip_and_text_form():
    master = os.urandom(16)
    sealed = seal_secret(master, b"JBSWY3DPEHPK3PXP", "identity.totp_secret")
    assert isinstance(sealed, str)
    assert sealed.isascii() and all(c.isalnum() or c in "-_" for c in sealed)
    assert open_secret(master, sealed, "identity.totp_secret") == b"JBSWY3DPEHPK3PXP"
    assert seal_secret(master, b"JBSWY3DPEHPK3PXP", "identity.totp_secret") != sealed
    assert open_secret(master, seal_secret(master, b"", "x"), "x") == b""


def test_sealed_secret_is_bound_to_its_context_and_key():
    master = os.urandom(16)
    sealed = seal_secret(master, b"k" * 32, "seals.private_key")
    for context in ("identity.totp_secret", "seals.private_key ", "seals.private_ke"):
        with pytest.raises(CryptoError):
            open_secret(master, sealed, context)
    with pytest.raises(CryptoError):
        open_secret(os.urandom(16), sealed, "seals.private_key")
    # Not even a raw decrypt without the context opens it.
    with pytest.raises(CryptoError):
        sm4_gcm_decrypt(master, base64.urlsafe_b64decode(sealed + "=" * (-len(sealed) % 4)))


@pytest.mark.parametrize(
    "mutate",
    [
        lambda s: s[:-1],
        lambda s: s[:10],
        lambda s: "",
        lambda s: s + "=",
        lambda s: s + "==",
        lambda s: s.replace(s[5], "+" if s[5] != "+" else "/", 1),
        lambda s: s[:5] + "密" + s[6:],
        lambda s: s[:7] + ("A" if s[7] != "A" else "B") + s[8:],
        lambda s: s + "A",
    ],
)
def test_open_secret_rejects_malformed_text(mutate):
    master = os.urandom(16)
    sealed = seal_secret(master, b"secret", "ctx")
    with pytest.raises(CryptoError):
        open_secret(master, mutate(sealed), "ctx")


def test_seal_requires_a_context():
    with pytest.raises(ValueError):
        seal_secret(os.urandom(16), b"x", "")


# --- SM2 ----------------------------------------------------------------------------------------------

# Curve sm2p256v1 as printed in GB/T 32918.5-2017, typed in again here rather than imported.
CURVE_A = "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC"
CURVE_B = "28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93"
CURVE_GX = "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7"
CURVE_GY = "BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0"
CURVE_N = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123", 16)

# A fixed key for the Z-value check: d, and its public point computed by gmalglib.
FIXED_D = bytes.fromhex("3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8")


def test_module_curve_matches_the_published_parameters():
    published = (int(CURVE_A, 16), int(CURVE_B, 16), int(CURVE_GX, 16), int(CURVE_GY, 16), CURVE_N)
    assert published == (crypto.A, crypto.B, crypto.GX, crypto.GY, crypto.N)
    assert int.from_bytes(gm_sm2.SM2_PARAMS_N, "big") == CURVE_N
    assert int.from_bytes(gm_sm2.SM2_PARAMS_P, "big") == crypto.P


def _gmssl(key: Sm2PrivateKey | None = None, pub: Sm2PublicKey | None = None, asn1: bool = False) -> CryptSM2:
    pub = pub or key.public_key()
    cs = CryptSM2(private_key=key.to_bytes().hex() if key else "", public_key="", asn1=asn1)
    # CryptSM2.__init__ strips a leading "04" with str.lstrip("04"), which also eats any leading
    # '0' and '4' hex digits of x; set the 128-hex x||y directly instead.
    cs.public_key = pub.to_bytes()[1:].hex()
    return cs


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def key(backend) -> Sm2PrivateKey:
    return Sm2PrivateKey.generate(backend=backend)


def test_z_value_for_default_id_from_the_curve_parameters(backend):
    key = Sm2PrivateKey.from_bytes(FIXED_D, backend=backend)
    expected_pub = gm_sm2.SM2.get_pk(FIXED_D)
    assert key.public_key().to_bytes() == expected_pub
    entity = (
        (len(b"1234567812345678") * 8).to_bytes(2, "big")
        + b"1234567812345678"
        + bytes.fromhex(CURVE_A + CURVE_B + CURVE_GX + CURVE_GY)
        + expected_pub[1:]
    )
    assert sm2_z_value(key.public_key()) == gm_sm3.SM3(entity).digest()
    assert sm2_z_value(key.public_key(), b"1234567812345678") == gm_sm3.SM3(entity).digest()
    # gmalglib calls Z the "entity info"; check it for another ID as well.
    uid = "张三@gov.cn".encode()
    assert sm2_z_value(key.public_key(), uid) == gm_sm2.SM2(pk=expected_pub, uid=uid).get_entity_info()


def test_our_signatures_verify_in_gmssl(key):
    msg = "营业执照 91310000MA1FL8X25Q".encode()
    assert _gmssl(key).verify_with_sm3(key.sign(msg).hex(), msg)
    assert not _gmssl(key).verify_with_sm3(key.sign(msg).hex(), msg + b"!")
    der = key.sign_der(msg)
    assert _gmssl(key, asn1=True).verify_with_sm3(der.hex(), msg)


def test_gmssl_signatures_verify_with_ours(key):
    msg = b"hello from gmssl"
    pub = key.public_key()
    for _ in range(3):
        sig = _gmssl(key).sign_with_sm3(msg)
        assert pub.verify(msg, bytes.fromhex(sig))
        assert not pub.verify(msg + b"x", bytes.fromhex(sig))
    der = _gmssl(key, asn1=True).sign_with_sm3(msg)
    assert pub.verify_der(msg, bytes.fromhex(der))


@pytest.mark.parametrize("uid", [DEFAULT_UID, b"alice@yiwang.gov.cn", "李四".encode(), b"", b"u" * 300])
def test_interop_with_gmalglib_for_any_signer_id(key, uid):
    msg = os.urandom(333)
    peer = gm_sm2.SM2(sk=key.to_bytes(), uid=uid)
    assert peer.verify(msg, key.sign(msg, uid))
    assert key.public_key().verify(msg, peer.sign(msg), uid)
    assert not key.public_key().verify(msg, peer.sign(msg), uid + b"x")
    assert not peer.verify(msg, key.sign(msg, uid + b"x"))


def test_empty_signer_id_is_distinct_and_round_trips(key):
    sig = key.sign(b"m", b"")
    assert key.public_key().verify(b"m", sig, b"")
    assert not key.public_key().verify(b"m", sig)


@needs_tongsuopy
def test_backends_verify_each_other():
    for signer, verifier in (("tongsuopy", "pure"), ("pure", "tongsuopy")):
        key = Sm2PrivateKey.generate(backend=signer)
        pub = key.public_key().with_backend(verifier)
        for uid in (DEFAULT_UID, b"x@y"):
            assert pub.verify(b"cross", key.sign(b"cross", uid), uid)
            assert pub.verify_der(b"cross", key.sign_der(b"cross", uid), uid)
            assert not pub.verify(b"cross!", key.sign(b"cross", uid), uid)


@needs_tongsuopy
def test_tongsuopy_public_api_agrees_with_our_z_value():
    # tongsuopy's own sign() hashes with an implicit default ID; our prehash path must be the same thing.
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
    from tongsuopy.crypto import hashes as t_hashes
    from tongsuopy.crypto.asymciphers import ec as t_ec

    native = t_ec.generate_private_key(t_ec.SM2())
    key = Sm2PrivateKey(native.private_numbers().private_value)
    r, s = decode_dss_signature(native.sign(b"msg", t_ec.ECDSA(t_hashes.SM3())))
    assert key.public_key().verify(b"msg", r.to_bytes(32, "big") + s.to_bytes(32, "big"))
    native.public_key().verify(key.sign_der(b"msg"), b"msg", t_ec.ECDSA(t_hashes.SM3()))  # raises if bad


def test_tampered_message_and_signature(key):
    pub = key.public_key()
    sig = key.sign(b"message")
    assert pub.verify(b"message", sig)
    assert not pub.verify(b"messagf", sig)
    assert not pub.verify(b"", sig)
    for i in (0, 31, 32, 63):
        bad = bytearray(sig)
        bad[i] ^= 0x80
        assert not pub.verify(b"message", bytes(bad))
    other = Sm2PrivateKey.generate(backend=key.backend).public_key()
    assert not other.verify(b"message", sig)


def _rs(r: int, s: int) -> bytes:
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _der_int(v: int) -> bytes:
    body = v.to_bytes(v.bit_length() // 8 + 1, "big")
    return b"\x02" + bytes([len(body)]) + body


def _der_seq(content: bytes) -> bytes:
    return b"\x30" + bytes([len(content)]) + content


def test_malformed_signatures_are_false_not_errors(key):
    pub = key.public_key()
    msg = b"m"
    good = key.sign(msg)
    r, s = int.from_bytes(good[:32], "big"), int.from_bytes(good[32:], "big")
    bad_rs = [
        b"",
        good[:63],
        good + b"\x00",
        b"\x00" * 64,
        _rs(0, s),
        _rs(r, 0),
        _rs(r, CURVE_N),
        _rs(CURVE_N, s),
        _rs(r, s + CURVE_N) if s + CURVE_N < 2**256 else _rs(r, 2**256 - 1),
        _rs(r, CURVE_N - r),  # r + s = n
        b"\xff" * 64,
        bytearray(b"\x01" * 64),
        None,
        "not bytes",
        good.hex(),
    ]
    for sig in bad_rs:
        assert pub.verify(msg, sig) is False, sig
    der = key.sign_der(msg)
    bad_der = [
        b"",
        b"\x30",
        b"garbage that is not DER at all",
        der + b"\x00",
        der[:-1],
        b"\x30\x81" + bytes([der[1]]) + der[2:],  # long-form length where short is due
        encode_dss_signature(0, s),
        encode_dss_signature(r, CURVE_N),
        encode_dss_signature(r + CURVE_N, s),
        bytes.fromhex("3006020105020107"),  # well-formed, wrong values
        bytes.fromhex("30060201fb020107"),  # negative r
        _der_seq(b"\x02\x22\x00\x00" + r.to_bytes(32, "big") + _der_int(s)),  # r with surplus zeros
        b"\x30" + bytes([100]) + b"\x02" * 100,
        b"\x30" * 5000,
        good,
        None,
    ]
    for sig in bad_der:
        assert pub.verify_der(msg, sig) is False, sig
    assert pub.verify_der(msg, der)


def test_raw_and_pem_round_trips(key):
    pub = key.public_key()
    assert len(key.to_bytes()) == 32
    assert len(pub.to_bytes()) == 65 and pub.to_bytes()[0] == 4
    again = Sm2PrivateKey.from_bytes(key.to_bytes(), backend=key.backend)
    assert again.public_key() == pub
    assert Sm2PrivateKey.from_pem(key.to_pem()).to_bytes() == key.to_bytes()
    assert Sm2PrivateKey.from_pem(key.to_pem().encode()).public_key() == pub
    assert Sm2PublicKey.from_bytes(pub.to_bytes()) == pub
    assert Sm2PublicKey.from_pem(pub.to_pem()) == pub
    assert key.to_pem().startswith("-----BEGIN PRIVATE KEY-----\n")
    assert pub.to_pem().startswith("-----BEGIN PUBLIC KEY-----\n")
    # A re-imported key signs for the same public key.
    assert pub.verify(b"x", Sm2PrivateKey.from_pem(key.to_pem(), backend=key.backend).sign(b"x"))


def test_sealed_private_key_round_trip(key):
    master = os.urandom(16)
    sealed = key.to_sealed(master, "seals.department_key")
    assert key.to_bytes().hex() not in sealed
    assert Sm2PrivateKey.from_sealed(master, sealed, "seals.department_key").to_bytes() == key.to_bytes()
    with pytest.raises(CryptoError):
        Sm2PrivateKey.from_sealed(master, sealed, "identity.totp_secret")


@needs_tongsuopy
def test_pem_is_byte_identical_to_tongsuo_and_loads_there():
    from tongsuopy.crypto import serialization as ts
    from tongsuopy.crypto.asymciphers import ec as t_ec
    from tongsuopy.crypto.serialization import load_pem_private_key, load_pem_public_key

    native = t_ec.generate_private_key(t_ec.SM2())
    key = Sm2PrivateKey(native.private_numbers().private_value, backend="pure")
    native_pem = native.private_bytes(ts.Encoding.PEM, ts.PrivateFormat.PKCS8, ts.NoEncryption())
    native_pub = native.public_key().public_bytes(ts.Encoding.PEM, ts.PublicFormat.SubjectPublicKeyInfo)
    assert key.to_pem().encode() == native_pem
    assert key.public_key().to_pem().encode() == native_pub
    loaded = load_pem_private_key(key.to_pem().encode(), None)
    assert loaded.private_numbers().private_value == native.private_numbers().private_value
    assert load_pem_public_key(key.public_key().to_pem().encode()).public_numbers().x == key.public_key().x


def test_key_import_rejects_bad_material(backend):
    n_bytes, n_minus_1 = CURVE_N.to_bytes(32, "big"), (CURVE_N - 1).to_bytes(32, "big")
    for d in (b"\x00" * 32, n_bytes, n_minus_1, b"\xff" * 32, b"\x01" * 31):
        with pytest.raises(ValueError):
            Sm2PrivateKey.from_bytes(d, backend=backend)
    pub = Sm2PrivateKey.generate(backend=backend).public_key().to_bytes()
    off_curve = pub[:-1] + bytes([pub[-1] ^ 1])
    for data in (off_curve, pub[:-1], b"\x02" + pub[1:33], b"\x03" + pub[1:], b"\x04" + b"\xff" * 64, b""):
        with pytest.raises(ValueError):
            Sm2PublicKey.from_bytes(data, backend=backend)


def test_pem_import_rejects_other_keys_and_mismatches():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    p256 = ec.generate_private_key(ec.SECP256R1())
    p256_pem = p256.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    p256_pub = p256.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(ValueError, match="SM2"):
        Sm2PrivateKey.from_pem(p256_pem)
    with pytest.raises(ValueError, match="SM2"):
        Sm2PublicKey.from_pem(p256_pub)
    key = Sm2PrivateKey.generate()
    with pytest.raises(ValueError, match="PRIVATE KEY"):
        Sm2PrivateKey.from_pem(key.public_key().to_pem())
    with pytest.raises(ValueError):
        Sm2PrivateKey.from_pem("-----BEGIN PRIVATE KEY-----\n!!!\n-----END PRIVATE KEY-----\n")
    # Swap in another key's public point: the PEM no longer holds a key pair.
    other = Sm2PrivateKey.generate().public_key().to_bytes()
    der = crypto._pem_decode(key.to_pem(), "PRIVATE KEY").replace(key.public_key().to_bytes(), other)
    with pytest.raises(ValueError, match="does not match"):
        Sm2PrivateKey.from_pem(crypto._pem_encode(der, "PRIVATE KEY"))


def test_fingerprint_and_repr_do_not_leak(key):
    pub = key.public_key()
    assert pub.fingerprint() == gm_sm3.SM3(pub.to_bytes()).digest().hex()
    assert len(pub.fingerprint()) == 64
    assert key.to_bytes().hex() not in repr(key)
    assert str(key.to_bytes()) not in repr(key)
    assert pub.fingerprint()[:16] in repr(key)


def test_uid_longer_than_entl_allows_is_refused(key):
    with pytest.raises(ValueError):
        key.sign(b"m", b"u" * 8192)
    assert key.public_key().verify(b"m", key.sign(b"m", b"u" * 8191), b"u" * 8191)


def test_backend_selection_from_environment(monkeypatch):
    monkeypatch.setenv("YIWANG_SM2_BACKEND", "pure")
    assert crypto.default_sm2_backend() == "pure"
    assert Sm2PrivateKey.generate().backend == "pure"
    monkeypatch.setenv("YIWANG_SM2_BACKEND", "PURE ")
    assert crypto.default_sm2_backend() == "pure"
    monkeypatch.setenv("YIWANG_SM2_BACKEND", "openssl")
    with pytest.raises(ValueError, match="unknown SM2 backend"):
        Sm2PrivateKey.generate()
    monkeypatch.delenv("YIWANG_SM2_BACKEND")
    assert crypto.default_sm2_backend() == BACKENDS[0]


def test_falls_back_to_pure_when_tongsuopy_cannot_be_imported():
    code = (
        "import sys; sys.modules['tongsuopy'] = None\n"
        "from yiwang.core import crypto\n"
        "assert crypto.available_sm2_backends() == ('pure',), crypto.available_sm2_backends()\n"
        "assert crypto.default_sm2_backend() == 'pure'\n"
        "k = crypto.Sm2PrivateKey.generate(); assert k.public_key().verify(b'm', k.sign(b'm'))\n"
        "try:\n"
        "    crypto.Sm2PrivateKey.generate(backend='tongsuopy')\n"
        "except crypto.CryptoError as e:\n"
        "    print('refused:', e)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "YIWANG_SM2_BACKEND"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert out.returncode == 0, out.stderr
    assert "refused: SM2 backend 'tongsuopy' is not available" in out.stdout


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(message=st.binary(max_size=2048), uid=st.binary(min_size=0, max_size=64))
def test_sign_verify_round_trip_property(backend, message, uid):
    key = _KEYS[backend]
    sig = key.sign(message, uid)
    pub = key.public_key()
    assert pub.verify(message, sig, uid)
    assert pub.verify_der(message, key.sign_der(message, uid), uid)
    assert not pub.verify(message + b"\x00", sig, uid)
    if uid != DEFAULT_UID:
        assert not pub.verify(message, sig, DEFAULT_UID)


# One key per backend for the property test: hypothesis calls it many times per fixture instance.
_KEYS = {name: Sm2PrivateKey.generate(backend=name) for name in BACKENDS}
