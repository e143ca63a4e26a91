"""One sweep of the Resource Groups Tagging API per pass that looks for orphans: which kinds can
have any.

Finding orphans (owned objects no document resolves to) used to cost one listing per kind, every
object of the account included (ECR's repositories, CloudWatch Logs' groups and the tags of each).
`GetResources` filtered on this instance's ownership tags lists every owned object of every kind
in one paginated call (100 a page). A kind none of whose listed objects is left unclaimed by the
documents has no orphans, and its own owned listing is skipped; a kind with a candidate lists as
before, and that listing (with each object's tags, read from the object itself) stays what decides
ownership. The sweep only ever saves reads: it never makes an orphan.

Called by `reconciler.engine.observe.observe_all` when it looks for orphans.

What AWS does that matters here: the tagging index is eventually consistent. An object tagged
seconds ago may be missing (its orphan is found a pass later; its document, if any, claims it
anyway), and one deleted seconds ago may linger (a candidate whose listing then finds nothing).
`GetResources` returns only objects that carry (or carried) tags; everything the reconciler creates
carries its ownership tags from its creating call.

The local AWS (moto) lists ECS clusters, services and task definitions, ELBv2 load balancers and
target groups and EC2 security groups; `reconciler.local.patches` adds ECR repositories and names
log groups `logs:log-group` as AWS does. It lists no Application Auto Scaling object (its scalable
targets drop their tags), which no kind asks for: a service's scaling is read with the service.
Probed on it: a deleted target group or log group leaves the listing at once, but a deleted ECS
cluster or service and a deregistered task definition revision stay in it, INACTIVE and tagged
(AWS keeps INACTIVE revisions indefinitely and INACTIVE clusters and services for a while; whether
its index lists them is unverified). Such a leftover is a candidate no document claims, so its kind
lists its own on every pass (tests/acceptance/test_ownership.py pins that cost): more reads, never
a wrong orphan, since the kind's listing skips what is INACTIVE.

Where the role may not call `tag:GetResources`, AccessDenied is said once in the log and every
kind lists its own from then on; any other failure of the sweep falls back for that pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import structlog

from reconciler.aws.errors import AwsError
from reconciler.plan.ownership import INSTANCE, MANAGED_BY, MANAGED_BY_VALUE, NAMESPACE
from reconciler.resources.base import Clients, ObserveCache

SERVICE = "resourcegroupstaggingapi"
PAGE_SIZE = 100  # GetResources returns at most 100 resources a page
_DENIED = frozenset({"AccessDeniedException", "AccessDenied", "UnauthorizedOperation"})

_log = structlog.get_logger(__name__)


async def owned_by_type(
    clients: Clients,
    *,
    resource_types: Sequence[str],
    instance: str,
    namespace: str | None,
    cache: ObserveCache,
) -> Mapping[str, tuple[str, ...]] | None:
    """The ARNs of every object carrying this instance's ownership tags (and a named namespace's),
    by resource type (only `resource_types`), or None when the tagging API cannot be used this
    pass. The default namespace's objects carry no namespace tag, which no filter can ask for: its
    sweep also lists the named namespaces' objects of the same account and Region, which their
    kinds' listings then tell apart."""
    if cache.tagging_denied or not resource_types:
        return None
    found: dict[str, list[str]] = {resource_type: [] for resource_type in resource_types}
    ownership = [
        {"Key": MANAGED_BY, "Values": [MANAGED_BY_VALUE]},
        {"Key": INSTANCE, "Values": [instance]},
    ]
    if namespace is not None:
        ownership.append({"Key": NAMESPACE, "Values": [namespace]})
    try:
        async for page in clients.service(SERVICE).paginate(
            "get_resources",
            TagFilters=ownership,
            ResourceTypeFilters=sorted(resource_types),
            ResourcesPerPage=PAGE_SIZE,
        ):
            for mapping in page.get("ResourceTagMappingList", []):
                arn = str(mapping["ResourceARN"])
                found.setdefault(resource_type_of(arn), []).append(arn)
    except AwsError as error:
        if error.code in _DENIED:
            cache.tagging_denied = True
            _log.warning(
                "tagging_api_denied",
                advice="allow tag:GetResources to find orphans in one call instead of one listing per kind",
                error=str(error),
            )
        else:
            _log.info("tagging_api_failed", error=str(error), fallback="each kind lists its own")
        return None
    return {resource_type: tuple(arns) for resource_type, arns in found.items()}


def resource_type_of(arn: str) -> str:
    """`arn:aws:ecs:…:service/c/s` → `ecs:service`; `arn:aws:logs:…:log-group:/x` → `logs:log-group`."""
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return ""
    resource = parts[5]
    return f"{parts[2]}:{resource.split('/', 1)[0].split(':', 1)[0]}"


__all__ = ["PAGE_SIZE", "SERVICE", "owned_by_type", "resource_type_of"]
