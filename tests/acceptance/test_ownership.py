"""Ownership through the CLI: what the reconciler did not create it never touches, and pruning
deletes only what it owns, honours `deletion-policy: retain`, `--max-deletes` and the mass-prune guard.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.fleet import write_fleet
from tests.acceptance.support import NODE_APP, Console, run_cli
from tests.sweeps.inventory import inventory

pytestmark = pytest.mark.aws

NA = "node-app"
GUARD = (
    "not pruned: the spec set would prune more than half of what is owned (or has no documents); "
    "pass --allow-mass-prune to confirm"
)
ORPHAN_KINDS = (
    "Cluster",
    "LogGroup",
    "Repository",
    "TargetGroup",
    "LoadBalancer",
    "TaskDefinition",
    "Service",
)
"""Every kind of specs/node-app but SecurityGroup, of which it has two."""
ORPHAN_READS = {
    # The sweep: one page lists every object this instance owns, and each kind finds one of its own
    # that no document claims, so each kind lists its own as it would without the tagging API ...
    "resourcegroupstaggingapi.GetResources": 1,
    "ecs.ListClusters": 1,
    "ecs.DescribeClusters": 1,
    "ecs.ListServices": 4,  # in each of the four clusters, blue's and the hand-made one included
    "ecs.DescribeServices": 2,
    "application-autoscaling.DescribeScalableTargets": 1,
    "ecs.ListTaskDefinitions": 1,
    "ecs.DescribeTaskDefinition": 2,
    "ecs.ListTagsForResource": 1,
    "ec2.DescribeSecurityGroups": 1,
    "elbv2.DescribeLoadBalancers": 1,
    "elbv2.DescribeTargetGroups": 1,
    "elbv2.DescribeTags": 2,
    # ... and ECR and CloudWatch Logs, which filter on no tag, read the tags of each object no
    # document claims: old-app's, blue-app's and the hand-made one.
    "ecr.DescribeRepositories": 1,
    "ecr.ListTagsForResource": 3,
    "logs.DescribeLogGroups": 1,
    "logs.ListTagsForResource": 3,
}
"""What `plan` reads beyond the documents' own objects when every kind has an orphan."""
LINGERING_READS = {
    "resourcegroupstaggingapi.GetResources": 1,
    "ecs.ListClusters": 1,
    "ecs.DescribeClusters": 1,
    "ecs.ListServices": 4,
    "ecs.DescribeServices": 1,
    "ecs.ListTaskDefinitions": 1,
    "ecs.DescribeTaskDefinition": 1,
}
"""What `plan` still reads beyond the documents' own objects once the orphans are deleted. A deleted
ECS object stays, tagged and INACTIVE (a task definition revision indefinitely on AWS, a cluster or
a service for a while), and the local AWS's GetResources still lists all three (whether AWS's index
does is unverified): their kinds list their own to find no orphan. A cost to remove (untagging on
delete, say), pinned so that the change shows."""


def test_an_unowned_target_group_with_the_specs_name_is_a_conflict_left_untouched_and_blocks_its_dependants(
    capsys: pytest.CaptureFixture[str], console: Console
) -> None:
    # Made by hand before the reconciler ever ran: no ownership tags.
    (theirs,) = console.elbv2.create_target_group(
        Name=NA,
        Protocol="HTTP",
        Port=8080,
        VpcId=console.default_vpc(),
        TargetType="ip",
        HealthCheckPath="/theirs",
    )["TargetGroups"]
    arn = theirs["TargetGroupArn"]

    plan = run_cli(capsys, "plan", str(NODE_APP))
    assert plan.code == 1, plan
    conflict = plan.resource("TargetGroup", NA)
    assert (conflict["status"], conflict["action"], conflict["calls"]) == ("conflict", "conflict", [])
    assert arn in conflict["message"] and "unowned" in conflict["message"]
    assert "ecs-reconciler/adopt" in conflict["message"]
    blocked = "depends on TargetGroup/node-app, which is in conflict"
    for kind in ("LoadBalancer", "Service"):
        dependant = plan.resource(kind, NA)
        assert (dependant["status"], dependant["message"], dependant["calls"]) == ("conflict", blocked, [])
    assert {(error["kind"], error["name"]) for error in plan.output["errors"]} == {
        ("TargetGroup", NA),
        ("LoadBalancer", NA),
        ("Service", NA),
    }

    applied = run_cli(capsys, "apply", str(NODE_APP))
    assert applied.code == 1, applied
    # Everything that does not need the target group is created; nothing of ELBv2, no service.
    assert applied.writes == {
        "ecr.CreateRepository": 1,
        "logs.CreateLogGroup": 1,
        "logs.PutRetentionPolicy": 1,
        "ecs.CreateCluster": 1,
        "ec2.CreateSecurityGroup": 2,
        "ec2.AuthorizeSecurityGroupIngress": 2,
        "ecs.RegisterTaskDefinition": 1,
    }
    after = console.target_group(NA)
    assert {key: after[key] for key in theirs if key != "LoadBalancerArns"} == {
        key: value for key, value in theirs.items() if key != "LoadBalancerArns"
    }
    assert after["LoadBalancerArns"] == []  # no listener was pointed at it
    assert console.target_group_tags(arn) == {}
    assert console.elbv2.describe_load_balancers()["LoadBalancers"] == []
    assert console.active_services(NA) == set()

    again = run_cli(capsys, "apply", str(NODE_APP))
    assert (again.code, again.writes) == (1, {}), again
    assert again.resource("TargetGroup", NA)["status"] == "conflict"


