"""Target documents and namespaces in the spec layer: each mistake an error at its file, line and
field, before anything is called; names unique per kind within a namespace only."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.resources.registry import load_estate, load_spec_set
from reconciler.spec.targets import parse_session_duration, partition_of

HEADER = "apiVersion: ecs-reconciler/v1\n"


def target(spec: str, *, name: str = "team-a", metadata: str = "") -> str:
    return f"{HEADER}kind: Target\nmetadata:\n  name: {name}\n{metadata}spec:\n{spec}"


VALID_SPEC = '  accountId: "111111111111"\n  region: eu-west-1\n  roleName: ecs-reconciler\n'


@pytest.mark.parametrize(
    ("spec", "metadata", "line", "path", "message"),
    [
        (
            '  accountId: "1111"\n  region: eu-west-1\n  roleName: r\n',
            "",
            6,
            "accountId",
            "should match pattern",
        ),
        (
            "  accountId: 111111111111\n  region: eu-west-1\n  roleName: r\n",
            "",
            6,
            "accountId",
            'write the account id as a quoted string of 12 digits ("111111111111")',
        ),
        ('  accountId: "111111111111"\n  region: eu-west1\n  roleName: r\n', "", 7, "region", "pattern"),
        ('  accountId: "111111111111"\n  region: eu-west-1\n', "", 5, "spec", "give roleArn or roleName"),
        (
            VALID_SPEC + "  roleArn: arn:aws:iam::111111111111:role/x\n",
            "",
            5,
            "spec",
            "exactly one",
        ),
        (
            '  accountId: "111111111111"\n  region: eu-west-1\n  roleArn: arn:aws:iam::222222222222:role/x\n',
            "",
            5,
            "spec",
            "roleArn is a role of account 222222222222, not of accountId 111111111111",
        ),
        (VALID_SPEC + "  sessionDuration: 10m\n", "", 9, "sessionDuration", "must be 15m to 12h"),
        (VALID_SPEC + "  sessionDuration: 13h\n", "", 9, "sessionDuration", "must be 15m to 12h"),
        (VALID_SPEC + "  externalId: x\n", "", 9, "externalId", "pattern"),
        (VALID_SPEC + "  regoin: eu-west-1\n", "", 9, "regoin", "unknown field (did you mean 'region'?)"),
        (VALID_SPEC, "  namespace: other\n", 5, "metadata.namespace", "a Target is not in a namespace"),
    ],
)
def test_a_bad_target_is_an_error_at_its_field(
    tmp_path: Path, spec: str, metadata: str, line: int, path: str, message: str
) -> None:
    (tmp_path / "targets.yaml").write_text(target(spec, metadata=metadata))
    estate, errors = load_estate([tmp_path])
    assert estate is None
    (error,) = errors
    assert (error.line, error.kind, error.name, error.path) == (line, "Target", "team-a", path), error
    assert message in error.message


def test_a_target_may_not_take_the_default_targets_name(tmp_path: Path) -> None:
    (tmp_path / "targets.yaml").write_text(target(VALID_SPEC, name="default"))
    _, errors = load_estate([tmp_path])
    (error,) = errors
    assert "names the default target" in str(error) and error.path == "metadata.name"


def test_names_are_unique_per_kind_within_a_namespace_only(tmp_path: Path) -> None:
    cluster = HEADER + "kind: Cluster\nmetadata:\n  name: web\n{namespace}spec: {{}}\n"
    (tmp_path / "targets.yaml").write_text(target(VALID_SPEC))
    (tmp_path / "a.yaml").write_text(cluster.format(namespace=""))
    (tmp_path / "b.yaml").write_text(cluster.format(namespace="  namespace: team-a\n"))
    estate, errors = load_estate([tmp_path])
    assert errors == []
    assert estate is not None
    assert [document.key for document in estate.namespaces[None]] == [("Cluster", "web")]
    assert [document.key for document in estate.namespaces["team-a"]] == [("Cluster", "web")]

    (tmp_path / "c.yaml").write_text(cluster.format(namespace="  namespace: team-a\n"))
    _, errors = load_estate([tmp_path])
    (error,) = errors
    assert error.file.endswith("c.yaml") and "duplicate Cluster named 'web'" in error.message


def test_a_target_without_documents_is_still_a_namespace_of_the_estate(tmp_path: Path) -> None:
    """Its orphans are still looked for: removing a namespace's last document is not forgetting it."""
    (tmp_path / "targets.yaml").write_text(target(VALID_SPEC))
    estate, errors = load_estate([tmp_path])
    assert errors == [] and estate is not None
    assert list(estate.namespaces) == ["team-a"]
    assert len(estate.namespaces["team-a"]) == 0


def test_one_account_spec_sets_refuse_targets_and_namespaces(tmp_path: Path) -> None:
    """What converges one account (the daemon, for now) must not pour every namespace into it."""
    (tmp_path / "targets.yaml").write_text(target(VALID_SPEC))
    spec_set, errors = load_spec_set([tmp_path])
    assert spec_set is None
    (error,) = errors
    assert (error.line, error.path) == (2, "kind")
    assert "converged into one account and Region" in error.message


@pytest.mark.parametrize(
    ("text", "seconds"), [("1h", 3600), ("15m", 900), ("3600s", 3600), (43200, 43200), ("12h", 43200)]
)
def test_session_durations(text: str | int, seconds: int) -> None:
    assert parse_session_duration(text) == seconds


@pytest.mark.parametrize(
    ("region", "partition"), [("eu-west-1", "aws"), ("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")]
)
def test_a_role_name_is_completed_in_the_regions_partition(
    tmp_path: Path, region: str, partition: str
) -> None:
    assert partition_of(region) == partition
    (tmp_path / "targets.yaml").write_text(
        target(f'  accountId: "111111111111"\n  region: {region}\n  roleName: deployer\n')
    )
    estate, errors = load_estate([tmp_path])
    assert errors == [] and estate is not None
    assert estate.targets[0].role_arn == f"arn:{partition}:iam::111111111111:role/deployer"
