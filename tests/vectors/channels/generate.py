"""Build the channel-signing test vectors from the TEST-ONLY keys beside this file.

    .venv/bin/python tests/vectors/channels/generate.py             # rewrite the *.json files
    .venv/bin/python tests/vectors/channels/generate.py --check     # exit 1 if they would change
    .venv/bin/python tests/vectors/channels/generate.py --new-keys  # create missing TEST-ONLY keys

PKCS#1 v1.5 signatures are deterministic and every clock and nonce here is fixed, so the output
only changes when the keys, the cases or the code change. The ``string_to_sign`` entries come from
the channels' published examples and do not depend on any key. Spec: docs/channels/signing.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))  # the repository root, for ``channels``

from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402

# The vector modules live beside this file and import from it; keep them importable.
sys.path.insert(0, str(HERE))

import alipay_cases  # noqa: E402
import unionpay_cases  # noqa: E402
import wechatpay_cases  # noqa: E402

KEY_FILES = {
    "channel": "TEST-ONLY-channel-rsa2048.pem",
    "essc": "TEST-ONLY-essc-rsa2048.pem",
    "stranger": "TEST-ONLY-stranger-rsa2048.pem",
}
KEY_BANNER = b"TEST-ONLY key for the essc-idp channel-signing test vectors. Never deploy it.\n"
BUILDERS: dict[str, Callable[[dict[str, rsa.RSAPrivateKey]], dict[str, Any]]] = {
    "alipay.json": alipay_cases.build,
    "wechatpay.json": wechatpay_cases.build,
    "unionpay.json": unionpay_cases.build,
}


def load_keys(create: bool = False) -> dict[str, rsa.RSAPrivateKey]:
    keys: dict[str, rsa.RSAPrivateKey] = {}
    for role, name in KEY_FILES.items():
        path = HERE / name
        if not path.exists() and create:
            path.write_bytes(KEY_BANNER + _new_pem())
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        keys[role] = key
    return keys


def _new_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def render(keys: dict[str, rsa.RSAPrivateKey]) -> Iterator[tuple[Path, str]]:
    for name, build in BUILDERS.items():
        yield HERE / name, json.dumps(build(keys), ensure_ascii=False, indent=2) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description="Build the channel-signing test vectors.")
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--new-keys", action="store_true")
    args = parser.parse_args()
    stale = []
    for path, text in render(load_keys(create=args.new_keys)):
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(path.name)
        if not args.check:
            path.write_text(text, encoding="utf-8")
    if args.check and stale:
        print("out of date:", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
