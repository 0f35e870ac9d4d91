"""Issue 11 B18: ``list_keysets`` follows ``@odata.nextLink`` a bounded number of times and never to a page it read.

The emulator's paging is correct (it can produce neither a loop nor an endless list), so the pages are served at
requests' own transport seam; the token still comes from the real emulator.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter

from b2c_policy_keys.emulator import Emulator
from b2c_policy_keys.errors import GraphError
from b2c_policy_keys.graph import GraphClient
from b2c_policy_keys.graph.transport import Transport

from .support import emulator_settings


class PagesAdapter(BaseAdapter):
    """Page ``n`` links to ``next_of(n)`` (None: the last page); records every URL asked for."""

    def __init__(self, base_url: str, next_of: Any) -> None:
        super().__init__()
        self.base_url, self.next_of, self.asked = base_url, next_of, []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        url = request.url or ""
        self.asked.append(url)
        page = int(url.rpartition("page=")[2]) if "page=" in url else 0
        body: dict[str, Any] = {"value": [{"id": f"B2C_1A_Set{page}", "keys": []}]}
        following = self.next_of(page)
        if following is not None:
            body["@odata.nextLink"] = f"{self.base_url}/trustFramework/keySets?page={following}"
        response = requests.Response()
        response.status_code = 200
        response._content = json.dumps(body).encode()
        response.headers["Content-Type"] = "application/json"
        response.request, response.url = request, url
        return response

    def close(self) -> None:
        pass


def _client(emulator: Emulator, next_of: Any) -> tuple[GraphClient, PagesAdapter]:
    settings = emulator_settings(emulator)
    tokens = Transport(settings).tokens
    tokens.token()  # from the real emulator, before the canned pages take over Graph calls
    session = requests.Session()
    adapter = PagesAdapter(Transport(settings).base_url, next_of)
    session.mount("https://", adapter)
    return GraphClient(settings, Transport(settings, session=session, tokens=tokens)), adapter


def test_pages_are_followed_to_the_end(emulator: Emulator) -> None:
    client, _ = _client(emulator, lambda n: n + 1 if n < 3 else None)
    assert [ks.id for ks in client.list_keysets()] == [f"B2C_1A_Set{n}" for n in range(4)]


@pytest.mark.parametrize("back_to", [1, 2])  # page 2 links to page 1, or to itself (the reported loop)
def test_a_link_back_to_a_page_already_read_ends_with_a_clear_error(emulator: Emulator, back_to: int) -> None:
    client, adapter = _client(emulator, lambda n: n + 1 if n < 2 else back_to)
    with pytest.raises(GraphError, match="links back to a page already read") as caught:
        client.list_keysets()
    assert "b2c-keys show NAME" in str(caught.value)
    assert len(adapter.asked) == 3


def test_an_endless_list_stops_after_max_pages(emulator: Emulator) -> None:
    client, adapter = _client(emulator, lambda n: n + 1)
    with pytest.raises(GraphError, match="goes on past 5 pages"):
        client.list_keysets(max_pages=5)
    assert len(adapter.asked) == 5