def _orphans(run: Any) -> dict[tuple[str, str], str]:
    """The resources planned for deletion, with their message ("" when the delete is issued)."""
    return {(r["kind"], r["name"]): r["message"] for r in run.resources if r["status"] == "orphaned"}


def _removed(*numbers: int) -> set[tuple[str, str]]:
    return {(kind, f"svc-{n}") for n in numbers for kind in ("Service", "TargetGroup", "TaskDefinition")}


def test_prune_deletes_only_owned_unretained_resources_at_most_max_deletes_a_run_behind_the_mass_guard(
    capsys: pytest.CaptureFixture[str], console: Console, tmp_path: Path
) -> None:
    fleet = write_fleet(tmp_path / "fleet", retain=[20])
    assert run_cli(capsys, "apply", str(fleet)).code == 0
    # Look-alikes made by hand: a target group and a service of the same pattern, in the managed
    # cluster, even with the stack's team tag, but not created by the reconciler.
    console.elbv2.create_target_group(
        Name="svc-21",
        Protocol="HTTP",
        Port=8080,
        VpcId=console.default_vpc(),
        TargetType="ip",
        Tags=[{"Key": "team", "Value": "fleet"}],
    )
    subnets = console.service("fleet", "svc-1")["networkConfiguration"]["awsvpcConfiguration"]["subnets"]
    console.ecs.create_service(
        cluster="fleet",
        serviceName="svc-21",
        taskDefinition="svc-1",
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": subnets}},
        tags=[{"key": "team", "value": "fleet"}],
    )

    # svc-18, svc-19 and svc-20 (whose documents said retain) are removed from git.
    write_fleet(fleet, services=17, retain=[20])
    plan = run_cli(capsys, "plan", str(fleet), "--prune")
    assert plan.code == 2, plan
    assert set(_orphans(plan)) == _removed(18, 19)

    first = run_cli(capsys, "apply", str(fleet), "--prune", "--max-deletes", "5")
    assert first.code == 1, first  # deletions deferred: not converged yet
    deferred = {key for key, message in _orphans(first).items() if message}
    assert {_orphans(first)[key] for key in deferred} == {"deferred: at most 5 deletions per pass"}
    assert len(_removed(18, 19) - deferred) == 5
    # Services go first (scaled to 0, then deleted; svc-18's scalable target before it), then target
    # groups, then revisions; the three listener rules go with the load balancer's own update, which
    # records its edited document's spec hash (one AddTags).
    assert first.writes == {
        "elbv2.DeleteRule": 3,
        "elbv2.AddTags": 1,
        "application-autoscaling.DeregisterScalableTarget": 1,
        "ecs.UpdateService": 2,
        "ecs.DeleteService": 2,
        "elbv2.DeleteTargetGroup": 2,
        "ecs.DeregisterTaskDefinition": 1,
    }

    second = run_cli(capsys, "apply", str(fleet), "--prune", "--max-deletes", "5")
    assert second.code == 0, second
    assert set(_orphans(second)) == deferred
    assert second.writes == {"ecs.DeregisterTaskDefinition": 1}

    done = run_cli(capsys, "plan", str(fleet), "--prune")
    assert (done.code, done.changed) == (0, {}), done
    services = console.active_services("fleet")
    assert services == {f"svc-{n}" for n in range(1, 18)} | {"svc-20", "svc-21"}
    groups = {g["TargetGroupName"] for g in console.elbv2.describe_target_groups()["TargetGroups"]}
    assert groups == {f"svc-{n}" for n in range(1, 18)} | {"svc-20", "svc-21"}
    retained = console.target_group("svc-20")
    assert console.target_group_tags(retained["TargetGroupArn"])["ecs-reconciler/deletion-policy"] == "retain"
    assert console.target_group_tags(console.target_group("svc-21")["TargetGroupArn"]) == {"team": "fleet"}
    revisions = {
        family: console.ecs.describe_task_definition(taskDefinition=f"{family}:1")["taskDefinition"]["status"]
        for family in ("svc-18", "svc-19", "svc-20")
    }
    assert revisions == {"svc-18": "INACTIVE", "svc-19": "INACTIVE", "svc-20": "ACTIVE"}

    # Down to two services: 45 of the 58 owned resources would go. The guard refuses, and apply
    # exits 1 (not converged), each refusal in the errors, as with deferred deletes.
    write_fleet(fleet, services=2)
    guarded = run_cli(capsys, "apply", str(fleet), "--prune")
    assert guarded.code == 1, guarded
    assert {e["message"] for e in guarded.output["errors"]} == {GUARD}
    assert set(_orphans(guarded)) == _removed(*range(3, 18))
    assert set(_orphans(guarded).values()) == {GUARD}
    # The load balancer's own rules are an update of its edited document (with its spec hash).
    assert guarded.writes == {"elbv2.DeleteRule": 15, "elbv2.AddTags": 1}
    assert console.active_services("fleet") == services

    confirmed = run_cli(capsys, "apply", str(fleet), "--prune", "--allow-mass-prune")
    assert confirmed.code == 1, confirmed  # 10 deleted, the rest deferred to the next run
    issued = {key for key, message in _orphans(confirmed).items() if not message}
    assert len(issued) == 10  # --max-deletes defaults to 10, with or without the guard
    assert {kind for kind, _ in issued} == {"Service"}
    assert confirmed.writes == {
        "application-autoscaling.DeregisterScalableTarget": 5,
        "ecs.UpdateService": 10,
        "ecs.DeleteService": 10,
    }
    assert console.active_services("fleet") == services - {name for _, name in issued}


