"""National cryptography (国密): SM3 hashing, SM4 encryption, SM2 signatures.

Everything else in the platform reaches SM2/SM3/SM4 through this module only, so the libraries
underneath can change without touching a caller (DESIGN §4):

* SM3 and HMAC-SM3 (GB/T 32905) and SM4 (GB/T 32907) come from OpenSSL, through `hashlib` and
  `cryptography`.
* SM2 signatures (GB/T 32918, curve sm2p256v1) come from a backend: `tongsuopy` (C, Tongsuo) by
  default, or `pure` (gmalg's pure-Python curve arithmetic) where tongsuopy has no wheel
  (Linux aarch64). `YIWANG_SM2_BACKEND=tongsuopy|pure` forces one. Both backends sign a digest
  e = SM3(Z || M) that this module computes, so the signer ID (Z-value) handling is ours and the
  same for both, and each backend verifies the other's signatures.

Formats: signatures are 64-byte r||s (or DER via `sign_der`/`verify_der`); public keys are 65-byte
04||x||y or a SubjectPublicKeyInfo PEM; private keys are the 32-byte scalar or an unencrypted
PKCS#8 PEM, and at rest they are sealed under the master key (`seal_secret`, `Sm2PrivateKey.to_sealed`).
See docs/crypto.md.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import secrets
from typing import Final, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as _hmac
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = [
    "DEFAULT_UID",
    "CryptoError",
    "Sm2PrivateKey",
    "Sm2PublicKey",
    "Sm3Hash",
    "available_sm2_backends",
    "default_sm2_backend",
    "hmac_sm3",
    "new_sm3",
    "open_secret",
    "seal_secret",
    "sm2_z_value",
    "sm3",
    "sm3_hex",
    "sm4_decrypt_block",
    "sm4_encrypt_block",
    "sm4_gcm_decrypt",
    "sm4_gcm_encrypt",
]


class CryptoError(Exception):
    """Something failed to open or to sign: tampered, wrong key, truncated, or an unknown format.

    The message never says which check failed beyond what the caller could see for itself, so it
    cannot serve as an oracle.
    """


# --------------------------------------------------------------------------------------------------
# SM3
# --------------------------------------------------------------------------------------------------

SM3_DIGEST_SIZE: Final = 32
_SM3_ABC: Final = bytes.fromhex("66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0")


class Sm3Hash(Protocol):
    """An incremental SM3 hasher; `hashlib` objects satisfy it as they are."""

    def update(self, data: bytes, /) -> None: ...

    def digest(self) -> bytes: ...

    def hexdigest(self) -> str: ...

    def copy(self) -> Sm3Hash: ...


class _CryptographySm3:
    """SM3 through `cryptography`, for interpreters whose OpenSSL does not offer SM3 to hashlib."""

    __slots__ = ("_h",)

    def __init__(self, data: bytes = b"", _h: hashes.Hash | None = None) -> None:
        self._h = _h if _h is not None else hashes.Hash(hashes.SM3())
        if data:
            self._h.update(data)

    def update(self, data: bytes, /) -> None:
        self._h.update(data)

    def digest(self) -> bytes:
        # hashlib semantics: digest() may be called again and update() may follow.
        return self._h.copy().finalize()

    def hexdigest(self) -> str:
        return self.digest().hex()

    def copy(self) -> _CryptographySm3:
        return _CryptographySm3(_h=self._h.copy())


def _hashlib_has_sm3() -> bool:
    try:
        return hashlib.new("sm3", b"abc").digest() == _SM3_ABC
    except ValueError:
        return False


# Measured on the 2-core reference machine (bench/bench_crypto.py): equal on 1 MiB buffers
# (~520 MB/s), but hashlib is ~25 % faster on 200-byte messages, which is what the audit chain and
# the SM2 digests hash. hashlib only has SM3 when Python's own OpenSSL provides it.
_HASHLIB_SM3: Final = _hashlib_has_sm3()
SM3_IMPLEMENTATION: Final = "hashlib" if _HASHLIB_SM3 else "cryptography"


def new_sm3(data: bytes = b"") -> Sm3Hash:
    """An incremental SM3 hasher (update / digest / hexdigest / copy), optionally primed with data."""
    if _HASHLIB_SM3:
        return hashlib.new("sm3", data)
    return _CryptographySm3(data)


def sm3(data: bytes) -> bytes:
    """SM3 digest (32 bytes) of data."""
    if _HASHLIB_SM3:
        return hashlib.new("sm3", data).digest()
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize()


def sm3_hex(data: bytes) -> str:
    """SM3 digest of data as 64 lowercase hex characters."""
    return sm3(data).hex()


def hmac_sm3(key: bytes, data: bytes) -> bytes:
    """HMAC-SM3 (RFC 2104 with SM3, 64-byte block) of data under key; 32 bytes."""
    # cryptography's HMAC measured slightly faster than hmac.digest(..., "sm3") and does not depend
    # on hashlib offering SM3.
    h = _hmac.HMAC(key, hashes.SM3())
    h.update(data)
    return h.finalize()


# --------------------------------------------------------------------------------------------------
# SM4
# --------------------------------------------------------------------------------------------------

SM4_KEY_SIZE: Final = 16
SM4_BLOCK_SIZE: Final = 16
GCM_NONCE_SIZE: Final = 12
GCM_TAG_SIZE: Final = 16
# Leading byte of every sm4_gcm_encrypt output; a new layout or algorithm gets a new value.
GCM_FORMAT_VERSION: Final = 1
_GCM_HEADER: Final = bytes([GCM_FORMAT_VERSION])
_GCM_OVERHEAD: Final = len(_GCM_HEADER) + GCM_NONCE_SIZE + GCM_TAG_SIZE


def _require_len(value: bytes, size: int, what: str) -> None:
    if not isinstance(value, bytes | bytearray) or len(value) != size:
        raise ValueError(f"{what} must be {size} bytes")


def sm4_encrypt_block(key: bytes, block: bytes) -> bytes:
    """Raw SM4 encryption of one 16-byte block (ECB, no padding): for test vectors and key checks."""
    _require_len(key, SM4_KEY_SIZE, "SM4 key")
    _require_len(block, SM4_BLOCK_SIZE, "SM4 block")
    return Cipher(algorithms.SM4(key), modes.ECB()).encryptor().update(block)


def sm4_decrypt_block(key: bytes, block: bytes) -> bytes:
    """Raw SM4 decryption of one 16-byte block (ECB, no padding)."""
    _require_len(key, SM4_KEY_SIZE, "SM4 key")
    _require_len(block, SM4_BLOCK_SIZE, "SM4 block")
    return Cipher(algorithms.SM4(key), modes.ECB()).decryptor().update(block)


def _gcm_seal(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """Plain SM4-GCM (RFC 8998): ciphertext || 16-byte tag."""
    enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    if aad:
        enc.authenticate_additional_data(aad)
    ciphertext = enc.update(plaintext) + enc.finalize()
    return ciphertext + enc.tag


def _gcm_open(key: bytes, nonce: bytes, sealed: bytes, aad: bytes) -> bytes:
    ciphertext, tag = sealed[:-GCM_TAG_SIZE], sealed[-GCM_TAG_SIZE:]
    dec = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    if aad:
        dec.authenticate_additional_data(aad)
    plaintext = dec.update(ciphertext)
    try:
        return plaintext + dec.finalize()
    except InvalidTag:
        raise CryptoError("SM4-GCM data did not authenticate (tampered, wrong key or context)") from None


def sm4_gcm_encrypt(key: bytes, plaintext: bytes, aad: bytes = b"") -> bytes:
    """Encrypt and authenticate with SM4-GCM under a 16-byte key.

    Returns version(1) || nonce(12) || ciphertext || tag(16). The nonce is random, so one key may
    seal up to 2**32 values before nonce collisions become a concern. The version byte is
    authenticated along with aad, which is authenticated but not stored: the reader must supply it.
    """
    _require_len(key, SM4_KEY_SIZE, "SM4 key")
    nonce = os.urandom(GCM_NONCE_SIZE)
    return _GCM_HEADER + nonce + _gcm_seal(key, nonce, plaintext, _GCM_HEADER + aad)


def sm4_gcm_decrypt(key: bytes, data: bytes, aad: bytes = b"") -> bytes:
    """Open the output of `sm4_gcm_encrypt`; raises CryptoError if it does not authenticate."""
    _require_len(key, SM4_KEY_SIZE, "SM4 key")
    if not isinstance(data, bytes | bytearray):
        raise TypeError("SM4-GCM data must be bytes")
    if len(data) < _GCM_OVERHEAD:
        raise CryptoError("SM4-GCM data is truncated")
    data = bytes(data)
    if data[:1] != _GCM_HEADER:
        raise CryptoError(f"unknown SM4-GCM format version {data[0]}")
    nonce = data[1 : 1 + GCM_NONCE_SIZE]
    return _gcm_open(key, nonce, data[1 + GCM_NONCE_SIZE :], _GCM_HEADER + aad)


_SEAL_AAD_PREFIX: Final = b"yiwang/seal/v1:"
_B64URL_TEXT: Final = re.compile(r"[A-Za-z0-9_-]+")


def _seal_aad(context: str) -> bytes:
    if not isinstance(context, str) or not context:
        raise ValueError("a sealed secret needs a non-empty context, e.g. 'identity.totp_secret'")
    return _SEAL_AAD_PREFIX + context.encode("utf-8")


def seal_secret(master_key: bytes, secret: bytes, context: str) -> str:
    """Encrypt a secret for a text column: unpadded base64url of `sm4_gcm_encrypt` output.

    context names the column or purpose ("identity.totp_secret", "seals.private_key") and is bound
    into the authenticated data, so a sealed value copied to another column or purpose does not open.
    """
    blob = sm4_gcm_encrypt(master_key, secret, _seal_aad(context))
    return base64.urlsafe_b64encode(blob).rstrip(b"=").decode("ascii")


def open_secret(master_key: bytes, sealed: str, context: str) -> bytes:
    """Inverse of `seal_secret`; raises CryptoError for a tampered, foreign or malformed value."""
    aad = _seal_aad(context)
    if not isinstance(sealed, str) or not _B64URL_TEXT.fullmatch(sealed) or len(sealed) % 4 == 1:
        raise CryptoError("sealed value is not unpadded base64url text")
    try:
        blob = base64.urlsafe_b64decode(sealed + "=" * (-len(sealed) % 4))
    except (binascii.Error, ValueError):
        raise CryptoError("sealed value is not unpadded base64url text") from None
    return sm4_gcm_decrypt(master_key, blob, aad)


# --------------------------------------------------------------------------------------------------
# SM2: curve sm2p256v1 (GB/T 32918.5)
# --------------------------------------------------------------------------------------------------

P: Final = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
A: Final = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
B: Final = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
N: Final = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
GX: Final = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
GY: Final = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0

DEFAULT_UID: Final = b"1234567812345678"
SM2_SIGNATURE_SIZE: Final = 64
_MAX_UID_BYTES: Final = 0xFFFF // 8  # ENTL is the ID length in bits, in two bytes
_CURVE_Z_PART: Final = b"".join(v.to_bytes(32, "big") for v in (A, B, GX, GY))
# A DER SM2 signature is at most 72 bytes; anything much longer is refused before parsing.
_MAX_DER_SIGNATURE: Final = 80

Point = tuple[int, int]


def _on_curve(x: int, y: int) -> bool:
    return 0 <= x < P and 0 <= y < P and (y * y - (x * x * x + A * x + B)) % P == 0


def _z_value(x: int, y: int, uid: bytes) -> bytes:
    if not isinstance(uid, bytes | bytearray):
        raise TypeError("uid must be bytes")
    if len(uid) > _MAX_UID_BYTES:
        raise ValueError(f"SM2 signer ID is limited to {_MAX_UID_BYTES} bytes")
    entl = (len(uid) * 8).to_bytes(2, "big")
    return sm3(entl + bytes(uid) + _CURVE_Z_PART + x.to_bytes(32, "big") + y.to_bytes(32, "big"))


class _Sm2Backend(Protocol):
    """What a backend supplies: raw SM2 over a digest e that this module has already computed."""

    name: str

    def load_private(self, d: int) -> tuple[object, Point]: ...

    def load_public(self, x: int, y: int) -> object: ...

    def sign_digest(self, handle: object, e: bytes) -> tuple[int, int]: ...

    def verify_digest(self, handle: object, e: bytes, r: int, s: int) -> bool: ...


class _PureBackend:
    """gmalg's pure-Python curve arithmetic with the SM2 equations written out here.

    gmalg's own SM2 class hashes Z || M with its pure-Python SM3 and refuses an empty ID; using only
    its curve (ECDLP) keeps the digest on OpenSSL's SM3 and the ID handling identical to tongsuopy.
    Not constant-time: it is the fallback for platforms without a tongsuopy wheel.
    """

    name = "pure"

    def __init__(self) -> None:
        from gmalg.ellipticcurve import ECDLP

        self._ecdlp = ECDLP(P, A, B, (GX, GY), N)

    def load_private(self, d: int) -> tuple[object, Point]:
        # (1 + d)^-1 is needed by every signature; compute it once per key.
        return (d, pow(1 + d, -1, N)), self._ecdlp.kG(d)

    def load_public(self, x: int, y: int) -> object:
        return (x, y)

    def sign_digest(self, handle: object, e: bytes) -> tuple[int, int]:
        d, inv_1d = handle  # type: ignore[misc]
        e_int = int.from_bytes(e, "big")
        while True:
            k = secrets.randbelow(N - 1) + 1
            x1, _ = self._ecdlp.kG(k)
            r = (e_int + x1) % N
            if r == 0 or r + k == N:
                continue
            s = inv_1d * (k - r * d) % N
            if s:
                return r, s

    def verify_digest(self, handle: object, e: bytes, r: int, s: int) -> bool:
        t = (r + s) % N
        if t == 0:
            return False
        ec = self._ecdlp.ec
        point = ec.add(self._ecdlp.kG(s), ec.mul(t, handle))
        if point == ec.INF:
            return False
        return (int.from_bytes(e, "big") + point[0]) % N == r


class _TongsuoBackend:
    """Tongsuo (OpenSSL fork) through tongsuopy's cffi bindings.

    tongsuopy's public `sign()` hashes the message itself with the implicit default ID and offers no
    way to pass another one, so we call EVP_PKEY_sign/EVP_PKEY_verify on the SM2 key with our own
    e = SM3(Z || M): Tongsuo's SM2 method signs a given digest as is (no second Z). The test suite
    proves both directions against gmssl and gmalglib, and against tongsuopy's own `sign()`.
    """

    name = "tongsuopy"

    def __init__(self) -> None:
        from tongsuopy.backends.tongsuo import backend as ossl
        from tongsuopy.crypto.asymciphers import ec as tec

        self._ossl = ossl
        self._lib = ossl._lib
        self._ffi = ossl._ffi
        self._tec = tec

    def load_private(self, d: int) -> tuple[object, Point]:
        key = self._tec.derive_private_key(d, self._tec.SM2())
        numbers = key.public_key().public_numbers()
        return key, (numbers.x, numbers.y)

    def load_public(self, x: int, y: int) -> object:
        encoded = b"\x04" + x.to_bytes(32, "big") + y.to_bytes(32, "big")
        return self._tec.EllipticCurvePublicKey.from_encoded_point(self._tec.SM2(), encoded)

    def sign_digest(self, handle: object, e: bytes) -> tuple[int, int]:
        lib, ffi = self._lib, self._ffi
        ctx = lib.EVP_PKEY_CTX_new(handle._evp_pkey, ffi.NULL)  # type: ignore[attr-defined]
        if ctx == ffi.NULL:
            self._ossl._consume_errors()
            raise CryptoError("SM2 signing context could not be created")
        try:
            buf = ffi.new("unsigned char[]", _MAX_DER_SIGNATURE)
            size = ffi.new("size_t *", _MAX_DER_SIGNATURE)
            if lib.EVP_PKEY_sign_init(ctx) != 1 or lib.EVP_PKEY_sign(ctx, buf, size, e, len(e)) != 1:
                self._ossl._consume_errors()
                raise CryptoError("SM2 signing failed")
            return decode_dss_signature(ffi.buffer(buf, size[0])[:])
        finally:
            lib.EVP_PKEY_CTX_free(ctx)

    def verify_digest(self, handle: object, e: bytes, r: int, s: int) -> bool:
        lib, ffi = self._lib, self._ffi
        der = encode_dss_signature(r, s)
        ctx = lib.EVP_PKEY_CTX_new(handle._evp_pkey, ffi.NULL)  # type: ignore[attr-defined]
        if ctx == ffi.NULL:
            self._ossl._consume_errors()
            return False
        try:
            ok = (
                lib.EVP_PKEY_verify_init(ctx) == 1 and lib.EVP_PKEY_verify(ctx, der, len(der), e, len(e)) == 1
            )
            if not ok:
                # A failed verify leaves entries on this thread's OpenSSL error queue; clear them so
                # they are not blamed on the next, unrelated OpenSSL call.
                self._ossl._consume_errors()
            return ok
        finally:
            lib.EVP_PKEY_CTX_free(ctx)


BACKEND_ENV: Final = "YIWANG_SM2_BACKEND"
_BACKEND_NAMES: Final = ("tongsuopy", "pure")


def _load_backends() -> tuple[dict[str, _Sm2Backend], str]:
    loaded: dict[str, _Sm2Backend] = {"pure": _PureBackend()}
    why_not = ""
    try:
        loaded["tongsuopy"] = _TongsuoBackend()
    except (ImportError, OSError) as exc:  # no wheel for this platform, or its shared library failed
        why_not = f"{type(exc).__name__}: {exc}"
    return loaded, why_not


# Filled once at import and never changed: the backends are stateless.
_BACKENDS, _TONGSUO_IMPORT_ERROR = _load_backends()


def available_sm2_backends() -> tuple[str, ...]:
    """Names of the SM2 backends that can run here, fastest first."""
    return tuple(name for name in _BACKEND_NAMES if name in _BACKENDS)


def default_sm2_backend() -> str:
    """The backend new keys use: YIWANG_SM2_BACKEND if set, else tongsuopy if it imports, else pure."""
    wanted = os.environ.get(BACKEND_ENV, "").strip().lower()
    if not wanted:
        return "tongsuopy" if "tongsuopy" in _BACKENDS else "pure"
    return _resolve_backend(wanted).name


def _resolve_backend(name: str | None) -> _Sm2Backend:
    if name is None:
        name = default_sm2_backend()
    if name not in _BACKEND_NAMES:
        raise ValueError(f"unknown SM2 backend {name!r}; choose one of {', '.join(_BACKEND_NAMES)}")
    backend = _BACKENDS.get(name)
    if backend is None:
        raise CryptoError(f"SM2 backend {name!r} is not available here ({_TONGSUO_IMPORT_ERROR})")
    return backend


# --- minimal DER, only for the fixed key structures below ------------------------------------------

_OID_EC_PUBLIC_KEY: Final = bytes.fromhex("06072a8648ce3d0201")  # 1.2.840.10045.2.1
_OID_SM2P256V1: Final = bytes.fromhex("06082a811ccf5501822d")  # 1.2.156.10197.1.301


def _der(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + content


_ALGORITHM_ID: Final = _der(0x30, _OID_EC_PUBLIC_KEY + _OID_SM2P256V1)


def _der_items(data: bytes) -> list[tuple[int, bytes]]:
    """Split a concatenation of DER TLVs; strict definite, minimal lengths; ValueError otherwise."""
    items: list[tuple[int, bytes]] = []
    pos = 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise ValueError("truncated DER")
        tag, first = data[pos], data[pos + 1]
        pos += 2
        if first < 0x80:
            length = first
        else:
            count = first & 0x7F
            if count == 0 or count > 4 or pos + count > len(data):
                raise ValueError("bad DER length")
            length = int.from_bytes(data[pos : pos + count], "big")
            if length < 0x80 or data[pos] == 0:
                raise ValueError("non-minimal DER length")
            pos += count
        if pos + length > len(data):
            raise ValueError("truncated DER")
        items.append((tag, data[pos : pos + length]))
        pos += length
    return items


def _der_one(data: bytes, tag: int) -> bytes:
    items = _der_items(data)
    if len(items) != 1 or items[0][0] != tag:
        raise ValueError("unexpected DER structure")
    return items[0][1]


def _pem_encode(der: bytes, label: str) -> str:
    body = base64.b64encode(der).decode("ascii")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n"


def _pem_decode(pem: str | bytes, label: str) -> bytes:
    text = pem.decode("ascii", "replace") if isinstance(pem, bytes | bytearray) else pem
    match = re.search(rf"-----BEGIN {label}-----(.*?)-----END {label}-----", text, re.S)
    if match is None:
        found = re.search(r"-----BEGIN ([A-Z0-9 ]+)-----", text)
        hint = f" (found {found.group(1)!r})" if found else ""
        raise ValueError(f"expected a PEM block labelled {label!r}{hint}")
    try:
        return base64.b64decode("".join(match.group(1).split()), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("PEM body is not valid base64") from None


def _encode_point(x: int, y: int) -> bytes:
    return b"\x04" + x.to_bytes(32, "big") + y.to_bytes(32, "big")


def _decode_point(data: bytes) -> Point:
    if not isinstance(data, bytes | bytearray) or len(data) != 65 or data[0] != 0x04:
        raise ValueError("an SM2 public key is 65 bytes: 04 || x || y (uncompressed)")
    x, y = int.from_bytes(data[1:33], "big"), int.from_bytes(data[33:], "big")
    if not _on_curve(x, y):
        raise ValueError("point is not on the SM2 curve")
    return x, y


def _der_to_rs(signature: bytes) -> tuple[int, int] | None:
    if not isinstance(signature, bytes | bytearray) or not 8 <= len(signature) <= _MAX_DER_SIGNATURE:
        return None
    try:
        r, s = decode_dss_signature(bytes(signature))
    except (ValueError, TypeError):
        return None
    # Only the one canonical encoding of (r, s) counts, so a signature has one byte form.
    if encode_dss_signature(r, s) != signature:
        return None
    return r, s


class Sm2PublicKey:
    """An SM2 public key on sm2p256v1 (immutable; equal keys compare equal)."""

    __slots__ = ("_backend", "_handle", "_x", "_y", "_z_default")

    def __init__(self, x: int, y: int, *, backend: str | None = None) -> None:
        if not _on_curve(x, y):
            raise ValueError("point is not on the SM2 curve")
        self._backend = _resolve_backend(backend)
        self._x, self._y = x, y
        self._handle = self._backend.load_public(x, y)
        # Almost every signature uses the default ID: its Z-value is worked out once per key.
        self._z_default = _z_value(x, y, DEFAULT_UID)

    @classmethod
    def from_bytes(cls, data: bytes, *, backend: str | None = None) -> Sm2PublicKey:
        """From the 65-byte uncompressed point 04 || x || y; ValueError if it is not on the curve."""
        x, y = _decode_point(data)
        return cls(x, y, backend=backend)

    @classmethod
    def from_pem(cls, pem: str | bytes, *, backend: str | None = None) -> Sm2PublicKey:
        """From a SubjectPublicKeyInfo PEM ("PUBLIC KEY") with id-ecPublicKey and sm2p256v1."""
        spki = _der_items(_der_one(_pem_decode(pem, "PUBLIC KEY"), 0x30))
        if len(spki) != 2 or spki[0] != (0x30, _ALGORITHM_ID[2:]) or spki[1][0] != 0x03:
            raise ValueError("not an SM2 public key (expected id-ecPublicKey with curve sm2p256v1)")
        bits = spki[1][1]
        if bits[:1] != b"\x00":
            raise ValueError("malformed public key BIT STRING")
        return cls.from_bytes(bits[1:], backend=backend)

    @property
    def backend(self) -> str:
        return self._backend.name

    @property
    def x(self) -> int:
        return self._x

    @property
    def y(self) -> int:
        return self._y

    def to_bytes(self) -> bytes:
        """The 65-byte uncompressed point 04 || x || y."""
        return _encode_point(self._x, self._y)

    def to_pem(self) -> str:
        """SubjectPublicKeyInfo PEM, as OpenSSL/Tongsuo write it for an SM2 key."""
        spki = _ALGORITHM_ID + _der(0x03, b"\x00" + self.to_bytes())
        return _pem_encode(_der(0x30, spki), "PUBLIC KEY")

    def fingerprint(self) -> str:
        """SM3 hex of the uncompressed point: a stable name for the key in logs and the audit chain."""
        return sm3_hex(self.to_bytes())

    def with_backend(self, backend: str) -> Sm2PublicKey:
        """The same key on another backend (cross-checks and benchmarks)."""
        return Sm2PublicKey(self._x, self._y, backend=backend)

    def _digest(self, message: bytes, uid: bytes) -> bytes:
        z = self._z_default if uid == DEFAULT_UID else _z_value(self._x, self._y, uid)
        h = new_sm3(z)
        h.update(message)
        return h.digest()

    def _verify_rs(self, message: bytes, r: int, s: int, uid: bytes) -> bool:
        if not (0 < r < N and 0 < s < N) or (r + s) % N == 0:
            return False
        return self._backend.verify_digest(self._handle, self._digest(message, uid), r, s)

    def verify(self, message: bytes, signature: bytes, uid: bytes = DEFAULT_UID) -> bool:
        """Check a 64-byte r || s signature. Any malformed signature gives False, never an exception."""
        if not isinstance(signature, bytes | bytearray) or len(signature) != SM2_SIGNATURE_SIZE:
            return False
        r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        return self._verify_rs(message, r, s, uid)

    def verify_der(self, message: bytes, signature: bytes, uid: bytes = DEFAULT_UID) -> bool:
        """Check a DER SEQUENCE { r, s } signature (canonical DER only); False when malformed."""
        rs = _der_to_rs(signature)
        if rs is None:
            return False
        return self._verify_rs(message, rs[0], rs[1], uid)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sm2PublicKey):
            return NotImplemented
        return (self._x, self._y) == (other._x, other._y)

    def __hash__(self) -> int:
        return hash((self._x, self._y))

    def __repr__(self) -> str:
        return f"Sm2PublicKey(fingerprint={self.fingerprint()[:16]}…, backend={self.backend})"


class Sm2PrivateKey:
    """An SM2 private key. Its repr never shows the scalar; store it sealed (`to_sealed`)."""

    __slots__ = ("_backend", "_d", "_handle", "_public")

    def __init__(self, d: int, *, backend: str | None = None) -> None:
        # d = n - 1 is excluded by GB/T 32918: signing divides by (1 + d).
        if not isinstance(d, int) or not 1 <= d <= N - 2:
            raise ValueError("SM2 private key must be an integer in [1, n-2]")
        self._backend = _resolve_backend(backend)
        self._d = d
        self._handle, (x, y) = self._backend.load_private(d)
        self._public = Sm2PublicKey(x, y, backend=self._backend.name)

    @classmethod
    def generate(cls, *, backend: str | None = None) -> Sm2PrivateKey:
        """A fresh key from the operating system's CSPRNG."""
        return cls(secrets.randbelow(N - 2) + 1, backend=backend)

    @classmethod
    def from_bytes(cls, data: bytes, *, backend: str | None = None) -> Sm2PrivateKey:
        """From the 32-byte big-endian scalar."""
        _require_len(data, 32, "SM2 private key")
        return cls(int.from_bytes(data, "big"), backend=backend)

    @classmethod
    def from_pem(cls, pem: str | bytes, *, backend: str | None = None) -> Sm2PrivateKey:
        """From an unencrypted PKCS#8 PEM ("PRIVATE KEY") holding an SM2 key, as OpenSSL writes it."""
        fields = _der_items(_der_one(_pem_decode(pem, "PRIVATE KEY"), 0x30))
        if len(fields) < 3 or fields[0] not in ((0x02, b"\x00"), (0x02, b"\x01")):
            raise ValueError("not a PKCS#8 private key")
        if fields[1] != (0x30, _ALGORITHM_ID[2:]) or fields[2][0] != 0x04:
            raise ValueError("not an SM2 private key (expected id-ecPublicKey with curve sm2p256v1)")
        ec_key = _der_items(_der_one(fields[2][1], 0x30))
        if len(ec_key) < 2 or ec_key[0] != (0x02, b"\x01") or ec_key[1][0] != 0x04:
            raise ValueError("malformed ECPrivateKey")
        scalar = ec_key[1][1]
        if not 1 <= len(scalar) <= 32:
            raise ValueError("malformed SM2 private scalar")
        key = cls(int.from_bytes(scalar, "big"), backend=backend)
        for tag, value in ec_key[2:]:
            if tag == 0xA0 and value != _OID_SM2P256V1:
                raise ValueError("ECPrivateKey names a curve other than sm2p256v1")
            if tag == 0xA1:
                bits = _der_one(value, 0x03)
                if bits != b"\x00" + key._public.to_bytes():
                    raise ValueError("the public key stored in the PEM does not match its private key")
        return key

    @classmethod
    def from_sealed(
        cls, master_key: bytes, sealed: str, context: str, *, backend: str | None = None
    ) -> Sm2PrivateKey:
        """Open a key sealed by `to_sealed`; CryptoError if it does not authenticate."""
        return cls.from_bytes(open_secret(master_key, sealed, context), backend=backend)

    @property
    def backend(self) -> str:
        return self._backend.name

    def public_key(self) -> Sm2PublicKey:
        return self._public

    def to_bytes(self) -> bytes:
        """The 32-byte big-endian scalar: secret, seal it before it touches storage."""
        return self._d.to_bytes(32, "big")

    def to_pem(self) -> str:
        """Unencrypted PKCS#8 PEM, byte-for-byte what OpenSSL/Tongsuo write for an SM2 key."""
        ec_key = _der(
            0x30,
            _der(0x02, b"\x01")
            + _der(0x04, self.to_bytes())
            + _der(0xA1, _der(0x03, b"\x00" + self._public.to_bytes())),
        )
        pkcs8 = _der(0x02, b"\x00") + _ALGORITHM_ID + _der(0x04, ec_key)
        return _pem_encode(_der(0x30, pkcs8), "PRIVATE KEY")

    def to_sealed(self, master_key: bytes, context: str) -> str:
        """The scalar sealed under the master key (`seal_secret`), for a text column."""
        return seal_secret(master_key, self.to_bytes(), context)

    def _sign_rs(self, message: bytes, uid: bytes) -> tuple[int, int]:
        return self._backend.sign_digest(self._handle, self._public._digest(message, uid))

    def sign(self, message: bytes, uid: bytes = DEFAULT_UID) -> bytes:
        """SM2 signature with SM3 over Z(uid) || message, as 64-byte r || s."""
        r, s = self._sign_rs(message, uid)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def sign_der(self, message: bytes, uid: bytes = DEFAULT_UID) -> bytes:
        """The same signature as DER SEQUENCE { INTEGER r, INTEGER s } (GB/T 35276 SM2Signature)."""
        return encode_dss_signature(*self._sign_rs(message, uid))

    def __repr__(self) -> str:
        return f"Sm2PrivateKey(public={self._public.fingerprint()[:16]}…, backend={self.backend})"


def sm2_z_value(public_key: Sm2PublicKey, uid: bytes = DEFAULT_UID) -> bytes:
    """Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA), the signer-identity prefix of GB/T 32918.2."""
    return _z_value(public_key.x, public_key.y, uid)
