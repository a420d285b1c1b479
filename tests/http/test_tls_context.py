"""The clients' own pools share one TLS context per process, and still read SSL_CERT_FILE.

Loading the system's trust store took ~18 ms of CPU per client built (nearly all a client's
cost); `_http.transports.default_tls` builds it once, and again only when SSL_CERT_FILE or
SSL_CERT_DIR change, so a CA file set before a client is made still applies to it.
"""

from __future__ import annotations

import ssl
import time
from pathlib import Path

import pytest
from loopback_server import LoopbackServer

from monite_async import MoniteConnectionError

trustme = pytest.importorskip("trustme")


def test_clients_share_one_tls_context_and_follow_ssl_cert_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    authority = trustme.CA()  # trusted by nothing on this machine
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(served)
    ca_file = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    server = LoopbackServer(ssl_context=served)
    server.open()
    try:
        server.sync_client().close()  # the system's trust store is loaded here, once
        started = time.process_time()
        clients = [server.sync_client() for _ in range(20)]  # bounded: 20 clients
        built = time.process_time() - started
        for client in clients:
            client.close()
        # 20 loads of the trust store take 0.3-1.7 s of CPU here; one shared context, none.
        assert built < 0.2, built
        with server.sync_client(max_retries=0) as untrusting, pytest.raises(MoniteConnectionError) as info:
            untrusting.mailbox_domains.list()  # the system's store does not trust the test's CA
        assert "certificate" in info.value.message
        monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))  # a client made now trusts it
        with server.sync_client(max_retries=0) as trusting:
            assert trusting.mailbox_domains.list() == []
    finally:
        server.close()