def test_another_instances_stack_is_never_changed_or_pruned(
    capsys: pytest.CaptureFixture[str], console: Console, tmp_path: Path
) -> None:
    fleet = write_fleet(tmp_path / "fleet")
    assert run_cli(capsys, "apply", str(fleet), "--instance", "blue").code == 0
    before = inventory(console)
    tags_before = console.target_group_tags(console.target_group("svc-1")["TargetGroupArn"])

    # The default instance is given the same stack, three services short, and told to prune hard:
    # every same-named object is blue's, so each is a conflict and none of blue's is an orphan.
    write_fleet(fleet, services=17)
    run = run_cli(capsys, "apply", str(fleet), "--prune", "--allow-mass-prune", "--max-deletes", "100")
    assert run.code != 0, run
    assert run.writes == {}, run
    assert inventory(console) == before
    assert console.target_group_tags(console.target_group("svc-1")["TargetGroupArn"]) == tags_before


def test_an_empty_folder_tears_the_stack_down_only_with_prune_and_allow_mass_prune(
    capsys: pytest.CaptureFixture[str], console: Console, tmp_path: Path
) -> None:
    """Issue 13 item 8: deleting everything is a spec set with no documents, and asking for it
    takes both switches; without them an empty folder is an error that names them (a mistyped
    path must never read as "nothing is wanted")."""
    assert run_cli(capsys, "apply", str(NODE_APP)).code == 0
    empty = tmp_path / "empty"
    empty.mkdir()
    refused = run_cli(capsys, "apply", str(empty), "--prune")
    assert refused.code == 1 and refused.calls == {}, refused
    (error,) = refused.output["errors"]
    assert "--prune --allow-mass-prune" in error["message"]

    planned = run_cli(capsys, "plan", str(empty), "--prune", "--allow-mass-prune")
    assert planned.code == 2, planned
    assert {r["status"] for r in planned.resources} == {"orphaned"}
    for _ in range(5):  # deletions in dependency order, at most --max-deletes a pass
        run_cli(capsys, "apply", str(empty), "--prune", "--allow-mass-prune", "--max-deletes", "50")
    after = run_cli(capsys, "plan", str(empty), "--prune", "--allow-mass-prune")
    assert (after.code, after.resources) == (0, []), after
    clusters = console.ecs.describe_clusters(clusters=[NA])["clusters"]
    assert [cluster["status"] for cluster in clusters] in ([], ["INACTIVE"])


