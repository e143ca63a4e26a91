"""The daemon on an estate, in-process, against the local AWS: every Target converges into its own
account and Region with its own session; a Target whose role cannot be assumed fails alone and
every view names it; /status, /drift and /metrics group by target; a Target added by an edit
starts converging without a restart."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from reconciler.local import LocalAWS
from tests.acceptance.test_targets import MANAGEMENT, TARGETS, TEAM_A, TEAM_B, TEAM_B_ROLE, clusters
from tests.daemon.test_daemon import daemon, eventually, get_json, options

pytestmark = pytest.mark.aws

CLUSTER = """\
apiVersion: ecs-reconciler/v1
kind: Cluster
metadata:
  name: web
  namespace: {namespace}
spec:
  capacityProviders: [FARGATE]
"""

TEAM_C = """\
---
apiVersion: ecs-reconciler/v1
kind: Target
metadata:
  name: team-c
spec:
  accountId: "333333333333"
  region: eu-central-1
  roleName: ecs-reconciler
"""


def write_estate(folder: Path, *namespaces: str, extra_targets: str = "") -> None:
    (folder / "targets.yaml").write_text(TARGETS + extra_targets)
    (folder / "clusters.yaml").write_text("---\n".join(CLUSTER.format(namespace=name) for name in namespaces))


async def get_text(port: int, path: str) -> str:
    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}{path}") as response:
        return await response.text()


def by_name(targets: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {target["name"]: target for target in targets}


def test_the_daemon_converges_each_target_in_its_own_account_and_groups_its_views_by_target(
    aws: LocalAWS, tmp_path: Path
) -> None:
    write_estate(tmp_path, "team-a", "team-b")

    async def scenario() -> None:
        async with daemon(options(aws, tmp_path)) as running:
            await eventually(lambda: clusters(aws, TEAM_A) == {"web"} and clusters(aws, TEAM_B) == {"web"})
            assert clusters(aws, MANAGEMENT) == set()  # the default target has no document

            _, status = await get_json(running.port, "/status")
            targets = by_name(status["targets"])
            assert set(targets) == {"team-a", "team-b"}  # no default: no document is in it
            assert (targets["team-a"]["accountId"], targets["team-a"]["region"]) == TEAM_A
            assert (targets["team-b"]["accountId"], targets["team-b"]["region"]) == TEAM_B
            for target in targets.values():
                (cluster,) = target["resources"]
                assert (cluster["name"], target["lastError"], target["lease"]) == ("web", "", None)

            _, drift = await get_json(running.port, "/drift")
            assert {target["name"] for target in drift["targets"]} == {"team-a", "team-b"}
            markdown = await get_text(running.port, "/drift?format=markdown")
            assert "target team-a (111111111111, eu-west-1)" in markdown
            assert "target team-b (222222222222, us-west-2)" in markdown

            families = {
                f.name: f for f in text_string_to_metric_families(await get_text(running.port, "/metrics"))
            }
            info = {s.labels["target"]: s.labels for s in families["ecs_reconciler_target_info"].samples}
            assert info["team-a"]["account"] == TEAM_A[0] and info["team-b"]["region"] == TEAM_B[1]
            # Each target's calls are its own: one role assumed by each.
            assumed = {
                s.labels["target"]: s.value
                for s in families["ecs_reconciler_aws_calls"].samples
                if s.labels.get("operation") == "AssumeRole" and s.labels["outcome"] == "ok"
            }
            assert assumed == {"team-a": 1.0, "team-b": 1.0}

            # A Target added by an edit converges without a restart.
            write_estate(tmp_path, "team-a", "team-b", "team-c", extra_targets=TEAM_C)
            await eventually(lambda: clusters(aws, ("333333333333", "eu-central-1")) == {"web"})

    asyncio.run(scenario())


def test_a_target_whose_role_cannot_be_assumed_fails_alone_and_every_view_names_it(
    aws: LocalAWS, tmp_path: Path
) -> None:
    aws.refuse_assume_role(TEAM_B_ROLE)
    write_estate(tmp_path, "team-a", "team-b")

    async def scenario() -> None:
        async with daemon(options(aws, tmp_path)) as running:
            await eventually(lambda: clusters(aws, TEAM_A) == {"web"})

            async def team_b_failed() -> dict[str, Any] | None:
                _, status = await get_json(running.port, "/status")
                team_b = by_name(status["targets"])["team-b"]
                return team_b if team_b["lastError"] else None

            team_b = None
            for _ in range(100):
                team_b = await team_b_failed()
                if team_b:
                    break
                await asyncio.sleep(0.1)
            assert team_b is not None
            assert "AssumeRole" in team_b["lastError"] and "AccessDenied" in team_b["lastError"]
            assert clusters(aws, TEAM_B) == set()

            # Ready: one failing target does not take the replica out of service; it is named.
            status_code, ready = await get_json(running.port, "/readyz")
            assert status_code == 200, ready
            (reason,) = ready["reasons"]
            assert reason.startswith("target team-b: failing: sts.AssumeRole: AccessDenied")

            _, drift = await get_json(running.port, "/drift")
            errors = {target["name"]: target["error"] for target in drift["targets"]}
            assert errors["team-a"] is None and "AccessDenied" in errors["team-b"]
            markdown = await get_text(running.port, "/drift?format=markdown")
            assert "**failing**: sts.AssumeRole: AccessDenied" in markdown

            # It keeps retrying with its own backoff; once the role may be assumed, it converges.
            aws.allow_assume_role(TEAM_B_ROLE)
            await eventually(lambda: clusters(aws, TEAM_B) == {"web"}, within=20)

    asyncio.run(scenario())


def test_a_target_whose_place_changes_gets_a_new_controller_and_the_others_keep_theirs(
    aws: LocalAWS, tmp_path: Path
) -> None:
    write_estate(tmp_path, "team-a", "team-b")

    async def scenario() -> None:
        async with daemon(options(aws, tmp_path)) as running:
            await eventually(lambda: clusters(aws, TEAM_A) == {"web"} and clusters(aws, TEAM_B) == {"web"})
            team_a = running.fleet.run_of("team-a")
            assert team_a is not None

            # team-b now lives in another Region: its controller is replaced (a new session there),
            # team-a's is left as it was.
            moved = TARGETS.replace("region: us-west-2", "region: ap-southeast-2")
            (tmp_path / "targets.yaml").write_text(moved)
            await eventually(lambda: clusters(aws, (TEAM_B[0], "ap-southeast-2")) == {"web"})
            assert running.fleet.run_of("team-a") is team_a
            team_b = running.fleet.run_of("team-b")
            assert team_b is not None and team_b.region == "ap-southeast-2"

    asyncio.run(scenario())
