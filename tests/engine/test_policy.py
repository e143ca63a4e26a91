"""The write policy: every combination of mode, lease, self-heal and held deletion, decided in one
place (`WritePolicy.decide`) and applied by the planner. Pure: hand-made documents, no AWS."""

from __future__ import annotations

import pytest

from reconciler.engine.planner import plan_all
from reconciler.engine.policy import Mode, WritePolicy, pass_writes
from reconciler.plan.steps import Action, Hold
from reconciler.resources.base import LiveState, PlanContext, PlanSettings
from reconciler.spec import SpecSet
from tests.engine.test_planner import ENVIRONMENT, cluster_document, live_cluster, orphans, owned
from tests.resources.test_task_definition import (
    REPOSITORY,
    TUTORIAL_SPEC,
    _arn,
    _revisions,
    _set,
    live_revision,
    revision,
    td_document,
)

SELF_HEAL_OFF = {"ecs-reconciler/self-heal": "false"}


@pytest.mark.parametrize(
    ("mode", "holds_lease", "report_only", "writes"),
    [
        (Mode.ENFORCE, True, False, True),
        (Mode.ENFORCE, False, False, False),
        (Mode.ENFORCE, True, True, False),
        (Mode.REPORT, True, False, False),
        (Mode.REPORT, False, False, False),
        (Mode.REPORT, True, True, False),
        ("enforce", True, False, True),
        ("report", True, False, False),
    ],
)
def test_a_pass_writes_only_in_enforce_mode_while_holding_the_lease(
    mode: Mode | str, holds_lease: bool, report_only: bool, writes: bool
) -> None:
    assert pass_writes(mode=mode, holds_lease=holds_lease, report_only=report_only) is writes
    spec_set = SpecSet((cluster_document("web"),))
    policy = WritePolicy.decide(
        spec_set, PlanSettings(report_only=report_only), mode=mode, holds_lease=holds_lease
    )
    assert policy.writes is writes


@pytest.mark.parametrize(
    ("writes", "self_heal_off", "exists", "hold"),
    [
        (True, False, True, None),
        (True, False, False, None),
        (True, True, True, Hold.SELF_HEAL_OFF),
        (True, True, False, None),  # self-heal off still creates what is missing
        (False, False, True, Hold.REPORT_MODE),
        (False, False, False, Hold.REPORT_MODE),
        (False, True, True, Hold.REPORT_MODE),  # report mode wins
        (False, True, False, Hold.REPORT_MODE),
    ],
)
def test_a_document_is_held_by_report_mode_first_then_by_self_heal_off_on_what_exists(
    writes: bool, self_heal_off: bool, exists: bool, hold: Hold | None
) -> None:
    document = cluster_document("web", SELF_HEAL_OFF if self_heal_off else None)
    policy = WritePolicy.decide(
        SpecSet((document,)), PlanSettings(), mode=Mode.ENFORCE if writes else Mode.REPORT
    )
    assert policy.hold_for_document(document.key, exists=exists) is hold


@pytest.mark.parametrize(
    ("writes", "self_heal_off", "exists", "hold"),
    [
        (True, False, True, None),
        (True, True, True, Hold.SELF_HEAL_OFF),
        (True, True, False, None),
        (False, False, True, Hold.REPORT_MODE),
        (False, True, True, Hold.REPORT_MODE),
        (False, True, False, Hold.REPORT_MODE),
    ],
)
def test_the_planner_marks_each_drifted_or_missing_document_with_the_policys_hold(
    writes: bool, self_heal_off: bool, exists: bool, hold: Hold | None
) -> None:
    document = cluster_document(
        "web", SELF_HEAL_OFF if self_heal_off else None, capacityProviders=["FARGATE"]
    )
    live = [live_cluster("web", owned("web"), capacityProviders=["FARGATE_SPOT"])] if exists else []
    context = PlanContext(
        spec_set=SpecSet((document,)),
        live=LiveState(resources={resource.key: resource for resource in live}),
        environment=ENVIRONMENT,
        settings=PlanSettings(),
    )
    policy = WritePolicy.decide(context.spec_set, context.settings, holds_lease=writes)
    plan = plan_all(context, policy=policy)
    (resource,) = plan.resources
    assert resource.action is (Action.UPDATE if exists else Action.CREATE)
    assert resource.held is hold
    assert resource.calls  # the calls are always shown...
    assert plan.has_changes is (hold is None)  # ...and issued only when nothing holds them


