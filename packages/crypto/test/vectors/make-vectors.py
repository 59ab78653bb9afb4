#!/usr/bin/env python3
"""Writes seed-format and v1 test vectors with an implementation independent of ours.

Uses the `cryptography` package (OpenSSL through Python) and Python's hashlib/hmac. Run it from this folder:

    python3 make-vectors.py > vectors.json

Vectors use fixed nonces, so the output is the same every run and our encrypt-with-nonce can be compared with it
byte for byte. The spec these follow is docs/encryption.md.
"""
import base64
import hashlib
import hmac
import json

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PASSWORDS = [
    "correct horse battery staple, thirty-two+ chars",
    "0123456789abcdef0123456789abcdef",  # exactly 32 characters
    "пароль-шифрования-для-attune-😀-длинный",  # non-ASCII: derivation hashes UTF-8 bytes
]
PLAINTEXTS = [
    "",
    "sk_live_abc123",
    "a" * 16,
    "a" * 64,
    '{"user":"admin","password":"p@ss:word"}',
    "ünïcødé ✓ 🔐 \u0000 nul and newline\n",
    "x" * 1024,
]
CONTEXTS = ["mypack.api_key", "system.db-password", ""]


def derive(password: str) -> bytes:
    return hashlib.sha256(password.encode("utf-8")).digest()


def key_hash(key: bytes) -> str:
    return hmac.new(key, b"attune:key-hash:v1", hashlib.sha256).hexdigest()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def main() -> None:
    vectors = []
    counter = 0
    for p_index, password in enumerate(PASSWORDS):
        key = derive(password)
        aes = AESGCM(key)
        for t_index, plaintext in enumerate(PLAINTEXTS):
            counter += 1
            nonce = hashlib.sha256(f"nonce-{p_index}-{t_index}".encode()).digest()[:12]
            data = plaintext.encode("utf-8")
            seed = b64(nonce) + ":" + b64(aes.encrypt(nonce, data, None))
            context = CONTEXTS[counter % len(CONTEXTS)]
            aad = ("attune:v1:" + context).encode("utf-8")
            v1 = "v1:" + b64(nonce) + ":" + b64(aes.encrypt(nonce, data, aad))
            vectors.append(
                {
                    "password": password,
                    "keyHex": key.hex(),
                    "keyHash": key_hash(key),
                    "plaintext": plaintext,
                    "nonceHex": nonce.hex(),
                    "seed": seed,
                    "context": context,
                    "v1": v1,
                }
            )
    print(json.dumps({"generator": "make-vectors.py (python cryptography AESGCM)", "vectors": vectors}, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
