"""The generated stack the scale benchmarks converge: N path-routed Fargate services behind ALBs.

One cluster, two security groups (the load balancers' and the tasks'), one Application Load
Balancer per 100 services (an ALB allows 100 listener rules) with one HTTP listener whose rules
route `/svc-NNN/*` to that service's target group, and per service a target group, a task
definition and a service with target-tracking autoscaling on CPU.

`write_stack` writes it as spec files (one per service plus one shared file), the way a platform
team would keep it in git; `edited` names the services whose image tag is bumped.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

RULES_PER_LOAD_BALANCER = 100
IMAGE = "public.ecr.aws/nginx/nginx"
BASE_TAG = "1.27"
EDITED_TAG = "1.28"
CONTAINER_PORT = 8080


def service_name(index: int) -> str:
    return f"svc-{index:03d}"


def load_balancer_name(group: int) -> str:
    return f"bench-lb-{group}"


def load_balancer_count(services: int) -> int:
    return -(-services // RULES_PER_LOAD_BALANCER)


def _shared(services: int) -> str:
    documents = [
        """\
apiVersion: ecs-reconciler/v1
kind: Cluster
metadata: {name: bench}
spec:
  capacityProviders: [FARGATE, FARGATE_SPOT]
  defaultCapacityProviderStrategy:
    - {capacityProvider: FARGATE, weight: 1}
""",
        """\
apiVersion: ecs-reconciler/v1
kind: SecurityGroup
metadata: {name: bench-alb}
spec:
  description: bench load balancers, HTTP from anywhere
  vpc: default
  ingress:
    - {protocol: tcp, port: 80, cidr: 0.0.0.0/0}
""",
        f"""\
apiVersion: ecs-reconciler/v1
kind: SecurityGroup
metadata: {{name: bench-tasks}}
spec:
  description: bench tasks, app port from the load balancers only
  vpc: default
  ingress:
    - {{protocol: tcp, port: {CONTAINER_PORT}, securityGroup: bench-alb}}
""",
    ]
    for group in range(load_balancer_count(services)):
        first = group * RULES_PER_LOAD_BALANCER
        indexes = range(first, min(services, first + RULES_PER_LOAD_BALANCER))
        rules = "".join(
            f"""\
        - priority: {index - first + 1}
          conditions: [{{field: path-pattern, values: [/{service_name(index)}/*]}}]
          actions: [{{type: forward, targetGroup: {service_name(index)}}}]
"""
            for index in indexes
        )
        documents.append(
            f"""\
apiVersion: ecs-reconciler/v1
kind: LoadBalancer
metadata: {{name: {load_balancer_name(group)}}}
spec:
  type: application
  scheme: internet-facing
  subnets: default
  securityGroups: [bench-alb]
  listeners:
    - port: 80
      protocol: HTTP
      defaultAction:
        type: fixed-response
        fixedResponseConfig: {{statusCode: "404", contentType: text/plain}}
      rules:
{rules}"""
        )
    return "---\n".join(documents)


def _service(index: int, tag: str) -> str:
    name = service_name(index)
    return f"""\
apiVersion: ecs-reconciler/v1
kind: TargetGroup
metadata: {{name: {name}}}
spec:
  protocol: HTTP
  port: {CONTAINER_PORT}
  targetType: ip
  vpc: default
  healthCheck: {{path: /healthz, matcher: {{httpCode: "200"}}}}
---
apiVersion: ecs-reconciler/v1
kind: TaskDefinition
metadata: {{name: {name}}}
spec:
  requiresCompatibilities: [FARGATE]
  networkMode: awsvpc
  cpu: "256"
  memory: "512"
  containerDefinitions:
    - name: app
      image: {IMAGE}:{tag}
      essential: true
      portMappings:
        - {{containerPort: {CONTAINER_PORT}, protocol: tcp}}
---
apiVersion: ecs-reconciler/v1
kind: Service
metadata: {{name: {name}}}
spec:
  cluster: bench
  taskDefinition: {name}
  desiredCount: 1
  capacityProviderStrategy:
    - {{capacityProvider: FARGATE, weight: 1}}
  networkConfiguration:
    awsvpcConfiguration:
      subnets: default
      securityGroups: [bench-tasks]
      assignPublicIp: ENABLED
  loadBalancers:
    - {{targetGroup: {name}, containerName: app, containerPort: {CONTAINER_PORT}}}
  autoscaling:
    minCapacity: 1
    maxCapacity: 4
    targetTrackingPolicies:
      - {{policyName: {name}-cpu, predefinedMetricType: ECSServiceAverageCPUUtilization, targetValue: 60}}
"""


def write_stack(folder: Path, services: int, *, edited: Collection[int] = ()) -> Path:
    """Write the spec files of an N-service stack into `folder` (replacing what is there)."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.yaml"):
        stale.unlink()
    (folder / "shared.yaml").write_text(_shared(services))
    for index in range(services):
        tag = EDITED_TAG if index in edited else BASE_TAG
        (folder / f"{service_name(index)}.yaml").write_text(_service(index, tag))
    return folder


def touched_services(services: int, share: float = 0.10) -> list[int]:
    """The services a 10% change touches, spread over the whole stack (every tenth one)."""
    count = max(1, round(services * share))
    step = services / count
    return sorted({int(position * step) for position in range(count)})
