"""The live page on the cluster profile: the same feed and health code, with credentials.

Its consumer reads over SASL_SSL (SCRAM, the profile's CA), its deserializer asks the
registry behind TLS and basic auth, its health probe calls Flink's REST API over mutual
TLS and the catalog on PostgreSQL by client certificate: each would fail without the
profile's settings, and the page would say so instead of these values.
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
import uuid
from collections.abc import Iterator

import pytest
from support.live import LiveTopics, lap_record, live_server, window_record

from telemetry.core.config import Settings

pytestmark = [pytest.mark.integration, pytest.mark.cluster]


@pytest.fixture(scope="module", autouse=True)
def cluster_profile() -> None:
    assert os.environ.get("TELEMETRY_PROFILE") == "cluster", (
        "run these with TELEMETRY_PROFILE=cluster (make test-cluster)"
    )


@pytest.fixture
def topics(registered: Settings) -> Iterator[LiveTopics]:
    pair = LiveTopics(registered)
    pair.create()
    yield pair
    pair.delete()


def snapshot(url: str) -> dict:
    with urllib.request.urlopen(f"{url}api/snapshot", timeout=10) as response:
        return json.load(response)


def test_the_page_reads_the_topics_and_asks_flink_and_the_lake_with_the_profiles_credentials(
    registered: Settings, topics: LiveTopics
) -> None:
    assert registered.stack.live_port == 18090
    end = int(time.time()) // 5 * 5000
    topics.send_lap(lap_record(5, 2, end - 1000, 91_234))
    topics.send_window(window_record(5, end, avg_speed=210.26))
    topics.flush()
    job = f"test-live-{uuid.uuid4().hex[:8]}"
    with live_server(topics.env, "--job", job) as server:
        deadline = time.monotonic() + 30
        state = snapshot(server.url)
        while time.monotonic() < deadline and not (
            state["tower"] and state["cars"] and state["health"].get("job_state")
        ):
            time.sleep(0.5)
            state = snapshot(server.url)
    assert [(r["car_id"], r["last_lap"]) for r in state["tower"]] == [(5, "1:31.234")]
    assert state["cars"][0]["cells"]["avg_speed"] == "210.3"
    health = state["health"]
    assert health["job_state"] == "NOT SUBMITTED", health["job_detail"]  # REST answered
    assert health["feed_error"] is None
    # The catalog answered: a count, or a table not made yet, never a connection error.
    assert health["late_events"] is not None or "no such table" in health["late_detail"], health