@pytest.mark.parametrize(
    ("writes", "prune", "allow_mass_prune", "holds"),
    [
        # Three orphans beside ten owned documents; a budget of two.
        (True, True, False, [None, None, Hold.DELETE_HELD]),
        (False, True, False, [Hold.REPORT_MODE, Hold.REPORT_MODE, Hold.DELETE_HELD]),
        (True, False, False, [Hold.DELETE_HELD] * 3),
        (False, False, False, [Hold.DELETE_HELD] * 3),
    ],
)
def test_a_deletion_is_held_by_the_budget_and_pruning_before_report_mode(
    writes: bool, prune: bool, allow_mass_prune: bool, holds: list[Hold | None]
) -> None:
    documents = [cluster_document(f"keep-{index}") for index in range(10)]
    live = [live_cluster(f"keep-{index}", owned(f"keep-{index}")) for index in range(10)]
    context = PlanContext(
        spec_set=SpecSet(tuple(documents)),
        live=LiveState(
            resources={resource.key: resource for resource in live},
            orphans=tuple(orphans(3)),
            orphans_observed=True,
        ),
        environment=ENVIRONMENT,
        settings=PlanSettings(prune=prune, max_deletes=2, allow_mass_prune=allow_mass_prune),
    )
    policy = WritePolicy.decide(context.spec_set, context.settings, holds_lease=writes)
    deletions = [r for r in plan_all(context, policy=policy) if r.action is Action.DELETE]
    assert sorted((r.held for r in deletions), key=str) == sorted(holds, key=str)


def test_the_mass_prune_guard_holds_every_deletion_whatever_the_mode() -> None:
    context = PlanContext(
        spec_set=SpecSet((cluster_document("keep"),)),
        live=LiveState(
            resources={("Cluster", "keep"): live_cluster("keep", owned("keep"))}, orphans=tuple(orphans(2))
        ),
        environment=ENVIRONMENT,
        settings=PlanSettings(prune=True),
    )
    for mode in Mode:
        policy = WritePolicy.decide(context.spec_set, context.settings, mode=mode)
        deletions = [r for r in plan_all(context, policy=policy) if r.action is Action.DELETE]
        assert [r.held for r in deletions] == [Hold.DELETE_HELD, Hold.DELETE_HELD]


# --- one delete budget, shared by orphans and revision cleanup ----------------------------------

STALE_REVISIONS = 7
"""Nine owned revisions, keepRevisions 2: seven are beyond it, and no service runs any."""


def _budget_context(*, orphan_count: int, max_deletes: int, prune: bool = True) -> PlanContext:
    state = revision(_set(("taskDefinitionArn",), _arn(9)))
    state["revision"] = 9
    task_definition = live_revision(state, revisions=_revisions(9))
    # Enough owned documents that the orphans never trip the mass-prune guard.
    keep = [cluster_document(f"keep-{index}") for index in range(10)]
    live = [task_definition, *(live_cluster(f"keep-{index}", owned(f"keep-{index}")) for index in range(10))]
    return PlanContext(
        spec_set=SpecSet((REPOSITORY, td_document(TUTORIAL_SPEC), *keep)),
        live=LiveState(
            resources={resource.key: resource for resource in live},
            orphans=tuple(orphans(orphan_count)),
            orphans_observed=True,
        ),
        environment=ENVIRONMENT,
        settings=PlanSettings(prune=prune, max_deletes=max_deletes, keep_revisions=2),
    )


@pytest.mark.parametrize(
    ("orphan_count", "max_deletes", "prune", "orphans_deleted", "revisions_deregistered"),
    [
        (0, 3, True, 0, 3),
        (2, 3, True, 2, 1),
        (3, 3, True, 3, 0),
        (4, 3, True, 3, 0),
        (2, 10, True, 2, STALE_REVISIONS),
        (0, 0, True, 0, 0),
        (2, 3, False, 0, 3),  # orphans only listed without --prune: they spend nothing
    ],
)
def test_orphans_and_old_revisions_share_one_delete_budget_orphans_first(
    orphan_count: int, max_deletes: int, prune: bool, orphans_deleted: int, revisions_deregistered: int
) -> None:
    plan = plan_all(_budget_context(orphan_count=orphan_count, max_deletes=max_deletes, prune=prune))
    deleting = [r for r in plan if r.action is Action.DELETE and r.held is None]
    assert len(deleting) == orphans_deleted
    task_definition = plan.get("TaskDefinition", "node-app")
    assert task_definition is not None and task_definition.held is None
    deregistered = [c for c in task_definition.calls if c.name == "ecs.DeregisterTaskDefinition"]
    assert len(deregistered) == revisions_deregistered
    assert orphans_deleted + revisions_deregistered <= max_deletes
    deletions = {"ecs.DeleteCluster", "ecs.DeregisterTaskDefinition"}
    assert sum(1 for call in plan.calls if call.name in deletions) == orphans_deleted + revisions_deregistered


def test_a_report_shows_the_deletions_enforcing_would_make_within_the_one_budget() -> None:
    context = _budget_context(orphan_count=2, max_deletes=3)
    plan = plan_all(context, policy=WritePolicy.decide(context.spec_set, context.settings, mode=Mode.REPORT))
    deleting = [r for r in plan if r.action is Action.DELETE]
    assert [r.held for r in deleting] == [Hold.REPORT_MODE, Hold.REPORT_MODE]
    task_definition = plan.get("TaskDefinition", "node-app")
    assert task_definition is not None and task_definition.held is Hold.REPORT_MODE
    assert len(task_definition.calls) == 1
    assert not plan.has_changes
