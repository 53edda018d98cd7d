"""Each app that create_app builds owns its state: a second app in the process changes nothing of the first's."""

import dataclasses

from models.api_key import hash_key
from warehouse_connections.app import create_app
from warehouse_connections.web.app_state import EXTENSION

INLINE_IDS = {"handlers.warehouse_connections.list_connections", "handlers.warehouse_connections.get_connection"}


def test_app_state__second_app_with_its_own_settings__leaves_the_first_apps_state_alone(
    settings, app_state, client, api_key, list_url
):
    second = create_app(dataclasses.replace(settings, fast_path=False, api_key_cache_seconds=60))
    second_state = second.app.extensions[EXTENSION]

    answered = second.test_client(headers={"Authorization": f"Api-Key {api_key}"}).get(list_url).status_code

    assert (answered, client.get(list_url).status_code) == (200, 200)
    assert second_state is not app_state
    assert (second_state.fast_path.inline_ids, app_state.fast_path.inline_ids) == (frozenset(), INLINE_IDS)
    assert second_state.callers.get(hash_key(api_key)).prefix == api_key[:12]
    assert app_state.callers.seconds == 0
