"""The write policy: what one pass may write, decided once, before planning.

Three things decide whether a planned call is issued: the mode of the pass (enforce or report; a
daemon replica that does not hold the lease is not writing), the document's self-heal annotation,
and the one delete budget shared by orphan deletions and revision cleanup. They are decided here,
by `WritePolicy.decide`, and nowhere else; `reconciler.engine.planner` applies the policy (each
held resource carries its `Hold`), and the executor, the engine and the daemon only read the plan.

The lease check before every single call (the executor's `may_write`) is not part of the policy:
it is a fence at the moment of writing, for a lease lost in the middle of a pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from reconciler.plan.steps import Hold, ResourceKey
from reconciler.resources.base import PlanSettings
from reconciler.spec import ANNOTATION_SELF_HEAL, SpecSet


class Mode(StrEnum):
    """`run --mode`: converge everything, or only observe and report (which always wins)."""

    ENFORCE = "enforce"
    REPORT = "report"


def pass_writes(*, mode: Mode | str, holds_lease: bool, report_only: bool = False) -> bool:
    """Whether a pass may write at all: only in enforce mode, never when the settings ask for
    report only, and only while this replica holds the lease (always, without leader election)."""
    return Mode(mode) is Mode.ENFORCE and not report_only and holds_lease


@dataclass(frozen=True)
class WritePolicy:
    """What one pass may write. Built by `decide` once per pass; applied by the planner."""

    writes: bool
    """Whether this pass writes at all (`pass_writes`)."""
    self_heal_off: frozenset[ResourceKey] = frozenset()
    """Documents whose drift is only reported (`ecs-reconciler/self-heal: "false"`); they are still
    created when missing."""
    delete_budget: int = 10
    """Deletions this pass may plan, orphans and old task definition revisions together
    (`--max-deletes`)."""

    @classmethod
    def decide(
        cls,
        spec_set: SpecSet,
        settings: PlanSettings,
        *,
        mode: Mode | str = Mode.ENFORCE,
        holds_lease: bool = True,
    ) -> WritePolicy:
        """The policy of one pass over `spec_set`: the one place the mode is decided."""
        return cls(
            writes=pass_writes(mode=mode, holds_lease=holds_lease, report_only=settings.report_only),
            self_heal_off=frozenset(
                document.key
                for document in spec_set
                if document.metadata.annotations.get(ANNOTATION_SELF_HEAL, "true").lower() == "false"
            ),
            delete_budget=settings.max_deletes,
        )

    def hold_for_document(self, key: ResourceKey, *, exists: bool) -> Hold | None:
        """Why a document's planned calls are not issued, or None. Report mode wins; self-heal off
        holds back changes to what exists, never its creation."""
        if not self.writes:
            return Hold.REPORT_MODE
        if exists and key in self.self_heal_off:
            return Hold.SELF_HEAL_OFF
        return None

    def hold_for_deletion(self) -> Hold | None:
        """Why a deletion within the budget is not issued, or None."""
        return None if self.writes else Hold.REPORT_MODE

    def deletions_left(self, planned: int) -> int:
        """What the delete budget has left once `planned` deletions are planned."""
        return max(self.delete_budget - planned, 0)
