"""A document's spec hash: what a converge records on the resource to tell drift from a change.

It must be the same wherever and whenever it is computed (another process, another machine, another
Python), and change exactly when what the document asks of AWS changes: not with formatting, key
order, comments or spellings that mean the same, nor with labels and behaviour switches.
"""

from __future__ import annotations

import textwrap

import pytest

from reconciler.resources.registry import spec_kinds
from reconciler.spec import Document
from reconciler.spec.loader import load_text

TASK_DEFINITION = """\
apiVersion: ecs-reconciler/v1
kind: TaskDefinition
metadata:
  name: web
  labels: {app: web}
spec:
  requiresCompatibilities: [FARGATE]
  networkMode: awsvpc
  cpu: 1 vCPU
  memory: 2 GB
  containerDefinitions:
    - name: web
      image: public.ecr.aws/nginx/nginx:1.27
      portMappings:
        - containerPort: 80
"""

PINNED = "423c314c10e0e8ac"
"""The hash of `TASK_DEFINITION`, computed once and written down: a canonical form that moved (a
new Python, a dict order, a float repr) would turn every resource's drift into a "change"."""


def document(text: str) -> Document:
    result = load_text(textwrap.dedent(text), spec_kinds().models, file="specs/web.yaml")
    assert not result.errors, result.errors
    (loaded,) = result.documents
    return loaded


def test_the_hash_is_sixteen_hex_characters_pinned_across_processes_and_versions() -> None:
    assert document(TASK_DEFINITION).spec_hash == PINNED


@pytest.mark.parametrize(
    "same",
    [
        pytest.param(
            TASK_DEFINITION.replace(
                "  networkMode: awsvpc\n  cpu: 1 vCPU\n", "  cpu: 1 vCPU\n  networkMode: awsvpc\n"
            ),
            id="key-order",
        ),
        pytest.param(
            TASK_DEFINITION.replace(
                "      portMappings:\n        - containerPort: 80\n",
                "      portMappings: [{containerPort: 80}]\n",
            ),
            id="flow-style",
        ),
        pytest.param("# the web app\n" + TASK_DEFINITION.replace("2 GB", "2 GB   # enough"), id="comments"),
        pytest.param(
            TASK_DEFINITION.replace("cpu: 1 vCPU", 'cpu: "1024"').replace("2 GB", "2048"), id="spellings"
        ),
        pytest.param(
            TASK_DEFINITION.replace("labels: {app: web}", "labels: {app: web, team: a}"), id="labels"
        ),
        pytest.param(
            TASK_DEFINITION.replace(
                "  labels: {app: web}\n",
                '  labels: {app: web}\n  annotations: {ecs-reconciler/self-heal: "false", '
                'ecs-reconciler/adopt: "true"}\n',
            ),
            id="behaviour-annotations",
        ),
    ],
)
def test_what_means_the_same_hashes_the_same(same: str) -> None:
    assert document(same).spec_hash == PINNED


@pytest.mark.parametrize(
    "other",
    [
        pytest.param(TASK_DEFINITION.replace("nginx:1.27", "nginx:1.28"), id="a-value"),
        pytest.param(
            TASK_DEFINITION.replace(
                "        - containerPort: 80\n", "        - containerPort: 80\n          protocol: tcp\n"
            ),
            id="a-field-written",
        ),
        pytest.param(TASK_DEFINITION.replace("  name: web\n", "  name: web-2\n", 1), id="the-name"),
        pytest.param(
            TASK_DEFINITION.replace("  name: web\n", "  name: web\n  namespace: team-a\n", 1),
            id="the-namespace",
        ),
        pytest.param(
            TASK_DEFINITION.replace(
                "  labels: {app: web}\n",
                "  labels: {app: web}\n  annotations: {ecs-reconciler/deletion-policy: retain}\n",
            ),
            id="the-deletion-policy",
        ),
    ],
)
def test_what_asks_aws_for_something_else_hashes_differently(other: str) -> None:
    assert document(other).spec_hash != PINNED
