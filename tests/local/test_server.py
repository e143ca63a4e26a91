"""The local AWS server itself: start and stop, environment, reset, the lock, logging, ECR pushes."""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import socket
import threading
import time

import boto3
import pytest
from botocore.exceptions import ClientError

from reconciler.local import LocalAWS, serve_forever
from tests.aws_helpers import SyncAioClients
from tests.local.conftest import Stack, create_service, describe_service

pytestmark = pytest.mark.aws


def test_a_server_starts_quickly_on_a_free_port_and_stops(local_aws: LocalAWS) -> None:
    started = time.perf_counter()
    with LocalAWS() as server:
        elapsed = time.perf_counter() - started
        assert server.port not in (0, local_aws.port)
        assert server.endpoint_url == f"http://127.0.0.1:{server.port}"
        with socket.create_connection(("127.0.0.1", server.port), timeout=1):
            pass
        port = server.port
    assert elapsed < 2.0
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_start_and_stop_can_be_called_explicitly(local_aws: LocalAWS) -> None:
    server = LocalAWS(region="eu-west-1").start()
    try:
        assert server.region == "eu-west-1"
        with pytest.raises(RuntimeError):
            server.start()
    finally:
        server.stop()
    server.stop()  # a second stop is harmless


def test_the_environment_points_an_sdk_at_the_server_and_nowhere_else(aws: LocalAWS) -> None:
    environment = aws.environment()

    assert environment == {
        "AWS_ENDPOINT_URL": aws.endpoint_url,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    # The session fixture exported exactly these, so a client configured by nothing but the
    # environment (as the AWS CLI is) reaches the local AWS.
    identity = boto3.session.Session().client("sts").get_caller_identity()
    assert identity["Account"] == aws.account_id


def test_reset_wipes_state_and_restores_the_default_vpc_with_dns_hostnames(
    aws: LocalAWS, clients: SyncAioClients
) -> None:
    clients.ecs.create_cluster(clusterName="gone")
    aws.rollout_seconds = 30

    started = time.perf_counter()
    aws.reset()
    elapsed = time.perf_counter() - started

    assert clients.ecs.list_clusters()["clusterArns"] == []
    assert aws.rollout_seconds == 0
    with aws.lock:
        default_vpc = aws.ec2_backend().get_default_vpc()
        assert default_vpc is not None
    vpcs = clients.ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    assert [vpc["CidrBlock"] for vpc in vpcs] == ["172.31.0.0/16"]
    subnets = clients.ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])[
        "Subnets"
    ]
    assert len(subnets) == 6
    assert {subnet["VpcId"] for subnet in subnets} == {vpcs[0]["VpcId"]}
    hostnames = clients.ec2.describe_vpc_attribute(VpcId=vpcs[0]["VpcId"], Attribute="enableDnsHostnames")
    assert hostnames["EnableDnsHostnames"]["Value"] is True
    assert elapsed < 1.0  # about 5-15 ms on an idle machine; generous for a loaded CI


def test_32_concurrent_creates_all_succeed_behind_the_lock(aws: LocalAWS, clients: SyncAioClients) -> None:
    vpc = clients.ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    elbv2 = clients.raw("elbv2")

    async def create_all() -> list[object]:
        return await asyncio.gather(
            *(
                elbv2.create_target_group(
                    Name=f"tg-{index}", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip"
                )
                for index in range(32)
            ),
            return_exceptions=True,
        )

    results = clients.run(create_all())

    assert [r for r in results if isinstance(r, BaseException)] == []
    assert len(clients.elbv2.describe_target_groups()["TargetGroups"]) == 32


def test_holding_the_lock_holds_requests_back(aws: LocalAWS, clients: SyncAioClients) -> None:
    answered = threading.Event()

    def list_clusters() -> None:
        clients.ecs.list_clusters()
        answered.set()

    with aws.lock:
        caller = threading.Thread(target=list_clusters)
        caller.start()
        assert not answered.wait(0.3)
    assert answered.wait(10)
    caller.join()


def test_drift_made_in_process_under_the_lock_shows_on_the_next_read(
    aws: LocalAWS, clients: SyncAioClients, stack: Stack
) -> None:
    create_service(clients, stack)

    with aws.lock:
        aws.ecs_backend().services[f"{stack.cluster}:api"].enable_execute_command = True

    assert describe_service(clients, stack)["enableExecuteCommand"] is True


