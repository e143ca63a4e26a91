"""`ecs-reconciler import` as a command: what `--cluster` and `--service` select, what it says
about secret-shaped values, and that it writes nothing when there is nothing to import."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest

from reconciler.cli import main
from reconciler.local import LocalAWS
from tests.harness import load


def _two_clusters(aws: LocalAWS) -> None:
    ecs: Any = boto3.client("ecs")
    for cluster in ("shop", "blog"):
        ecs.create_cluster(clusterName=cluster)
    ecs.register_task_definition(
        family="app",
        containerDefinitions=[
            {
                "name": "app",
                "image": "public.ecr.aws/nginx/nginx:1.27",
                "memory": 128,
                "environment": [{"name": "GITHUB_TOKEN", "value": "ghp_" + "a" * 36}],
            }
        ],
    )
    for cluster, service in (("shop", "web"), ("shop", "worker"), ("blog", "web")):
        ecs.create_service(cluster=cluster, serviceName=service, taskDefinition="app", desiredCount=1)


def test_cluster_and_service_select_what_is_imported_and_secret_shaped_values_are_warned_about(
    aws: LocalAWS, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _two_clusters(aws)

    code = main(["import", "--cluster", "shop", "--service", "worker", "--out", str(tmp_path)])

    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert {(document.kind, document.name) for document in load(tmp_path)} == {
        ("Cluster", "shop"),
        ("TaskDefinition", "app"),
        ("Service", "worker"),
    }
    assert "imported 3 documents" in captured.out
    assert "warning: TaskDefinition/app: container app: GITHUB_TOKEN looks like a secret" in captured.err
    assert "ghp_" not in captured.err  # said by name, never by value


def test_without_a_selection_every_cluster_is_imported_and_same_named_services_get_distinct_documents(
    aws: LocalAWS, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _two_clusters(aws)

    assert main(["import", "--out", str(tmp_path)]) == 0

    capsys.readouterr()
    services = {
        document.name: (document.spec.cluster, document.aws_name)  # type: ignore[attr-defined]
        for document in load(tmp_path)
        if document.kind == "Service"
    }
    assert services == {"web": ("blog", "web"), "web-2": ("shop", "web"), "worker": ("shop", "worker")}


def test_nothing_to_import_is_an_error_and_writes_nothing(
    aws: LocalAWS, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    boto3.client("ecs").create_cluster(clusterName="empty")
    out = tmp_path / "out"

    assert main(["import", "--cluster", "empty", "--out", str(out)]) == 1

    assert "error: no services found to import" in capsys.readouterr().err
    assert not out.exists()


def test_an_assumed_role_imports_what_runs_in_the_workload_account(
    aws: LocalAWS, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    role = "arn:aws:iam::111111111111:role/ecs-reconciler-read"
    credentials = boto3.client("sts").assume_role(RoleArn=role, RoleSessionName="setup")["Credentials"]
    workload: Any = boto3.client(
        "ecs",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    workload.create_cluster(clusterName="shop")
    workload.register_task_definition(
        family="app", containerDefinitions=[{"name": "app", "image": "nginx:1.27", "memory": 128}]
    )
    workload.create_service(cluster="shop", serviceName="web", taskDefinition="app", desiredCount=1)

    # The management account runs nothing; the role's account runs the service.
    assert main(["import", "--out", str(tmp_path / "management")]) == 1
    assert main(["import", "--assume-role", role, "--out", str(tmp_path / "workload")]) == 0

    capsys.readouterr()
    assert {(document.kind, document.name) for document in load(tmp_path / "workload")} == {
        ("Cluster", "shop"),
        ("TaskDefinition", "app"),
        ("Service", "web"),
    }
