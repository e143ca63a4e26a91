"""Table tests of the spec models: normalisation to AWS's forms, aliases, and the in-object rules."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from reconciler.resources.cluster.model import ClusterSpec
from reconciler.resources.load_balancer.model import LoadBalancerSpec
from reconciler.resources.repository.model import RepositorySpec
from reconciler.resources.security_group.model import SecurityGroupRule
from reconciler.resources.service.model import ServiceSpec
from reconciler.resources.target_group.model import TargetGroupSpec
from reconciler.resources.task_definition.model import (
    ContainerDefinition,
    RepositoryImage,
    TaskDefinitionSpec,
)
from reconciler.spec import aws_name
from reconciler.spec.models import (
    ANNOTATION_ADOPT,
    ANNOTATION_DELETION_POLICY,
    ANNOTATION_PAUSED,
    ANNOTATION_SELF_HEAL,
    Metadata,
    canonical_json,
    is_security_group_id,
    manifest_model,
    parse_cpu_units,
    parse_memory_mib,
)

CONTAINER = {"name": "web", "image": "nginx"}


@pytest.mark.parametrize(
    ("written", "units"),
    [
        (256, 256),
        ("1024", 1024),
        ("1 vCPU", 1024),
        ("1vcpu", 1024),
        ("0.5 vCPU", 512),
        (".25 vCPU", 256),
        ("2 vCPUs", 2048),
        (" 4096 ", 4096),
    ],
)
def test_cpu_spellings_become_cpu_units(written: object, units: int) -> None:
    assert parse_cpu_units(written) == units


@pytest.mark.parametrize(
    ("written", "mib"),
    [
        (512, 512),
        ("2048", 2048),
        ("2 GB", 2048),
        ("2GB", 2048),
        ("0.5 GB", 512),
        ("512 MB", 512),
        ("3 GiB", 3072),
        ("1024 MiB", 1024),
    ],
)
def test_memory_spellings_become_mib(written: object, mib: int) -> None:
    assert parse_memory_mib(written) == mib


@pytest.mark.parametrize("written", ["", "one", "2 cores", "0.3 vCPU", "-1", 0, True, [], "1 vCPU extra"])
def test_cpu_that_is_no_whole_number_of_units_is_refused(written: object) -> None:
    with pytest.raises(ValueError, match="CPU"):
        parse_cpu_units(written)


@pytest.mark.parametrize(
    ("cpu", "memory", "api_cpu", "api_memory"),
    [
        ("1 vCPU", "2 GB", "1024", "2048"),
        (256, 512, "256", "512"),
        ("0.25 vCPU", "512 MB", "256", "512"),
        ("16 vCPU", "120 GB", "16384", "122880"),
    ],
)
def test_task_cpu_and_memory_are_stored_as_the_api_strings(
    cpu: object, memory: object, api_cpu: str, api_memory: str
) -> None:
    spec = TaskDefinitionSpec.model_validate(
        {"cpu": cpu, "memory": memory, "containerDefinitions": [CONTAINER]}
    )
    assert (spec.cpu, spec.memory) == (api_cpu, api_memory)
    dumped = spec.model_dump(by_alias=True, exclude_unset=True)
    assert (dumped["cpu"], dumped["memory"]) == (api_cpu, api_memory)


def test_container_cpu_and_memory_stay_integers_as_in_the_api() -> None:
    container = ContainerDefinition.model_validate(
        {**CONTAINER, "cpu": "0.5 vCPU", "memoryReservation": "1 GB"}
    )
    assert (container.cpu, container.memory_reservation) == (512, 1024)


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        (True, "true"),
        (False, "false"),
        (30, "30"),
        ("lb_cookie", "lb_cookie"),
        ("true", "true"),
    ],
)
def test_elb_attribute_values_are_stored_as_aws_strings(written: object, stored: str) -> None:
    spec = TargetGroupSpec.model_validate({"attributes": {"some.attribute": written}})
    assert spec.attributes == {"some.attribute": stored}


@pytest.mark.parametrize("written", [1.5, None, [1], {"a": 1}])
def test_elb_attribute_values_that_are_not_scalars_are_refused(written: object) -> None:
    with pytest.raises(ValidationError):
        LoadBalancerSpec.model_validate(
            {"subnets": "default", "attributes": {"idle_timeout.timeout_seconds": written}}
        )


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("all", "-1"),
        ("ALL", "-1"),
        ("-1", "-1"),
        (-1, "-1"),
        ("tcp", "tcp"),
        ("TCP", "tcp"),
        ("icmpv6", "icmpv6"),
    ],
)
def test_rule_protocol_is_normalised_to_what_ec2_returns(written: object, stored: str) -> None:
    ports: dict[str, Any] = {"port": 443} if stored in ("tcp",) else {}
    rule = SecurityGroupRule.model_validate({"protocol": written, "cidr": "0.0.0.0/0", **ports})
    assert rule.protocol == stored


@pytest.mark.parametrize(
    ("rule", "port_range"),
    [
        ({"protocol": "tcp", "port": 80}, (80, 80)),
        ({"protocol": "udp", "fromPort": 1000, "toPort": 2000}, (1000, 2000)),
        ({"protocol": "all"}, None),
        ({"protocol": "icmp"}, None),
        ({"protocol": "icmp", "fromPort": 8, "toPort": -1}, (8, -1)),
    ],
)
def test_rule_ports_become_the_api_range(rule: dict[str, Any], port_range: tuple[int, int] | None) -> None:
    assert SecurityGroupRule.model_validate({**rule, "cidr": "10.0.0.0/8"}).port_range == port_range


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"protocol": "tcp", "port": 80}, "exactly one of cidr"),
        (
            {"protocol": "tcp", "port": 80, "cidr": "0.0.0.0/0", "prefixListId": "pl-12ab"},
            "exactly one of cidr",
        ),
        ({"protocol": "tcp", "port": 80, "fromPort": 80, "toPort": 80, "cidr": "0.0.0.0/0"}, "not both"),
        ({"protocol": "tcp", "fromPort": 80, "cidr": "0.0.0.0/0"}, "go together"),
        ({"protocol": "-1", "port": 80, "cidr": "0.0.0.0/0"}, "covers every port"),
        ({"protocol": "tcp", "port": 80, "cidr": "::/0"}, "not an IPv4 CIDR"),
        ({"protocol": "tcp", "port": 80, "ipv6Cidr": "0.0.0.0/0"}, "not an IPv6 CIDR"),
        ({"protocol": "tcp", "port": 80, "cidr": "10.0.0.0"}, "not an IPv4 CIDR"),
        ({"protocol": "gre", "cidr": "0.0.0.0/0"}, "Input should be"),
    ],
)
def test_rule_shape_errors(rule: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SecurityGroupRule.model_validate(rule)


@pytest.mark.parametrize(
    ("image", "valid"),
    [
        ("public.ecr.aws/nginx/nginx:1.27", True),
        ({"repository": "web", "tag": "latest"}, True),
        ({"repository": "web", "digest": "sha256:" + "a" * 64}, True),
        ({"repository": "web"}, False),
        ({"repository": "web", "tag": "v1", "digest": "sha256:" + "a" * 64}, False),
        ({"repository": "web", "digest": "sha256:short"}, False),
        ({"repository": "Web", "tag": "v1"}, False),
        ("", False),
        (5, False),
    ],
)
def test_container_image_is_a_reference_or_a_managed_repository_tag_or_digest(
    image: object, valid: bool
) -> None:
    if valid:
        container = ContainerDefinition.model_validate({"name": "web", "image": image})
        assert isinstance(container.image, str | RepositoryImage)
    else:
        with pytest.raises(ValidationError):
            ContainerDefinition.model_validate({"name": "web", "image": image})


def test_unset_fields_stay_unset_so_they_are_not_managed() -> None:
    spec = ServiceSpec.model_validate(
        {"cluster": "main", "taskDefinition": "web", "enableECSManagedTags": True}
    )
    assert spec.model_dump(by_alias=True, exclude_unset=True) == {
        "cluster": "main",
        "taskDefinition": "web",
        "enableECSManagedTags": True,
    }
    assert spec.desired_count is None and spec.propagate_tags is None


@pytest.mark.parametrize(
    ("model", "data", "key"),
    [
        (
            ServiceSpec,
            {"cluster": "c", "taskDefinition": "t", "enableECSManagedTags": False},
            "enableECSManagedTags",
        ),
        (
            TaskDefinitionSpec,
            {"containerDefinitions": [CONTAINER], "ephemeralStorage": {"sizeInGiB": 30}},
            "ephemeralStorage",
        ),
        (TargetGroupSpec, {"healthCheck": {"healthyThresholdCount": 3}}, "healthCheck"),
    ],
)
def test_aliases_are_the_aws_names(model: type[Any], data: dict[str, Any], key: str) -> None:
    assert key in model.model_validate(data).model_dump(by_alias=True, exclude_unset=True)


def test_image_pinning_is_ours_and_defaults_to_tag() -> None:
    spec = TaskDefinitionSpec.model_validate({"containerDefinitions": [CONTAINER]})
    assert spec.image_pinning == "tag"
    assert "imagePinning" not in spec.model_dump(by_alias=True, exclude_unset=True)


def test_the_aws_name_defaults_to_metadata_name() -> None:
    manifest = manifest_model(ClusterSpec).model_validate(
        {"apiVersion": "ecs-reconciler/v1", "kind": "Cluster", "metadata": {"name": "main"}, "spec": {}}
    )
    named = manifest_model(ClusterSpec).model_validate(
        {
            "apiVersion": "ecs-reconciler/v1",
            "kind": "Cluster",
            "metadata": {"name": "main"},
            "spec": {"clusterName": "Main_Cluster"},
        }
    )
    assert (manifest.aws_name, aws_name(manifest)) == ("main", "main")
    assert (named.aws_name, aws_name(named)) == ("Main_Cluster", "Main_Cluster")
    assert RepositorySpec(repository_name="team/app").aws_name("app") == "team/app"


def test_lifecycle_policy_renders_canonical_json_text() -> None:
    spec = RepositorySpec.model_validate(
        {
            "lifecyclePolicy": {
                "rules": [
                    {
                        "rulePriority": 1,
                        "description": "expire untagged",
                        "selection": {
                            "tagStatus": "untagged",
                            "countType": "sinceImagePushed",
                            "countUnit": "days",
                            "countNumber": 14,
                        },
                        "action": {"type": "expire"},
                    }
                ]
            },
            "repositoryPolicy": {"Version": "2012-10-17", "Statement": []},
        }
    )
    text = spec.lifecycle_policy_text()
    assert text == (
        '{"rules":[{"action":{"type":"expire"},"description":"expire untagged","rulePriority":1,'
        '"selection":{"countNumber":14,"countType":"sinceImagePushed","countUnit":"days","tagStatus":"untagged"}}]}'
    )
    assert spec.repository_policy_text() == '{"Statement":[],"Version":"2012-10-17"}'
    assert json.loads(text or "") == json.loads(canonical_json(json.loads(text or "")))
    assert RepositorySpec().lifecycle_policy_text() is None


def test_lifecycle_rule_priorities_must_be_unique() -> None:
    rule = {
        "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 5},
        "action": {"type": "expire"},
    }
    with pytest.raises(ValidationError, match="rulePriority must be unique, repeated: 1"):
        RepositorySpec.model_validate(
            {"lifecyclePolicy": {"rules": [{**rule, "rulePriority": 1}, {**rule, "rulePriority": 1}]}}
        )


@pytest.mark.parametrize(
    ("annotations", "self_heal", "paused", "adopt", "deletion_policy"),
    [
        ({}, True, False, False, "delete"),
        ({ANNOTATION_SELF_HEAL: "false"}, False, False, False, "delete"),
        ({ANNOTATION_PAUSED: "true", ANNOTATION_ADOPT: "true"}, True, True, True, "delete"),
        ({ANNOTATION_DELETION_POLICY: "retain"}, True, False, False, "retain"),
        ({"example.com/owner": "team-a"}, True, False, False, "delete"),
    ],
)
def test_annotations_switch_behaviour(
    annotations: dict[str, str], self_heal: bool, paused: bool, adopt: bool, deletion_policy: str
) -> None:
    metadata = Metadata.model_validate({"name": "web", "annotations": annotations})
    assert (metadata.self_heal, metadata.paused, metadata.adopt, metadata.deletion_policy) == (
        self_heal,
        paused,
        adopt,
        deletion_policy,
    )


@pytest.mark.parametrize(
    ("annotations", "message"),
    [
        ({ANNOTATION_PAUSED: "yes"}, 'must be "true" or "false"'),
        ({ANNOTATION_DELETION_POLICY: "keep"}, "must be one of delete, retain"),
        ({"ecs-reconciler/pause": "true"}, "unknown annotation"),
    ],
)
def test_annotation_values_are_checked(annotations: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Metadata.model_validate({"name": "web", "annotations": annotations})


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("a", True),
        ("node-app", True),
        ("a" * 63, True),
        ("a" * 64, False),
        ("-a", False),
        ("a-", False),
        ("A", False),
        ("a_b", False),
        ("", False),
    ],
)
def test_metadata_names(name: str, valid: bool) -> None:
    if valid:
        assert Metadata(name=name).name == name
    else:
        with pytest.raises(ValidationError):
            Metadata(name=name)


@pytest.mark.parametrize(
    ("model", "data", "message"),
    [
        (TargetGroupSpec, {"targetGroupName": "internal-web"}, 'must not start with "internal-"'),
        (TargetGroupSpec, {"targetGroupName": "-web"}, "pattern"),
        (TargetGroupSpec, {"healthCheck": {"matcher": {}}}, "exactly one of httpCode or grpcCode"),
        (TargetGroupSpec, {"healthCheck": {"port": "70000"}}, "traffic-port"),
        (RepositorySpec, {"repositoryName": "Team/App"}, "pattern"),
        (RepositorySpec, {"repositoryName": "a"}, "at least 2"),
        (
            RepositorySpec,
            {
                "encryptionConfiguration": {
                    "encryptionType": "AES256",
                    "kmsKey": "1234abcd-12ab-34cd-56ef-1234567890ab",
                }
            },
            "only allowed",
        ),
        (
            RepositorySpec,
            {"imageTagMutability": "IMMUTABLE_WITH_EXCLUSION"},
            "needs imageTagMutabilityExclusion",
        ),
        (RepositorySpec, {"tags": {"aws:owner": "x"}}, "reserved by AWS"),
        (
            ServiceSpec,
            {
                "cluster": "c",
                "taskDefinition": "t",
                "launchType": "FARGATE",
                "capacityProviderStrategy": [{"capacityProvider": "FARGATE"}],
            },
            "not both",
        ),
        (TaskDefinitionSpec, {"containerDefinitions": []}, "at least 1"),
        (
            TaskDefinitionSpec,
            {"containerDefinitions": [CONTAINER], "executionRoleArn": "arn:aws:iam::1:role/x"},
            "pattern",
        ),
    ],
)
def test_in_object_rules(model: type[Any], data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        model.model_validate(data)


def test_health_check_port_and_matcher_are_aws_strings() -> None:
    spec = TargetGroupSpec.model_validate({"healthCheck": {"port": 8080, "matcher": {"httpCode": 200}}})
    assert spec.health_check is not None and spec.health_check.matcher is not None
    assert (spec.health_check.port, spec.health_check.matcher.http_code) == ("8080", "200")


@pytest.mark.parametrize(
    ("reference", "literal"), [("sg-0123abcd", True), ("sg-web", False), ("web", False), ("sg-", False)]
)
def test_security_group_literal_ids_are_told_from_names(reference: str, literal: bool) -> None:
    assert is_security_group_id(reference) is literal


def test_role_names_and_arns_are_both_accepted() -> None:
    for role in ("ecsTaskExecutionRole", "arn:aws:iam::123456789012:role/service-role/ecsTaskExecutionRole"):
        spec = TaskDefinitionSpec.model_validate({"containerDefinitions": [CONTAINER], "taskRoleArn": role})
        assert spec.task_role_arn == role
