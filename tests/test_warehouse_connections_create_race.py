"""Concurrent creates for one organisation: the database's unique constraint lets exactly one through."""

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from models import Secret, WarehouseConnection, database

CONCURRENT_CREATES = 20
BODY = {"type": "snowflake", "account_identifier": "xy12345.us-east-1"}


def create_all_at_once(urls: list[str], api_key: str) -> list[int]:
    def create(url: str) -> int:
        return httpx.post(url, json=BODY, headers={"Authorization": f"Api-Key {api_key}"}, timeout=60).status_code

    with ThreadPoolExecutor(max_workers=CONCURRENT_CREATES) as pool:
        return list(pool.map(create, urls))


@pytest.mark.parametrize("servers", [1, 2], ids=["one-server", "two-server-processes"])
def test_create_race__concurrent_posts__exactly_one_201_and_the_rest_409(start_server, api_key, list_url, servers):
    base_urls = [start_server() for _ in range(servers)]
    urls = [f"{base_urls[i % servers]}{list_url}" for i in range(CONCURRENT_CREATES)]

    statuses = create_all_at_once(urls, api_key)

    assert sorted(statuses) == [201] + [409] * (CONCURRENT_CREATES - 1)
    with database.connection_context():
        assert WarehouseConnection.select().count() == 1
        assert Secret.select().count() == 1
