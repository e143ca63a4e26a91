"""The 20-service variant of the example stack, written into a folder for the acceptance tests.

One cluster, two security groups, one ALB whose HTTP:80 listener answers 404 by default and routes
``/svc-N/*`` to service N's target group, and per service a target group, a task definition and a
service (autoscaled when N is even). Every document carries a ``team`` tag, so a removed tag is drift.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

SERVICES = 20
CLUSTER = "fleet"
PLAIN_SERVICE = "svc-1"
"""A service without autoscaling: its desired count is the spec's to keep."""
SCALED_SERVICE = "svc-2"
"""A service with autoscaling (min 1, max 6): its live desired count belongs to the scaler."""

_NETWORK_HEAD = """\
apiVersion: ecs-reconciler/v1
kind: SecurityGroup
metadata:
  name: fleet-alb
spec:
  description: fleet load balancer, HTTP from anywhere
  vpc: default
  ingress:
    - protocol: tcp
      port: 80
      cidr: 0.0.0.0/0
  tags:
    team: fleet
---
apiVersion: ecs-reconciler/v1
kind: SecurityGroup
metadata:
  name: fleet-tasks
spec:
  description: fleet tasks, HTTP from the load balancer only
  vpc: default
  ingress:
    - protocol: tcp
      port: 8080
      securityGroup: fleet-alb
  tags:
    team: fleet
---
apiVersion: ecs-reconciler/v1
kind: LoadBalancer
metadata:
  name: fleet
spec:
  type: application
  scheme: internet-facing
  subnets: default
  securityGroups: [fleet-alb]
  listeners:
    - port: 80
      protocol: HTTP
      defaultAction:
        type: fixed-response
        fixedResponseConfig:
          statusCode: "404"
          contentType: text/plain
          messageBody: no such service
      rules:
"""

_RULE = """\
        - priority: {number}
          conditions:
            - field: path-pattern
              values: ["/svc-{number}/*"]
          actions:
            - type: forward
              targetGroup: svc-{number}
"""

_LOAD_BALANCER_TAIL = """\
  tags:
    team: fleet
"""

_CLUSTER = """\
apiVersion: ecs-reconciler/v1
kind: Cluster
metadata:
  name: fleet
spec:
  capacityProviders: [FARGATE, FARGATE_SPOT]
  tags:
    team: fleet
"""

_SERVICE = """\
apiVersion: ecs-reconciler/v1
kind: TargetGroup
metadata:
  name: svc-{number}
spec:
  protocol: HTTP
  port: 8080
  targetType: ip
  vpc: default
  healthCheck:
    path: /svc-{number}/healthz
    matcher:
      httpCode: "200"
  tags:
    team: fleet
---
apiVersion: ecs-reconciler/v1
kind: TaskDefinition
metadata:
  name: svc-{number}
spec:
  requiresCompatibilities: [FARGATE]
  networkMode: awsvpc
  cpu: "256"
  memory: "512"
  containerDefinitions:
    - name: app
      image: public.ecr.aws/nginx/nginx:1.27
      essential: true
      portMappings:
        - containerPort: 8080
  tags:
    team: fleet
---
apiVersion: ecs-reconciler/v1
kind: Service
metadata:
  name: svc-{number}
spec:
  cluster: fleet
  taskDefinition: svc-{number}
  desiredCount: 2
  launchType: FARGATE
  networkConfiguration:
    awsvpcConfiguration:
      subnets: default
      securityGroups: [fleet-tasks]
      assignPublicIp: ENABLED
  loadBalancers:
    - targetGroup: svc-{number}
      containerName: app
      containerPort: 8080
  deploymentConfiguration:
    deploymentCircuitBreaker:
      enable: true
      rollback: true
  tags:
    team: fleet
"""

_AUTOSCALING = """\
  autoscaling:
    minCapacity: 1
    maxCapacity: 6
    targetTrackingPolicies:
      - policyName: svc-{number}-cpu
        predefinedMetricType: ECSServiceAverageCPUUtilization
        targetValue: 60
"""


_RETAIN = """\
  annotations:
    ecs-reconciler/deletion-policy: retain
"""


def autoscaled(number: int) -> bool:
    return number % 2 == 0


def write_fleet(folder: Path, *, services: int = SERVICES, retain: Iterable[int] = ()) -> Path:
    """Write the stack into ``folder`` (cluster.yaml, network.yaml, services/svc-N.yaml); returns it.

    Writing again with fewer ``services`` removes the documents of the others (and their listener
    rules), as a person deleting them from git would. The documents of the service numbers in
    ``retain`` carry ``ecs-reconciler/deletion-policy: retain``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    numbers = range(1, services + 1)
    (folder / "cluster.yaml").write_text(_CLUSTER)
    rules = "".join(_RULE.format(number=number) for number in numbers)
    (folder / "network.yaml").write_text(_NETWORK_HEAD + rules + _LOAD_BALANCER_TAIL)
    shutil.rmtree(folder / "services", ignore_errors=True)
    (folder / "services").mkdir()
    for number in numbers:
        text = _SERVICE + (_AUTOSCALING if autoscaled(number) else "")
        if number in set(retain):
            text = text.replace("  name: svc-{number}\n", "  name: svc-{number}\n" + _RETAIN)
        (folder / "services" / f"svc-{number}.yaml").write_text(text.format(number=number))
    return folder
