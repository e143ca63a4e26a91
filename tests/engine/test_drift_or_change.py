"""Drift versus change (issue 13): the spec hash a converge records on a resource tells whether a
difference is drift (AWS moved: the same hash) or a change (git moved: another hash), and the hash
is written only by change sets that converge the resource anyway. Then the reports: each resource's
status and label, the summary's counts, and the drift report listing changes apart.

Pure: hand-made cluster documents and observations, the planner and the report; no AWS (the same
behaviours against the local AWS are in tests/acceptance/test_drift_and_change.py).
"""

from __future__ import annotations

from reconciler.engine.report import build_report, render_markdown, render_text, report_as_json, summarise
from reconciler.plan.ownership import SPEC_HASH
from reconciler.plan.steps import Action, Hold, Plan, Status
from reconciler.spec import ANNOTATION_ADOPT, Document, SpecSet
from tests.engine.test_planner import cluster_document, live_cluster, owned, plan_for

EARLIER = "0123456789abcdef"
"""A spec hash the document had before an edit."""


def web(**spec: object) -> Document:
    return cluster_document("web", capacityProviders=["FARGATE"], **spec)


def converged_to(hash_: str | None, *, providers: list[str], tags: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    recorded = {SPEC_HASH: hash_} if hash_ is not None else {}
    return live_cluster("web", {**owned("web"), **recorded, **(tags or {})}, capacityProviders=providers)


def calls_of(plan: Plan) -> list[tuple[str, dict[str, object]]]:
    (resource,) = plan.resources
    return [(call.name, dict(call.params)) for call in resource.calls]


def test_a_difference_under_the_documents_own_hash_is_drift_and_healing_it_writes_no_tag() -> None:
    document = web()
    plan = plan_for([document], [converged_to(document.spec_hash, providers=["FARGATE_SPOT"])])
    (resource,) = plan.resources
    assert (resource.action, resource.status) == (Action.UPDATE, Status.DRIFTED)
    assert [name for name, _ in calls_of(plan)] == ["ecs.PutClusterCapacityProviders"]


def test_a_difference_under_another_hash_is_a_change_and_its_change_set_records_the_new_hash_last() -> None:
    document = web()
    plan = plan_for([document], [converged_to(EARLIER, providers=["FARGATE_SPOT"])])
    (resource,) = plan.resources
    assert (resource.action, resource.status) == (Action.UPDATE, Status.CHANGED)
    assert calls_of(plan) == [
        (
            "ecs.PutClusterCapacityProviders",
            {"cluster": "web", "capacityProviders": ["FARGATE"], "defaultCapacityProviderStrategy": []},
        ),
        (
            "ecs.TagResource",
            {"resourceArn": resource_arn(), "tags": [{"key": SPEC_HASH, "value": document.spec_hash}]},
        ),
    ]


def test_a_new_hash_alone_is_in_sync_and_writes_nothing() -> None:
    # The document was edited in a way that asks nothing new of AWS (a spelling, a default written
    # out): no difference, so no write, and the old hash stays until a real change.
    plan = plan_for([web()], [converged_to(EARLIER, providers=["FARGATE"])])
    (resource,) = plan.resources
    assert (resource.action, resource.status, resource.calls) == (Action.NONE, Status.IN_SYNC, ())


def test_a_resource_converged_before_hashes_were_recorded_reports_drift_and_its_converge_records_one() -> (
    None
):
    document = web()
    plan = plan_for([document], [converged_to(None, providers=["FARGATE_SPOT"])])
    (resource,) = plan.resources
    assert resource.status is Status.DRIFTED
    assert calls_of(plan)[-1] == (
        "ecs.TagResource",
        {"resourceArn": resource_arn(), "tags": [{"key": SPEC_HASH, "value": document.spec_hash}]},
    )
    at_rest = plan_for([document], [converged_to(None, providers=["FARGATE"])])
    assert at_rest.resources[0].calls == ()


def test_the_hash_rides_on_a_tag_write_made_anyway() -> None:
    document = web(tags={"team": "web"})
    plan = plan_for([document], [converged_to(EARLIER, providers=["FARGATE"])])
    assert calls_of(plan) == [
        (
            "ecs.TagResource",
            {
                "resourceArn": resource_arn(),
                "tags": [{"key": SPEC_HASH, "value": document.spec_hash}, {"key": "team", "value": "web"}],
            },
        )
    ]
    assert plan.resources[0].status is Status.CHANGED


def test_adopting_is_a_change_and_records_the_hash_with_the_ownership_tags() -> None:
    document = cluster_document("web", {ANNOTATION_ADOPT: "true"}, capacityProviders=["FARGATE"])
    plan = plan_for([document], [live_cluster("web", {}, capacityProviders=["FARGATE"])])
    (resource,) = plan.resources
    assert resource.status is Status.CHANGED
    ((name, params),) = calls_of(plan)
    assert name == "ecs.TagResource"
    assert {"key": SPEC_HASH, "value": document.spec_hash} in params["tags"]  # type: ignore[operator]


def test_report_mode_tells_drift_from_change_and_writes_nothing() -> None:
    drifted, changed = cluster_document("a", capacityProviders=["FARGATE"]), web()
    plan = plan_for(
        [drifted, changed],
        [
            live_cluster("a", {**owned("a"), SPEC_HASH: drifted.spec_hash}, capacityProviders=[]),
            converged_to(EARLIER, providers=[]),
        ],
        report_only=True,
    )
    assert [(r.status, r.held) for r in plan.resources] == [
        (Status.DRIFTED, Hold.REPORT_MODE),
        (Status.CHANGED, Hold.REPORT_MODE),
    ]
    assert plan.calls == ()


def resource_arn() -> str:
    return "arn:aws:ecs:us-east-1:123456789012:cluster/web"


# --- the reports ------------------------------------------------------------------------------------


def _drift_and_change() -> tuple[Plan, SpecSet]:
    drifted, changed, same = (
        cluster_document("a", capacityProviders=["FARGATE"]),
        web(),
        cluster_document("b", capacityProviders=["FARGATE"]),
    )
    plan = plan_for(
        [drifted, changed, same],
        [
            live_cluster("a", {**owned("a"), SPEC_HASH: drifted.spec_hash}, capacityProviders=[]),
            converged_to(EARLIER, providers=[]),
            live_cluster("b", {**owned("b"), SPEC_HASH: same.spec_hash}, capacityProviders=["FARGATE"]),
        ],
    )
    return plan, SpecSet((drifted, changed, same))


def test_each_resource_says_drifted_or_changed_and_the_summary_counts_them_apart() -> None:
    plan, spec_set = _drift_and_change()
    reports = build_report(plan, spec_set)
    assert [(r.name, r.status) for r in reports] == [("a", "drifted"), ("web", "changed"), ("b", "in-sync")]
    summary = summarise(reports)
    assert summary.text == "1 to update, 1 drifted"
    assert summary.as_json() == {
        "text": "1 to update, 1 drifted",
        "resources": 3,
        "inSync": 1,
        "toUpdate": 1,
        "drifted": 1,
    }
    assert [r["status"] for r in report_as_json(reports)] == ["drifted", "changed", "in-sync"]
    headers = [line for line in render_text(reports).splitlines() if not line.startswith(" ")]
    assert [header.split("  ")[:2] for header in headers] == [
        ["~ Cluster/a", "(drifted, to update)"],
        ["~ Cluster/web", "(to update)"],
    ]


def test_the_drift_report_lists_changes_apart_after_the_drift() -> None:
    plan, spec_set = _drift_and_change()
    reports = build_report(plan, spec_set)
    text = render_text(reports, changes_apart=True).splitlines()
    heading = text.index("changed in git, not yet applied:")
    assert [line for line in text[:heading] if not line.startswith(" ")] == [
        "~ Cluster/a  (drifted, to update)  specs/cluster.yaml:1"
    ]
    assert text[heading + 1] == "~ Cluster/web  (to update)  specs/cluster.yaml:1"
    markdown = render_markdown(reports, title="drift")
    drift_part, changes_part = markdown.split("#### Changed in git, not yet applied")
    assert "| Cluster/a | drifted, to update |" in drift_part and "Cluster/web" not in drift_part
    assert "| Cluster/web | to update |" in changes_part and "Cluster/a" not in changes_part


def test_a_drift_report_with_only_changes_says_there_is_no_drift_and_lists_them() -> None:
    document = web()
    plan = plan_for([document], [converged_to(EARLIER, providers=[])])
    markdown = render_markdown(build_report(plan, SpecSet((document,))), title="drift")
    assert "No drift: AWS is as the documents were when last applied." in markdown
    assert "| Cluster/web | to update |" in markdown.split("#### Changed in git, not yet applied")[1]
