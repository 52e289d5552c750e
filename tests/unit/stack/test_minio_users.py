"""The clients' MinIO user is made with mc without a credential among its arguments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from telemetry.core.errors import InvalidInputError
from telemetry.ops.stack.minio_users import (
    POLICY,
    MinioUser,
    bucket_policy,
    mc_commands,
    mc_environment,
)

USER = MinioUser(
    endpoint="127.0.0.1:19000",
    ca_file=Path("/ca.crt"),
    root_user="root-user",
    root_password="root-Pass_word",
    access_key="telemetry-client",
    secret_key="client/S3cr@t+key",
    buckets=("telemetry-data", "flink-checkpoints"),
)


def test_no_credential_is_an_argument_and_the_secret_goes_on_stdin() -> None:
    calls = mc_commands(Path("/bin/mc"), USER, Path("/work/policy.json"))
    for argv, _stdin in calls:
        for secret in (USER.secret_key, USER.root_password, USER.root_user):
            assert not any(secret in arg for arg in argv), argv
    assert [argv[4:6] for argv, _ in calls] == [
        ["policy", "create"],
        ["user", "add"],
        ["policy", "attach"],
    ]
    assert [stdin for _, stdin in calls] == ["", USER.secret_key + "\n", ""]
    assert calls[2][0][-3:] == [POLICY, "--user", USER.access_key]


def test_the_root_credentials_are_in_the_alias_and_mc_keeps_to_its_folder() -> None:
    env = mc_environment({"PATH": "/bin"}, USER, Path("/private/mc"))
    assert env == {
        "PATH": "/bin",
        "MC_HOST_telemetry": "https://root-user:root-Pass_word@127.0.0.1:19000",
        "MC_CONFIG_DIR": "/private/mc",
    }


@pytest.mark.parametrize("field", ["root_user", "root_password"])
def test_a_colon_in_the_root_credentials_is_refused_with_the_fix(field: str) -> None:
    user = MinioUser(**{**USER.__dict__, field: "with:colon"})
    with pytest.raises(InvalidInputError, match=r"holds ':'.*secrets\.env"):
        mc_environment({}, user, Path("/private/mc"))


def test_the_policy_allows_the_buckets_and_their_objects_only() -> None:
    policy = json.loads(bucket_policy(USER.buckets))
    (statement,) = policy["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == [
        "arn:aws:s3:::telemetry-data",
        "arn:aws:s3:::telemetry-data/*",
        "arn:aws:s3:::flink-checkpoints",
        "arn:aws:s3:::flink-checkpoints/*",
    ]
