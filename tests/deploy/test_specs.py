"""deploy/specs: the documents that run the daemon itself, as one Fargate task in a management account.

They must validate like any spec set, and keep the properties deploy/README.md promises: an
immutable, scanned repository; one task with the circuit breaker on; no load balancer; nothing
inbound but the metrics port from inside the VPC; and the same health check as the image.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.resources.registry import load_spec_set
from reconciler.resources.repository.model import RepositorySpec
from reconciler.resources.security_group.model import SecurityGroupSpec
from reconciler.resources.service.model import ServiceSpec
from reconciler.resources.task_definition.model import RepositoryImage, TaskDefinitionSpec
from reconciler.spec import Document, SpecSet
from tests.deploy.test_dockerfile import RUNTIME

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "deploy" / "specs"
NAME = "ecs-reconciler"
DEFAULT_VPC_CIDR = "172.31.0.0/16"  # the range AWS gives every default VPC


@pytest.fixture(scope="module")
def spec_set() -> SpecSet:
    loaded, errors = load_spec_set([SPECS])
    assert not errors, "\n".join(str(error) for error in errors)
    assert loaded is not None
    return loaded


def _one(spec_set: SpecSet, kind: str) -> Document:
    document = spec_set.get(kind, NAME)
    assert document is not None, f"no {kind}/{NAME} in deploy/specs"
    return document


def test_the_daemon_specs_validate_with_no_errors(spec_set: SpecSet) -> None:
    assert sorted(spec_set.keys()) == sorted(
        (kind, NAME) for kind in ("Repository", "Cluster", "SecurityGroup", "TaskDefinition", "Service")
    )


def test_the_repository_has_immutable_tags_and_scans_on_push(spec_set: SpecSet) -> None:
    document = _one(spec_set, "Repository")
    spec = document.spec_as(RepositorySpec)
    assert document.aws_name == NAME
    assert spec.image_tag_mutability == "IMMUTABLE"
    assert spec.image_scanning_configuration is not None and spec.image_scanning_configuration.scan_on_push
    assert document.metadata.deletion_policy == "retain"


def test_the_task_runs_the_daemon_image_with_its_roles_and_logs(spec_set: SpecSet) -> None:
    spec = _one(spec_set, "TaskDefinition").spec_as(TaskDefinitionSpec)
    assert (spec.cpu, spec.memory) == ("512", "1024")
    assert spec.execution_role_arn == "ecsTaskExecutionRole"
    assert spec.task_role_arn == NAME
    (container,) = spec.container_definitions
    assert isinstance(container.image, RepositoryImage) and container.image.repository == NAME
    assert container.log_configuration is not None and container.log_configuration.log_driver == "awslogs"
    assert container.command is not None and container.command[0] == "run"
    options = dict(zip(container.command[1::2], container.command[2::2], strict=False))
    assert options["--leader-election"] == "ecs-reconciler-lease"
    assert options["--listen"] == "0.0.0.0:8080"
    assert container.port_mappings is not None
    assert [mapping.container_port for mapping in container.port_mappings] == [8080]


def test_the_container_health_check_is_the_images(spec_set: SpecSet) -> None:
    spec = _one(spec_set, "TaskDefinition").spec_as(TaskDefinitionSpec)
    (container,) = spec.container_definitions
    assert container.health_check is not None
    image_check = RUNTIME.last("HEALTHCHECK").args.partition("CMD ")[2]
    assert container.health_check.command == ["CMD", *json.loads(image_check)]


def test_only_the_metrics_port_is_open_and_only_inside_the_vpc(spec_set: SpecSet) -> None:
    spec = _one(spec_set, "SecurityGroup").spec_as(SecurityGroupSpec)
    assert spec.vpc == "default"
    assert spec.ingress is not None
    assert [(rule.protocol, rule.port_range, rule.cidr) for rule in spec.ingress] == [
        ("tcp", (8080, 8080), DEFAULT_VPC_CIDR)
    ]
    assert all(rule.ipv6_cidr is None and rule.security_group is None for rule in spec.ingress)


def test_one_task_with_the_circuit_breaker_and_no_load_balancer(spec_set: SpecSet) -> None:
    spec = _one(spec_set, "Service").spec_as(ServiceSpec)
    assert spec.desired_count == 1
    assert spec.autoscaling is None
    assert not spec.load_balancers
    assert not spec_set.of_kind("LoadBalancer") and not spec_set.of_kind("TargetGroup")
    breaker = spec.deployment_configuration and spec.deployment_configuration.deployment_circuit_breaker
    assert breaker and breaker.enable and breaker.rollback
    assert spec.network_configuration is not None
    network = spec.network_configuration.awsvpc_configuration
    assert network.subnets == "default"
    assert network.security_groups == [NAME]
    # The default VPC's subnets have no NAT: the task needs a public IP to reach ECR and AWS.
    assert network.assign_public_ip == "ENABLED"


def test_the_daemon_requires_a_bearer_token_from_secrets_manager(spec_set: SpecSet) -> None:
    # It listens beyond loopback (0.0.0.0:8080, open to the VPC): /status and /drift must not
    # answer anyone there (issue 9, item 5).
    spec = _one(spec_set, "TaskDefinition").spec_as(TaskDefinitionSpec)
    (container,) = spec.container_definitions
    assert container.command is not None
    options = dict(zip(container.command[1::2], container.command[2::2], strict=False))
    variable = options["--http-token-env"]
    assert container.secrets is not None
    (secret,) = [secret for secret in container.secrets if secret.name == variable]
    assert secret.value_from.startswith("arn:aws:secretsmanager:")
    assert not any(variable == entry.name for entry in container.environment or [])
