"""`--assume-role`: the one-shot commands act in a workload account through a role assumed from
the management account's credentials, and nothing lands in the management account."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from reconciler.cli import main
from reconciler.local import LocalAWS

WORKLOAD_ROLE = "arn:aws:iam::111111111111:role/ecs-reconciler-workload"

CLUSTER = """\
apiVersion: ecs-reconciler/v1
kind: Cluster
metadata:
  name: workload
spec:
  capacityProviders: [FARGATE]
"""


def clusters_seen_by(aws: LocalAWS, **credentials: str) -> set[str]:
    ecs = boto3.client("ecs", region_name=aws.region, endpoint_url=aws.endpoint_url, **credentials)
    return {arn.rsplit("/", 1)[1] for arn in ecs.list_clusters()["clusterArns"]}


@pytest.mark.aws
def test_apply_with_an_assumed_role_creates_in_the_workload_account_only(
    aws: LocalAWS, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "cluster.yaml").write_text(CLUSTER)
    code = main(
        ["apply", str(tmp_path), "--assume-role", WORKLOAD_ROLE, "--external-id", "x1", "--output", "json"]
    )
    result = json.loads(capsys.readouterr().out)
    assert code == 0, result
    assert result["calls"]["sts.AssumeRole"] == 1
    assert result["calls"]["ecs.CreateCluster"] == 1
    assert "workload" not in clusters_seen_by(aws)  # the management account is untouched
    sts = boto3.client("sts", region_name=aws.region, endpoint_url=aws.endpoint_url)
    credentials = sts.assume_role(RoleArn=WORKLOAD_ROLE, RoleSessionName="check")["Credentials"]
    assert "workload" in clusters_seen_by(
        aws,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
