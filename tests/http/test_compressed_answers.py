"""Compressed answers: httpx2 asks for gzip by default, so Monite (or a proxy) may send it.
The retry layer reads every answer before handing it up; it must hand up the bytes as
they came, for httpx2 to decode once."""

from __future__ import annotations

import gzip
import json

import pytest
from loopback_server import LoopbackServer, Reply

from monite_async import NotFoundError

DOMAIN = {
    "id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    "domain": "mail.example.com",
    "status": "waiting_to_be_verified",
    "dns_records": {"sending_dns_records": [], "receiving_dns_records": []},
}


async def test_a_gzip_answer_is_decoded_once(loopback: LoopbackServer) -> None:
    body = gzip.compress(json.dumps({"data": [DOMAIN]}).encode())
    headers = {"content-encoding": "gzip", "content-type": "application/json"}
    loopback.script("GET", "/mailbox_domains", Reply(body=body, headers=headers))
    async with loopback.client() as monite:
        domains = await monite.mailbox_domains.list()
    assert [d.domain for d in domains] == ["mail.example.com"]


async def test_a_gzip_error_answer_still_gives_its_message(loopback: LoopbackServer) -> None:
    body = gzip.compress(json.dumps({"error": {"message": "No such domain"}}).encode())
    headers = {"content-encoding": "gzip", "content-type": "application/json"}
    loopback.script(
        "POST",
        "/mailbox_domains/3fa85f64-5717-4562-b3fc-2c963f66afa6/verify",
        Reply(404, body=body, headers=headers),
    )
    async with loopback.client() as monite:
        with pytest.raises(NotFoundError) as info:
            await monite.mailbox_domains.verify(DOMAIN["id"])
    assert info.value.message == "No such domain"
