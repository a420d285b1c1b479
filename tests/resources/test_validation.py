"""Arguments are checked before anything is sent: a bad host name or UUID costs no request."""

from __future__ import annotations

import uuid

import pytest
from pytest_httpx2 import HTTPXMock

from monite_async import InvalidRequestError, MoniteClient
from monite_async.resources.validation import validate_hostname, validate_uuid

GOOD = [
    "mail.example.com",
    "example.com",
    "a.b",
    "xn--bcher-kva.de",
    "1.2.3.example.com",
    "x1-y2.example-3.co",
    "MAIL.Example.COM",
    "a" * 63 + ".com",
    ".".join(["a" * 63] * 3 + ["a" * 61]),  # exactly 253 characters
]
BAD = [
    ("", "empty"),
    ("-mail.example.com", "start and end"),
    ("mail-.example.com", "start and end"),
    ("mail..example.com", "empty label"),
    (".example.com", "empty label"),
    ("example.com.", "empty label"),
    ("mail_box.example.com", "letters, digits"),
    ("mail example.com", "letters, digits"),
    ("mäil.example.com", "letters, digits"),
    ("mäil.example.com", "'xn--mil-qla.example.com'"),
    ("bücher.de", r"IDNA form 'xn--bcher-kva\.de'"),
    ("localhost", "single label; Monite wants a mail domain such as 'mail.mycompany.com'"),
    ("mailserver", "single label"),
    ("1.2.3.4", "IP address"),
    ("10.0.0.1", "IP address"),
    ("mail.example.com/x", "letters, digits"),
    ("a" * 64 + ".com", "longer than 63"),
    (".".join(["a" * 63] * 4), "at most 253"),
]


@pytest.mark.parametrize("domain", GOOD)
def test_valid_hostnames_pass_unchanged(domain: str) -> None:
    assert validate_hostname(domain) == domain


@pytest.mark.parametrize(("domain", "reason"), BAD)
def test_invalid_hostnames_are_rejected_with_the_reason(domain: str, reason: str) -> None:
    with pytest.raises(InvalidRequestError, match=reason):
        validate_hostname(domain)


def test_a_non_string_domain_is_rejected() -> None:
    with pytest.raises(InvalidRequestError, match="must be a str"):
        validate_hostname(b"mail.example.com")


def test_uuids_in_either_form_pass() -> None:
    value = uuid.uuid4()
    assert validate_uuid(value) is value
    assert validate_uuid(str(value)) == value


@pytest.mark.parametrize(
    "value", ["", "123", "3fa85f64-5717-4562-b3fc-2c963f66afaZ", None, 42, "../etc/passwd"]
)
def test_bad_uuids_are_rejected(value: object) -> None:
    with pytest.raises(InvalidRequestError, match="domain_id must be a UUID"):
        validate_uuid(value)


def test_invalid_request_error_is_also_a_value_error() -> None:
    with pytest.raises(ValueError, match="empty"):
        validate_hostname("")


async def test_nothing_is_sent_for_invalid_arguments(httpx2_mock: HTTPXMock) -> None:
    async with MoniteClient(token="t", base_url="https://api.example.test/v1") as monite:
        with pytest.raises(InvalidRequestError):
            await monite.mailbox_domains.create("bad_domain.example.com")
        with pytest.raises(InvalidRequestError):
            await monite.mailbox_domains.verify("not-a-uuid")
        with pytest.raises(InvalidRequestError):
            await monite.mailbox_domains.delete("../../auth/token")
    assert httpx2_mock.get_requests() == []