def _renamed_copy(folder: Path, app: str) -> Path:
    """specs/node-app with every name `node-app` → `app`: a second stack with one object of each kind."""
    folder.mkdir(parents=True)
    for source in NODE_APP.glob("*.yaml"):
        (folder / source.name).write_text(source.read_text().replace("node-app", app))
    return folder


def test_orphans_of_every_kind_are_found_through_the_tagging_sweep_and_pruned_and_nothing_else_is(
    capsys: pytest.CaptureFixture[str], console: Console, tmp_path: Path
) -> None:
    """Issue 10: a stack removed from git leaves one orphan of each kind. The one tagging sweep
    names candidates of every kind, so each kind lists its own (and only then): `plan` finds all
    nine objects, `apply --prune` deletes them, and another instance's stack and objects made by
    hand (same kinds, some with the same look) are never read as orphans nor touched."""
    estate = tmp_path / "estate"
    shutil.copytree(NODE_APP, estate / NA)
    _renamed_copy(tmp_path / "blue", "blue-app")
    assert run_cli(capsys, "apply", str(tmp_path / "blue"), "--instance", "blue").code == 0
    console.ecs.create_cluster(clusterName="hand-made", tags=[{"key": "app", "value": "old-app"}])
    console.logs.create_log_group(logGroupName="/ecs/hand-made", tags={"app": "old-app"})
    console.ecr.create_repository(repositoryName="hand-made")
    console.ec2.create_security_group(
        GroupName="hand-made", Description="by hand", VpcId=console.default_vpc()
    )
    assert run_cli(capsys, "apply", str(estate)).code == 0
    wanted = inventory(console)

    _renamed_copy(estate / "old-app", "old-app")
    assert run_cli(capsys, "apply", str(estate)).code == 0
    shutil.rmtree(estate / "old-app")
    documents_only = run_cli(capsys, "apply", str(estate))  # apply reads no orphans without --prune
    assert documents_only.writes == {}, documents_only

    planned = run_cli(capsys, "plan", str(estate))
    assert planned.code == 2, planned  # changes: nine to delete
    assert {(r["kind"], r["name"]) for r in planned.resources if r["status"] == "orphaned"} == {
        (kind, "old-app") for kind in ORPHAN_KINDS
    } | {("SecurityGroup", "old-app-alb"), ("SecurityGroup", "old-app-tasks")}
    more = {
        call: count - documents_only.calls.get(call, 0)
        for call, count in planned.calls.items()
        if count != documents_only.calls.get(call, 0)
    }
    assert more == ORPHAN_READS, more

    for _ in range(5):  # deletions in dependency order, at most --max-deletes a pass
        pruned = run_cli(capsys, "apply", str(estate), "--prune")
        if pruned.code == 0:
            break
    assert pruned.code == 0, pruned
    done = run_cli(capsys, "plan", str(estate), "--prune")
    assert (done.code, done.changed) == (0, {}), done
    # Blue's stack and the hand-made objects are all there; old-app's cluster is deleted (the local
    # AWS, as AWS may for a while, still lists it, INACTIVE).
    (cluster,) = console.ecs.describe_clusters(clusters=["old-app"])["clusters"]
    assert cluster["status"] == "INACTIVE"
    after = inventory(console)
    after["cluster"].pop("old-app", None)
    assert after == wanted
    # No orphan is left, but the sweep still lists what was deleted and stays tagged: the INACTIVE
    # cluster, service and task definition revision, so those three kinds still list their own.
    assert {
        call: count - documents_only.calls.get(call, 0)
        for call, count in done.calls.items()
        if count != documents_only.calls.get(call, 0)
    } == LINGERING_READS, done
