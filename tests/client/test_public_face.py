"""What a user meets (issues 25 and 28): one flow on the stack, tracebacks that name the public
API and show few frames of ours, a `help()` page that reads as a user's, options that tell
the truth about their types, and an error's body decoded."""

from __future__ import annotations

import pydoc
import traceback

import httpx2
import pytest

from monite_async import ConfigurationError, ConflictError, MoniteClient, MoniteSyncClient
from monite_async.testing import FakeMonite


class _Spy(httpx2.AsyncBaseTransport):
    """The fake's transport, keeping the stack of the moment a create goes out."""

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self.inner = inner
        self.stacks: list[traceback.StackSummary] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.method == "POST" and request.url.path.endswith("/mailbox_domains"):
            self.stacks.append(traceback.extract_stack())
        return await self.inner.handle_async_request(request)


def _ours(frames: list[traceback.FrameSummary]) -> list[traceback.FrameSummary]:
    return [f for f in frames if "/monite_async/" in f.filename.replace("\\", "/")]


async def test_a_warm_create_goes_out_through_one_flow_and_few_modules() -> None:
    fake = FakeMonite()
    spy = _Spy(fake.transport())
    settings = {"client_id": fake.client_id, "client_secret": fake.client_secret}
    async with MoniteClient(**settings, base_url=FakeMonite.base_url, transport=spy) as monite:
        await monite.mailbox_domains.list()  # the token, cached: the create below is warm
        await monite.mailbox_domains.create("mail.example.com")
    ours = _ours(list(spy.stacks[0]))
    modules = {frame.filename for frame in ours}
    assert len(modules) <= 6, [f"{f.filename}:{f.name}" for f in ours]
    assert [frame.name for frame in ours].count("drive") == 1


async def test_a_409_names_the_public_class_and_shows_few_frames_of_ours() -> None:
    fake = FakeMonite()
    settings = {"client_id": fake.client_id, "client_secret": fake.client_secret}
    async with MoniteClient(**settings, base_url=FakeMonite.base_url, transport=fake.transport()) as monite:
        await monite.mailbox_domains.create("mail.example.com")
        with pytest.raises(ConflictError) as info:
            await monite.mailbox_domains.create("mail.example.com")
    error = info.value
    assert f"{type(error).__module__}.{type(error).__qualname__}" == "monite_async.ConflictError"
    assert len(_ours(list(traceback.extract_tb(info.tb)))) <= 6
    assert isinstance(error.body, dict)  # the JSON Monite sent, decoded
    assert error.body["error"]["type"] == "conflict"
    assert error.content.startswith(b"{")  # and the bytes as they came


@pytest.mark.parametrize("client", [MoniteClient, MoniteSyncClient])
def test_help_reads_as_a_users_page(client: type[MoniteClient] | type[MoniteSyncClient]) -> None:
    page = pydoc.render_doc(client, renderer=pydoc.plaintext)
    assert len(page.splitlines()) <= 200  # pydoc of 3.13 writes a little more than 3.11's
    for name in ("mailbox_domains", "with_raw_response", "with_options", "call", "timeout", "deadline"):
        assert name in page, name
    for noise in ("Generic", "_Token", "_Transport", "_Client", "typing."):
        assert noise not in page, noise
    assert f"class {client.__name__} in module monite_async" in page


@pytest.mark.parametrize(
    ("options", "named"),
    [({"timeout": "2"}, "timeout"), ({"max_retries": "three"}, "max_retries"), ({"headers": 42}, "headers")],
)
def test_a_wrong_option_type_is_a_configuration_error_naming_it(
    options: dict[str, object], named: str
) -> None:
    monite = MoniteClient(token="app-token-123", base_url="http://127.0.0.1:9/v1")
    monite._core.flow.closed = True  # never used: nothing to close, no warning
    with pytest.raises(ConfigurationError, match=f"^{named} .*got"):
        monite.with_options(**options)  # type: ignore[arg-type]


def test_a_views_repr_shows_what_it_changes() -> None:
    monite = MoniteClient(token="app-token-123", base_url="http://127.0.0.1:9/v1")
    monite._core.flow.closed = True
    view = monite.with_options(timeout=2, deadline=9, headers={"x-trace": "t-1"})
    assert "timeout=Timeout(timeout=2.0)" in repr(view)
    assert "deadline=9" in repr(view)
    assert "x-trace" in repr(view)
    assert "t-1" not in repr(view)  # header names, never values
