"""What each document refers to: other documents, and the account's default network.

Pure functions over loaded documents. ``reconciler.spec.validate`` uses them to find dangling
references and cycles; the engine reuses them to order work, and to decide whether a pass must
look up the default VPC and subnets at all.
"""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.spec.document import Document
from reconciler.spec.models import (
    LoadBalancerSpec,
    SecurityGroupSpec,
    ServiceSpec,
    TargetGroupSpec,
)


def uses_default_network(documents: Iterable[Document]) -> bool:
    """True when any document says ``vpc: default`` or ``subnets: default``.

    The engine looks the default VPC and its default-for-AZ subnets up once per pass, and only
    when this is true; validation never does.
    """
    for document in documents:
        spec = document.spec
        if isinstance(spec, SecurityGroupSpec | TargetGroupSpec) and spec.vpc == "default":
            return True
        if isinstance(spec, LoadBalancerSpec) and spec.subnets == "default":
            return True
        if (
            isinstance(spec, ServiceSpec)
            and spec.network_configuration is not None
            and spec.network_configuration.awsvpc_configuration.subnets == "default"
        ):
            return True
    return False
