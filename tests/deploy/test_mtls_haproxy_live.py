"""RFC 8705 through ``deploy/haproxy-mtls.cfg`` as it is: HAProxy terminates TLS, asks for a
client certificate, forwards it as RFC 9440 ``Client-Cert``, and an ``essc serve`` instance
behind it authenticates a ``tls_client_auth`` bank by the certificate's subject and binds its
token to that certificate. A caller's own ``Client-Cert`` header is removed by HAProxy.
Certificates are made here with pyca/cryptography; the client side is ``requests`` (OpenSSL)."""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import jwt
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.live import ROOT
from tests.live import _stop
from tests.live import essc
from tests.live import free_port
from tests.live import hermetic_env
from tests.live import log_tail
from tests.live import serving
from tests.oauth.mtls_certs import Cert
from tests.oauth.mtls_certs import authority
from tests.oauth.mtls_certs import issued
from tests.oauth.mtls_certs import name

pytestmark = pytest.mark.live

CONFIG = ROOT / "deploy" / "haproxy-mtls.cfg"
DN = "CN=bank-server,O=Demo Bank,C=CN"


def _server_cert(ca: Cert) -> Cert:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name("127.0.0.1", org="essc-idp"))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca.key, hashes.SHA256())
    )
    return Cert(cert, key)


def _pem(cert: Cert) -> bytes:
    return cert.certificate.public_bytes(serialization.Encoding.PEM)


def _key_pem(cert: Cert) -> bytes:
    return cert.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _wait_for_tls(proc: subprocess.Popen[bytes], url: str, ca: Path, log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"haproxy exited {proc.returncode}:\n{log_tail(log)}")
        try:
            if requests.get(f"{url}/jwks.json", verify=str(ca), timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)  # waiting for HAProxy to bind and its first health check
    pytest.fail(f"HAProxy at {url} did not answer:\n{log_tail(log)}")


def test_a_bank_authenticates_through_haproxy_with_its_certificate(tmp_path: Path) -> None:
    if shutil.which("haproxy") is None:
        pytest.skip("haproxy is not installed (make system-deps)")
    ca = authority()
    server = _server_cert(ca)
    files = {"ca.pem": _pem(ca), "server.pem": _pem(server) + _key_pem(server)}
    bank = issued(ca, name("bank-server"))
    stranger = issued(ca, name("bank-server", org="Other Bank"))
    for label, cert in (("bank", bank), ("stranger", stranger)):
        files[f"{label}.pem"], files[f"{label}.key"] = _pem(cert), _key_pem(cert)
    for filename, content in files.items():
        (tmp_path / filename).write_bytes(content)

    lb_port, idp_port = free_port(), free_port()
    lb = f"https://127.0.0.1:{lb_port}"
    env = hermetic_env(tmp_path, lb)
    env["ESSC_TLS_CLIENT_CERT_HEADER"] = "Client-Cert"  # from loopback only, the default
    essc(env, tmp_path, "init")
    client = json.loads(
        essc(
            env,
            tmp_path,
            "clients",
            "add",
            "--name",
            "Demo Bank",
            "--kind",
            "merchant",
            "--grant-type",
            "client_credentials",
            "--auth-method",
            "tls_client_auth",
            "--tls-subject-dn",
            DN,
            "--tls-bound",  # a merchant is held to FAPI 2.0: certificate-bound, not DPoP
            "--scope",
            "essc.qr.verify",
        )
    )
    assert "client_secret" not in client
    haproxy_env = dict(
        os.environ,
        ESSC_LB_BIND=f"127.0.0.1:{lb_port}",
        ESSC_TLS_CERT=str(tmp_path / "server.pem"),
        ESSC_CLIENT_CA=str(tmp_path / "ca.pem"),
        ESSC_IDP_1=f"127.0.0.1:{idp_port}",
        ESSC_IDP_2=f"127.0.0.1:{idp_port}",
    )
    log = tmp_path / "haproxy.log"
    with serving(env, tmp_path, idp_port, tmp_path / "idp.log"), log.open("wb") as out:
        proxy = subprocess.Popen(
            ["haproxy", "-db", "-f", str(CONFIG)],
            env=haproxy_env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            verify = str(tmp_path / "ca.pem")
            _wait_for_tls(proxy, lb, tmp_path / "ca.pem", log)
            metadata = requests.get(f"{lb}/.well-known/openid-configuration", verify=verify)
            assert "tls_client_auth" in metadata.json()["token_endpoint_auth_methods_supported"]
            form = {"grant_type": "client_credentials", "client_id": client["client_id"]}

            def token(cert: str | None, **headers: str) -> requests.Response:
                pair = (str(tmp_path / f"{cert}.pem"), str(tmp_path / f"{cert}.key"))
                return requests.post(
                    f"{lb}/token",
                    data=form,
                    cert=pair if cert else None,
                    headers=headers,
                    verify=verify,
                    timeout=10,
                )

            ok = token("bank")
            assert ok.status_code == 200, ok.text
            claims = jwt.decode(ok.json()["access_token"], options={"verify_signature": False})
            assert claims["cnf"] == {"x5t#S256": bank.x5t}
            assert token("stranger").status_code == 401  # chains to the CA, wrong subject
            assert token(None).status_code == 401  # no certificate
            # A caller's own header is dropped by HAProxy, never forwarded.
            assert token(None, **{"Client-Cert": bank.rfc9440()}).status_code == 401
        finally:
            _stop(proxy)
