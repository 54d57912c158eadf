"""The shipped deployment files: the nginx server block passes ``nginx -t`` and the systemd
units pass ``systemd-analyze verify`` (each skipped, with the reason, where the tool is
missing); the nginx limit matches the service's."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO

DEPLOY = REPO / "deploy"


def test_nginx_body_limit_matches_the_service() -> None:
    from arayis_cli.web.config import MAX_BODY_BYTES

    conf = (DEPLOY / "nginx" / "arayis.conf").read_text(encoding="utf-8")
    limit = re.search(r"client_max_body_size (\d+)m;", conf)
    assert limit is not None and int(limit.group(1)) * 1024 * 1024 == MAX_BODY_BYTES
    # The real client address, replacing what the client sent; the official host only.
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in conf
    assert "$proxy_add_x_forwarded_for" not in conf
    assert "return 444;" in conf and "default_server" in conf
    serve = (DEPLOY / "systemd" / "arayis-serve.service").read_text(encoding="utf-8")
    assert "--host 127.0.0.1" in serve and "--trusted-proxy 127.0.0.1" in serve
    assert "proxy_pass http://127.0.0.1:8080;" in conf and "--port 8080" in serve


def test_nginx_accepts_the_server_block(tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
    if nginx is None:
        pytest.skip("nginx is not installed here (apt-get install nginx-light to check)")
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
    from cryptography.hazmat.primitives.hashes import SHA256
    from cryptography.x509.oid import NameOID

    key = generate_private_key(SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "arayis.azersu.az")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, SHA256())
    )
    (tmp_path / "fullchain.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "privkey.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    # The shipped block as it is, only the TLS files pointed at this test's own.
    site = (DEPLOY / "nginx" / "arayis.conf").read_text(encoding="utf-8")
    (tmp_path / "site.conf").write_text(
        site.replace("/etc/ssl/arayis/", f"{tmp_path}/"), encoding="utf-8"
    )
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n  access_log off;\n  include {tmp_path}/site.conf;\n}}\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [nginx, "-t", "-q", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_systemd_units_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here")
    units = sorted((DEPLOY / "systemd").glob("arayis-*"))
    assert {u.name for u in units} >= {
        "arayis-serve.service",
        "arayis-outbox.service",
        "arayis-outbox.timer",
        "arayis-backup.service",
        "arayis-backup.timer",
        "arayis-register-head.service",
        "arayis-register-head.timer",
    }
    # The units name the installed program; here it is this checkout's.
    arayis = Path(sys.executable).with_name("arayis")
    if not arayis.exists():
        pytest.skip("the arayis entry point is not installed next to this Python")
    for unit in units:
        text = unit.read_text(encoding="utf-8").replace("/opt/arayis/bin/arayis", str(arayis))
        (tmp_path / unit.name).write_text(text, encoding="utf-8")
    result = subprocess.run(
        [analyze, "verify", *(str(tmp_path / u.name) for u in units)],
        capture_output=True,
        text=True,
        check=False,
        env={"SYSTEMD_LOG_LEVEL": "notice", "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"},
    )
    problems = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if line.strip() and "arayis-" in line
    ]
    assert result.returncode == 0 and not problems, result.stdout + result.stderr
    # Every timer starts its service, and the mail job runs as the mailer's login.
    for timer in (u for u in units if u.suffix == ".timer"):
        assert (DEPLOY / "systemd" / timer.with_suffix(".service").name).exists()