def test_requests_are_not_logged_one_line_each(
    aws: LocalAWS, clients: SyncAioClients, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        clients.ecs.list_clusters()

    assert [record for record in caplog.records if record.name == "werkzeug"] == []


def test_serve_forever_prints_the_endpoint_and_environment_and_stops_when_told(local_aws: LocalAWS) -> None:
    out = io.StringIO()
    stop = threading.Event()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    runner = threading.Thread(target=serve_forever, args=(port,), kwargs={"out": out, "stop": stop})
    runner.start()
    try:
        deadline = time.monotonic() + 10
        while "Ctrl-C" not in out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.02)
        printed = out.getvalue()
        assert f"http://127.0.0.1:{port}" in printed
        assert f"export AWS_ENDPOINT_URL=http://127.0.0.1:{port}" in printed
        assert "export AWS_ACCESS_KEY_ID=testing" in printed
    finally:
        stop.set()
        runner.join(10)
    assert not runner.is_alive()


def test_push_image_stores_the_digest_aws_would_compute(aws: LocalAWS, clients: SyncAioClients) -> None:
    clients.ecr.create_repository(repositoryName="app")

    digest = aws.push_image("app", "latest")
    again = aws.push_image("app", "latest")
    moved = aws.push_image("app", "latest", content="v2")

    image = clients.ecr.batch_get_image(repositoryName="app", imageIds=[{"imageTag": "latest"}])["images"][0]
    assert image["imageId"]["imageDigest"] == moved
    assert moved == "sha256:" + hashlib.sha256(image["imageManifest"].encode()).hexdigest()
    assert again == digest != moved
    with pytest.raises(LookupError):
        aws.push_image("absent", "latest")


def test_an_unknown_service_cannot_be_set_to_fail(aws: LocalAWS, stack: Stack) -> None:
    with pytest.raises(KeyError):
        aws.fail_next_rollout(stack.cluster, "absent")


def test_calls_for_other_accounts_reach_their_own_backends(aws: LocalAWS, clients: SyncAioClients) -> None:
    other = (
        boto3.session.Session()
        .client("sts")
        .assume_role(RoleArn="arn:aws:iam::111111111111:role/deployer", RoleSessionName="test")["Credentials"]
    )
    ecs = boto3.session.Session(
        aws_access_key_id=other["AccessKeyId"],
        aws_secret_access_key=other["SecretAccessKey"],
        aws_session_token=other["SessionToken"],
    ).client("ecs")

    ecs.create_cluster(clusterName="theirs")

    with aws.lock:
        assert "theirs" in aws.ecs_backend("111111111111").clusters
        assert "theirs" not in aws.ecs_backend().clusters
    with pytest.raises(ClientError):
        ecs.update_cluster_settings(cluster="absent", settings=[])


def test_assumed_role_credentials_survive_a_reset(aws: LocalAWS) -> None:
    credentials = (
        boto3.session.Session()
        .client("sts")
        .assume_role(RoleArn="arn:aws:iam::222222222222:role/deployer", RoleSessionName="test")["Credentials"]
    )
    ecs = boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    ).client("ecs")

    aws.reset()
    ecs.create_cluster(clusterName="after-reset")

    with aws.lock:
        assert "after-reset" in aws.ecs_backend("222222222222").clusters
        assert "after-reset" not in aws.ecs_backend().clusters


def test_with_push_latest_a_new_repository_holds_a_latest_image_as_after_a_docker_push(
    local_aws: LocalAWS,
) -> None:
    """What `run --local` starts: the example's image tag exists once its repository does, so a
    newcomer's first start is all in sync. The tests' own local AWS leaves it off."""
    with LocalAWS(push_latest=True) as server:
        ecr = boto3.client(
            "ecr", region_name=server.region, endpoint_url=server.endpoint_url, **FAKE_CREDENTIALS
        )
        try:
            ecr.create_repository(repositoryName="first-start/app")
            (image,) = ecr.describe_images(repositoryName="first-start/app")["imageDetails"]
            assert image["imageTags"] == ["latest"]
            # A tag pushed since is left as it is; only new repositories are seeded.
            other = ecr.batch_get_image(repositoryName="first-start/app", imageIds=[{"imageTag": "v2"}])
            assert other["images"] == []
        finally:
            ecr.delete_repository(repositoryName="first-start/app", force=True)
    plain = boto3.client(
        "ecr", region_name=local_aws.region, endpoint_url=local_aws.endpoint_url, **FAKE_CREDENTIALS
    )
    plain.create_repository(repositoryName="plain/app")
    try:
        assert plain.describe_images(repositoryName="plain/app")["imageDetails"] == []
    finally:
        plain.delete_repository(repositoryName="plain/app", force=True)


FAKE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
