"""National cryptography throughput: ours against the peers the design names (DESIGN §4).

    uv run python bench/bench_crypto.py [--seconds 2]

SM2 signs and verifies per second for our default backend, our pure-Python fallback, `gmssl`
(pure Python, the baseline of DESIGN §4) and `gmalglib` (C); SM3 over 1 MiB buffers and 200-byte
messages; HMAC-SM3; SM4-GCM. Prints figures and ratios, asserts nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import time
from collections.abc import Callable

import gmalglib.sm2 as gm_sm2
import gmalglib.sm3 as gm_sm3
from cryptography.hazmat.primitives import hashes
from gmssl import sm3 as gmssl_sm3
from gmssl.sm2 import CryptSM2

from yiwang.core import crypto

MIB = 1 << 20
MESSAGE = "不动产权证书 沪(2024)浦字不动产权第000123号 — 签发".encode().ljust(200, b".")[:200]


def rate(fn: Callable[[], object], seconds: float) -> float:
    """Calls per second of fn, timed for about `seconds` after one warm-up call."""
    fn()
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        fn()
        count += 1
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start)


def fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def row(name: str, *cells: str) -> None:
    print(f"  {name:<34}" + "".join(f"{c:>14}" for c in cells))


def _ours(backend: str, seconds: float) -> tuple[float, float]:
    key = crypto.Sm2PrivateKey.generate(backend=backend)
    pub = key.public_key()
    sig = key.sign(MESSAGE)
    assert pub.verify(MESSAGE, sig)
    return rate(lambda: key.sign(MESSAGE), seconds), rate(lambda: pub.verify(MESSAGE, sig), seconds)


def bench_sm2(seconds: float) -> None:
    default = crypto.default_sm2_backend()
    print(f"\nSM2 sign / verify, {len(MESSAGE)}-byte message, default ID (per second)")
    row("", "sign/s", "verify/s")
    results: dict[str, tuple[float, float]] = {}

    for backend in crypto.available_sm2_backends():
        label = f"yiwang [{backend}]" + (" (default)" if backend == default else "")
        results[backend] = _ours(backend, seconds)
        row(label, *map(fmt, results[backend]))

    key = crypto.Sm2PrivateKey.generate()
    peer = CryptSM2(private_key=key.to_bytes().hex(), public_key="")
    peer.public_key = key.public_key().to_bytes()[1:].hex()  # see tests: gmssl's lstrip("04") bug
    gsig = peer.sign_with_sm3(MESSAGE)
    assert peer.verify_with_sm3(gsig, MESSAGE)
    results["gmssl"] = (
        rate(lambda: peer.sign_with_sm3(MESSAGE), seconds),
        rate(lambda: peer.verify_with_sm3(gsig, MESSAGE), seconds),
    )
    row("gmssl 3.2.2 (pure Python)", *map(fmt, results["gmssl"]))

    g = gm_sm2.SM2(sk=key.to_bytes())
    lsig = g.sign(MESSAGE)
    assert g.verify(MESSAGE, lsig)
    results["gmalglib"] = (
        rate(lambda: g.sign(MESSAGE), seconds),
        rate(lambda: g.verify(MESSAGE, lsig), seconds),
    )
    row("gmalglib 0.5.9 (C)", *map(fmt, results["gmalglib"]))

    ours_sign, ours_verify = results[default]
    gs, gv = results["gmssl"]
    ls, lv = results["gmalglib"]
    print("\n  ratios (our default backend)")
    row("ours / gmssl", f"{ours_sign / gs:.1f}x", f"{ours_verify / gv:.1f}x")
    row("  targets", "≥20x", "≥35x")
    row("ours / gmalglib", f"{ours_sign / ls:.2f}x", f"{ours_verify / lv:.2f}x")
    if "pure" in results and default != "pure":
        ps, pv = results["pure"]
        row("pure fallback / gmssl", f"{ps / gs:.2f}x", f"{pv / gv:.2f}x")


def _cryptography_sm3(data: bytes) -> bytes:
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize()


def bench_sm3(seconds: float) -> None:
    big = os.urandom(MIB)
    small = MESSAGE
    print(f"\nSM3 (ours uses {crypto.SM3_IMPLEMENTATION})")
    row("", "1 MiB: MB/s", "200 B: /s")
    candidates: list[tuple[str, Callable[[bytes], object]]] = [("yiwang sm3()", crypto.sm3)]
    try:
        hashlib.new("sm3")
        candidates.append(("  hashlib.new('sm3')", lambda d: hashlib.new("sm3", d).digest()))
    except ValueError:
        pass
    candidates += [
        ("  cryptography hashes.SM3", _cryptography_sm3),
        ("gmalglib SM3 (C)", lambda d: gm_sm3.SM3(d).digest()),
    ]
    figures: dict[str, tuple[float, float]] = {}
    for name, fn in candidates:
        figures[name] = (
            rate(lambda fn=fn: fn(big), seconds) * MIB / 1e6,
            rate(lambda fn=fn: fn(small), seconds),
        )
        row(name, fmt(figures[name][0]), fmt(figures[name][1]))
    # gmssl's pure-Python SM3 needs seconds per MiB: time one 64 KiB buffer and scale.
    chunk = big[: 64 * 1024]
    gm_big = rate(lambda: gmssl_sm3.sm3_hash(list(chunk)), seconds) * len(chunk) / 1e6
    gm_small = rate(lambda: gmssl_sm3.sm3_hash(list(small)), seconds)
    row("gmssl sm3_hash (pure Python)*", fmt(gm_big), fmt(gm_small))
    ours = figures["yiwang sm3()"]
    row("ours / gmssl", f"{ours[0] / gm_big:,.0f}x", f"{ours[1] / gm_small:,.0f}x")
    print("  * gmssl timed on 64 KiB buffers")

    key = os.urandom(16)
    print("\nHMAC-SM3")
    row("", "1 MiB: MB/s", "200 B: /s")
    row(
        "yiwang hmac_sm3()",
        fmt(rate(lambda: crypto.hmac_sm3(key, big), seconds) * MIB / 1e6),
        fmt(rate(lambda: crypto.hmac_sm3(key, small), seconds)),
    )


def bench_sm4(seconds: float) -> None:
    key = os.urandom(16)
    big = os.urandom(MIB)
    print("\nSM4")
    row("", "1 MiB: MB/s", "200 B: /s")
    row(
        "sm4_gcm_encrypt",
        fmt(rate(lambda: crypto.sm4_gcm_encrypt(key, big), seconds) * MIB / 1e6),
        fmt(rate(lambda: crypto.sm4_gcm_encrypt(key, MESSAGE), seconds)),
    )
    blob_big, blob_small = crypto.sm4_gcm_encrypt(key, big), crypto.sm4_gcm_encrypt(key, MESSAGE)
    row(
        "sm4_gcm_decrypt",
        fmt(rate(lambda: crypto.sm4_gcm_decrypt(key, blob_big), seconds) * MIB / 1e6),
        fmt(rate(lambda: crypto.sm4_gcm_decrypt(key, blob_small), seconds)),
    )
    secret = os.urandom(32)
    sealed = crypto.seal_secret(key, secret, "bench.secret")
    seal_rate = rate(lambda: crypto.seal_secret(key, secret, "bench.secret"), seconds)
    open_rate = rate(lambda: crypto.open_secret(key, sealed, "bench.secret"), seconds)
    row("seal_secret, 32-byte secret", "", fmt(seal_rate))
    row("open_secret, 32-byte secret", "", fmt(open_rate))
    block = os.urandom(16)
    row("sm4_encrypt_block (calls/s)", "", fmt(rate(lambda: crypto.sm4_encrypt_block(key, block), seconds)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement (default 2)")
    args = parser.parse_args()
    print(
        f"yiwang crypto bench — Python {platform.python_version()} on {platform.machine()}, "
        f"{os.cpu_count()} CPUs; SM2 backends {crypto.available_sm2_backends()}, "
        f"default {crypto.default_sm2_backend()}; {args.seconds:g} s per figure"
    )
    bench_sm2(args.seconds)
    bench_sm3(args.seconds)
    bench_sm4(args.seconds)


if __name__ == "__main__":
    main()
