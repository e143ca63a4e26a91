"""A call AWS rejects is reported once, readably (issue 13, item 11): the message named the
operation twice (`ecs.CreateCluster: ecs.CreateCluster: InvalidParameterException: ...`), and the
warning logged on the way was a JSON line in the middle of `apply`'s text output."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from reconciler.cli import main
from tests.aws.conftest import MotoServer
from tests.aws.fakes import FaultInjector

pytestmark = pytest.mark.aws

CLUSTER = """\
apiVersion: ecs-reconciler/v1
kind: Cluster
metadata:
  name: {name}
spec:
  capacityProviders: [FARGATE]
"""


@pytest.mark.parametrize("output", ["text", "json"])
def test_a_rejected_call_names_its_operation_once_and_logs_no_json_beside_text(
    aws_environment: None,
    moto_server: MotoServer,
    faults: FaultInjector,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    output: str,
) -> None:
    name = f"rejected-{uuid.uuid4().hex[:8]}"
    (tmp_path / "cluster.yaml").write_text(CLUSTER.format(name=name))
    faults.inject("CreateCluster", status=400, code="InvalidParameterException", times=1)

    endpoint = ["--region", "us-east-1", "--endpoint-url", moto_server.endpoint_url]
    code = main(["apply", str(tmp_path), *endpoint, "--output", output])

    captured = capsys.readouterr()
    assert code == 1
    rejected = "ecs.CreateCluster: InvalidParameterException: injected by the test"
    assert "ecs.CreateCluster: ecs.CreateCluster" not in captured.out + captured.err
    if output == "text":
        assert f"error: Cluster/{name}: {rejected}" in captured.err.splitlines()
        # Logs are readable lines on stderr, never JSON, and never on stdout.
        assert not [line for line in captured.err.splitlines() if line.lstrip().startswith("{")]
        assert "call failed" in captured.err and "call failed" not in captured.out
    else:
        assert f'"message": "{rejected}"' in captured.out
