"""Targets and namespaces: one spec tree converges stacks into several accounts and Regions with
one `apply`, each through a role assumed from the management account's credentials; a target
that cannot be reached fails alone; bad estates are refused before any call.

The local AWS keeps separate state per account and Region for assumed-role credentials, so "lands
in its own account and Region and nowhere else" is read straight from its backends.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from reconciler.cli import main
from reconciler.local import LocalAWS
from tests.acceptance.support import NODE_APP, run_cli

TEAM_A = ("111111111111", "eu-west-1")
TEAM_B = ("222222222222", "us-west-2")
MANAGEMENT = ("123456789012", "us-east-1")
TEAM_B_ROLE = "arn:aws:iam::222222222222:role/ecs-reconciler"

TARGETS = """\
apiVersion: ecs-reconciler/v1
kind: Target
metadata:
  name: team-a
spec:
  accountId: "111111111111"
  region: eu-west-1
  roleName: ecs-reconciler
---
apiVersion: ecs-reconciler/v1
kind: Target
metadata:
  name: team-b
spec:
  accountId: "222222222222"
  region: us-west-2
  roleArn: arn:aws:iam::222222222222:role/ecs-reconciler
  externalId: team-b-external-id
  sessionDuration: 30m
"""


def stack_in(folder: Path, namespace: str) -> None:
    """The tutorial's stack (specs/node-app), every document placed in `namespace`."""
    folder.mkdir(parents=True)
    for source in sorted(NODE_APP.glob("*.yaml")):
        text = source.read_text().replace("\nmetadata:\n", f"\nmetadata:\n  namespace: {namespace}\n")
        assert text.count(f"namespace: {namespace}") == text.count("\nkind: "), source
        (folder / source.name).write_text(text)


@pytest.fixture
def estate(tmp_path: Path) -> Path:
    """Two Targets (two accounts, two Regions), the same stack in each namespace."""
    root = tmp_path / "estate"
    root.mkdir()
    (root / "targets.yaml").write_text(TARGETS)
    stack_in(root / "team-a", "team-a")
    stack_in(root / "team-b", "team-b")
    return root


def clusters(aws: LocalAWS, place: tuple[str, str]) -> set[str]:
    account, region = place
    with aws.lock:
        backend = aws.ecs_backend(account, region)
        return {name for name, cluster in backend.clusters.items() if cluster.status == "ACTIVE"}


def load_balancers(aws: LocalAWS, place: tuple[str, str]) -> list[str]:
    account, region = place
    with aws.lock:
        return list(aws.elbv2_backend(account, region).load_balancers)


def repositories(aws: LocalAWS, place: tuple[str, str]) -> set[str]:
    account, region = place
    with aws.lock:
        return set(aws.ecr_backend(account, region).repositories)


