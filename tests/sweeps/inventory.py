"""What the sweeps compare: every object of the stacks' kinds in the local AWS, counted by name.

A converge under faults or crashes must leave exactly what a fault-free converge of the same specs
leaves; a duplicate (a second security group, target group, listener, rule, ingress rule, scaling
policy, task definition revision or log group) shows as a count above one or a longer list.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from tests.acceptance.support import Console


def inventory(console: Console) -> dict[str, Counter[str]]:
    """Counts of live objects by kind and name (ARN-free, so two converges compare equal)."""
    found: dict[str, Counter[str]] = {}
    found["repository"] = Counter(
        r["repositoryName"] for r in console.ecr.describe_repositories()["repositories"]
    )
    clusters = console.ecs.list_clusters()["clusterArns"]
    found["cluster"] = Counter(arn.rsplit("/", 1)[-1] for arn in clusters)
    found["service"] = Counter()
    for arn in clusters:
        cluster = arn.rsplit("/", 1)[-1]
        found["service"].update(f"{cluster}/{name}" for name in console.active_services(cluster))
    revisions = console.ecs.list_task_definitions(maxResults=100)["taskDefinitionArns"]
    found["task definition revision"] = Counter(arn.rsplit("/", 1)[-1].rsplit(":", 1)[0] for arn in revisions)
    groups = [
        g for g in console.ec2.describe_security_groups()["SecurityGroups"] if g["GroupName"] != "default"
    ]
    found["security group"] = Counter(g["GroupName"] for g in groups)
    found["ingress rule"] = Counter(
        f"{g['GroupName']}:{permission.get('FromPort')}"
        for g in groups
        for permission in g["IpPermissions"]
        for _ in [*permission.get("IpRanges", []), *permission.get("UserIdGroupPairs", [])]
    )
    balancers = console.elbv2.describe_load_balancers()["LoadBalancers"]
    found["load balancer"] = Counter(b["LoadBalancerName"] for b in balancers)
    found["listener"] = Counter()
    found["rule"] = Counter()
    for balancer in balancers:
        listeners = console.elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
        for listener in listeners:
            key = f"{balancer['LoadBalancerName']}:{listener['Port']}"
            found["listener"][key] += 1
            rules = console.elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]
            found["rule"].update(f"{key}:{_rule_key(rule)}" for rule in rules)
    found["target group"] = Counter(
        g["TargetGroupName"] for g in console.elbv2.describe_target_groups()["TargetGroups"]
    )
    ecs = {"ServiceNamespace": "ecs"}
    found["scalable target"] = Counter(
        t["ResourceId"] for t in console.autoscaling.describe_scalable_targets(**ecs)["ScalableTargets"]
    )
    found["scaling policy"] = Counter(
        f"{p['ResourceId']}:{p['PolicyName']}"
        for p in console.autoscaling.describe_scaling_policies(**ecs)["ScalingPolicies"]
    )
    # With its retention: a crash between CreateLogGroup and PutRetentionPolicy must still end kept 14 days.
    found["log group"] = Counter(
        f"{g['logGroupName']}:{g.get('retentionInDays', 'never')}"
        for g in console.logs.describe_log_groups()["logGroups"]
    )
    return found


def _rule_key(rule: dict[str, Any]) -> str:
    values = [value for condition in rule.get("Conditions", []) for value in condition.get("Values", [])]
    return f"{rule['Priority']}:{','.join(sorted(values))}"


def duplicates(found: dict[str, Counter[str]]) -> dict[str, dict[str, int]]:
    """The names that occur more than once, by kind (task definition revisions are allowed to pile up
    only when the specs changed, which the sweeps never do)."""
    return {
        kind: {name: count for name, count in counts.items() if count > 1}
        for kind, counts in found.items()
        if any(count > 1 for count in counts.values())
    }
