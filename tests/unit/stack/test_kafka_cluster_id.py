"""The KRaft cluster id given to kafka-storage format."""

from __future__ import annotations

import base64
import uuid

import pytest

from telemetry.ops.stack import services

# 16 bytes whose URL-safe base64 starts with '-' (0xF8 >> 2 = 62), then ones that do not.
DASH_FIRST = bytes([0xF8]) + bytes(15)
PLAIN = bytes([0x04]) + bytes(15)


def test_an_id_that_would_start_with_a_dash_is_drawn_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    drawn = iter([uuid.UUID(bytes=DASH_FIRST), uuid.UUID(bytes=DASH_FIRST), uuid.UUID(bytes=PLAIN)])
    monkeypatch.setattr(services.uuid, "uuid4", lambda: next(drawn))
    assert services.kafka_cluster_id() == base64.urlsafe_b64encode(PLAIN).decode().rstrip("=")


def test_ids_are_22_url_safe_characters_and_never_an_option() -> None:
    ids = {services.kafka_cluster_id() for _ in range(2000)}
    assert len(ids) == 2000
    alphabet = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert all(len(i) == 22 and set(i) <= alphabet and not i.startswith("-") for i in ids)