@pytest.mark.aws
def test_one_apply_converges_each_target_in_its_own_account_and_region_and_nowhere_else(
    aws: LocalAWS, estate: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    applied = run_cli(capsys, "apply", str(estate))
    assert applied.code == 0, applied
    targets = {target["name"]: target for target in applied.output["targets"]}
    assert set(targets) == {"team-a", "team-b"}
    assert (targets["team-a"]["accountId"], targets["team-a"]["region"]) == TEAM_A
    assert targets["team-a"]["roleArn"] == "arn:aws:iam::111111111111:role/ecs-reconciler"
    assert (targets["team-b"]["accountId"], targets["team-b"]["region"]) == TEAM_B
    assert all(target["ok"] and target["error"] is None for target in targets.values())
    # One role assumed per target; the calls are counted per target and in total.
    assert applied.calls["sts.AssumeRole"] == 2
    assert all(target["calls"]["sts.AssumeRole"] == 1 for target in targets.values())
    for call, count in applied.calls.items():
        assert count == sum(target["calls"].get(call, 0) for target in targets.values()), call
    # Each target's writes are those of the stack converged from empty, once per target.
    assert targets["team-a"]["calls"]["ecs.CreateService"] == 1
    assert targets["team-b"]["calls"]["ecs.CreateService"] == 1
    per_target = {name: [r for r in applied.resources if r["target"] == name] for name in targets}
    assert len(per_target["team-a"]) == len(per_target["team-b"]) == 9
    assert all(r["namespace"] == r["target"] and r["outcome"] == "created" for r in applied.resources)

    for place in (TEAM_A, TEAM_B):
        assert clusters(aws, place) == {"node-app"}
        assert len(load_balancers(aws, place)) == 1
        assert repositories(aws, place) == {"varuntd/node-app"}
    # Not in the management account, and not crossed over (each account in the other's Region).
    for place in (MANAGEMENT, (TEAM_A[0], TEAM_B[1]), (TEAM_B[0], TEAM_A[1]), (TEAM_A[0], MANAGEMENT[1])):
        assert clusters(aws, place) == set(), place
        assert load_balancers(aws, place) == [], place
        assert repositories(aws, place) == set(), place
    # What each namespace created carries its namespace.
    with aws.lock:
        cluster = aws.ecs_backend(*TEAM_B).clusters["node-app"]
        tags = {tag["key"]: tag["value"] for tag in cluster.tags or []}
    assert tags["ecs-reconciler/namespace"] == "team-b"
    # The example's containers log to the Region their stack was converged into: the spec leaves
    # awslogs-region out, so one document serves every Target.
    for account, region in (TEAM_A, TEAM_B):
        with aws.lock:
            (revision,) = aws.ecs_backend(account, region).task_definitions["node-app"].values()
            options = revision.container_definitions[0]["logConfiguration"]["options"]
        assert options["awslogs-region"] == region

    planned = run_cli(capsys, "plan", str(estate))
    assert planned.code == 0, planned
    # Nothing written: the only calls the counter calls writes are the two roles assumed.
    assert planned.writes == {"sts.AssumeRole": 2}
    assert planned.output["summary"]["inSync"] == len(applied.resources) == 18


@pytest.mark.aws
def test_a_target_whose_role_cannot_be_assumed_fails_alone_and_every_output_names_it(
    aws: LocalAWS, estate: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    aws.refuse_assume_role(TEAM_B_ROLE)

    applied = run_cli(capsys, "apply", str(estate))
    assert applied.code == 1, applied
    targets = {target["name"]: target for target in applied.output["targets"]}
    assert targets["team-a"]["ok"] and targets["team-a"]["error"] is None
    assert not targets["team-b"]["ok"]
    assert "AccessDenied" in targets["team-b"]["error"] and TEAM_B_ROLE in targets["team-b"]["error"]
    assert targets["team-b"]["calls"] == {"sts.AssumeRole": 1}  # refused, and not retried
    (error,) = applied.output["errors"]
    assert error["target"] == "team-b" and "sts.AssumeRole: AccessDenied" in error["message"]
    assert clusters(aws, TEAM_A) == {"node-app"}  # the other target converged
    assert clusters(aws, TEAM_B) == set()
    assert {r["target"] for r in applied.resources} == {"team-a"}

    for command in ("plan", "drift"):
        capsys.readouterr()
        code = main([command, str(estate)])
        out, err = capsys.readouterr()
        assert code == 1, out
        assert "target team-b (222222222222, us-west-2)" in out
        assert "failed: sts.AssumeRole: AccessDenied" in out
        assert "error: target team-b: sts.AssumeRole: AccessDenied" in err
        assert "1 of 2 targets failed: team-b" in out
        assert "in sync: 9 resources" in out  # team-a, converged, is reported as usual

    # The log names the target, its account and its Region (JSON lines beside JSON output).
    assert main(["plan", str(estate), "--output", "json"]) == 1
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    (failed,) = [line for line in lines if line["event"] == "target_failed"]
    assert (failed["target"], failed["account"], failed["region"]) == ("team-b", *TEAM_B)
    assert "AccessDenied" in failed["error"]

    code = main(["drift", str(estate), "--output", "markdown"])
    markdown = capsys.readouterr().out
    assert code == 1
    assert "### ecs-reconciler drift: target team-b (222222222222, us-west-2)" in markdown
    assert "**failed**: sts.AssumeRole: AccessDenied" in markdown


@pytest.mark.aws
def test_namespace_option_acts_on_the_named_targets_only(
    aws: LocalAWS, estate: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    applied = run_cli(capsys, "apply", str(estate), "--namespace", "team-b")
    assert applied.code == 0, applied
    assert [target["name"] for target in applied.output["targets"]] == ["team-b"]
    assert "sts.AssumeRole" in applied.calls and applied.calls["sts.AssumeRole"] == 1
    assert clusters(aws, TEAM_B) == {"node-app"}
    assert clusters(aws, TEAM_A) == set()

    unknown = run_cli(capsys, "plan", str(estate), "--namespace", "team-c")
    assert unknown.code == 1
    (error,) = unknown.output["errors"]
    assert "no Target named 'team-c' (targets: team-a, team-b)" in error["message"]
    assert unknown.calls == {}


@pytest.mark.aws
def test_two_namespaces_in_one_account_and_region_never_claim_or_prune_each_others_objects(
    aws: LocalAWS, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Target on the management account and Region, beside documents without a namespace:
    each pass owns only its own namespace's objects, so pruning one deletes nothing of the other's."""
    root = tmp_path / "estate"
    root.mkdir()
    (root / "targets.yaml").write_text(
        "apiVersion: ecs-reconciler/v1\nkind: Target\nmetadata: {name: here}\n"
        'spec: {accountId: "123456789012", region: us-east-1, roleName: ecs-reconciler}\n'
    )
    cluster = (
        "apiVersion: ecs-reconciler/v1\nkind: Cluster\nmetadata: {{name: {name}{namespace}}}\n"
        "spec: {{clusterName: {aws_name}}}\n"
    )
    (root / "default.yaml").write_text(cluster.format(name="web", namespace="", aws_name="web-default"))
    (root / "here.yaml").write_text(
        cluster.format(name="web", namespace=", namespace: here", aws_name="web-here")
    )
    assert run_cli(capsys, "apply", str(root)).code == 0
    assert clusters(aws, MANAGEMENT) == {"web-default", "web-here"}

    # The default namespace's document goes: only its own cluster is an orphan, and pruned.
    (root / "default.yaml").unlink()
    (root / "other.yaml").write_text(cluster.format(name="other", namespace="", aws_name="web-other"))
    pruned = run_cli(capsys, "apply", str(root), "--prune", "--allow-mass-prune")
    assert pruned.code == 0, [e["message"] for e in pruned.output["errors"]]
    assert clusters(aws, MANAGEMENT) == {"web-other", "web-here"}
    assert pruned.writes == {"ecs.CreateCluster": 1, "ecs.DeleteCluster": 1, "sts.AssumeRole": 1}

    # A same-named object of the other namespace is a conflict, never adopted or changed.
    (root / "other.yaml").write_text(
        cluster.format(
            name="other", namespace=', annotations: {ecs-reconciler/adopt: "true"}', aws_name="web-here"
        )
    )
    conflict = run_cli(capsys, "plan", str(root))
    assert conflict.code == 1
    (error,) = conflict.output["errors"]
    assert error["target"] == "default" and "owned by another namespace (here)" in error["message"]


HEADER = "apiVersion: ecs-reconciler/v1\n"
TARGET_C = (
    HEADER + "kind: Target\nmetadata: {{name: team-c}}\nspec:\n  accountId: {account}\n  region: eu-west-1\n"
)

BAD_ESTATES = {
    "a namespace with no Target": (
        {"cluster.yaml": HEADER + "kind: Cluster\nmetadata:\n  name: web\n  namespace: team-c\nspec: {}\n"},
        "cluster.yaml:5: Cluster/web: metadata.namespace: no Target named 'team-c' (Targets: team-a, team-b)",
    ),
    "a malformed account id": (
        {"zz-more.yaml": TARGET_C.format(account='"11111111111"') + "  roleName: r\n"},
        "zz-more.yaml:5: Target/team-c: accountId: String should match pattern",
    ),
    "two Targets on one account and Region": (
        {"zz-more.yaml": TARGET_C.format(account='"111111111111"') + "  roleName: other\n"},
        "zz-more.yaml:5: Target/team-c: accountId: account 111111111111 in eu-west-1 is already Target "
        "'team-a'",
    ),
    "a reference across namespaces": ({}, None),
}


@pytest.mark.aws
@pytest.mark.parametrize("case", sorted(BAD_ESTATES))
def test_a_bad_estate_is_an_error_with_file_and_line_and_writes_nothing(
    aws: LocalAWS, estate: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    files, expected = BAD_ESTATES[case]
    for name, text in files.items():
        (estate / name).write_text(text)
    if expected is None:  # the reference: team-b's service names team-a's cluster
        service = estate / "team-b" / "service.yaml"
        service.write_text(service.read_text().replace("cluster: node-app", "cluster: lonely-a"))
        (estate / "team-a" / "lonely.yaml").write_text(
            HEADER + "kind: Cluster\nmetadata:\n  name: lonely-a\n  namespace: team-a\nspec: {}\n"
        )
        line = service.read_text().splitlines().index("  cluster: lonely-a") + 1
        expected = (
            f"service.yaml:{line}: Service/node-app: cluster: no Cluster document named 'lonely-a' in this "
            "namespace (there is one in namespace 'team-a': references never cross namespaces)"
        )
    code = main(["validate", str(estate)])
    out = capsys.readouterr().out
    assert code == 1
    assert any(line.endswith(expected) or expected in line for line in out.splitlines()), out

    applied = run_cli(capsys, "apply", str(estate))
    assert applied.code == 1
    assert applied.calls == {}
    rendered = [
        f"{e['file']}:{e['line']}: {e['kind']}/{e['name']}: {e['path']}: {e['message']}"
        for e in applied.output["errors"]
    ]
    assert any(expected in error for error in rendered), rendered
    for place in (TEAM_A, TEAM_B, MANAGEMENT):
        assert clusters(aws, place) == set()


def test_validate_accepts_an_estate_and_names_each_documents_namespace(
    estate: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(NODE_APP / "cluster.yaml", estate / "default-cluster.yaml")
    assert main(["validate", str(estate), "--output", "json"]) == 0
    output = json.loads(capsys.readouterr().out)
    assert output["ok"], output
    namespaces = [resource["namespace"] for resource in output["resources"]]
    assert namespaces.count("team-a") == namespaces.count("team-b") == 9
    assert namespaces.count(None) == 1
    assert [target["name"] for target in output["targets"]] == ["team-a", "team-b"]
    assert main(["validate", str(estate)]) == 0
    assert "valid: 19 documents and 2 Targets in 12 files" in capsys.readouterr().out
