"""The LogGroup document's `spec`: its pydantic model, its AWS identity (the group's name).

A CloudWatch Logs log group. It refers to no other document; task definitions refer to it (see
`reconciler.resources.task_definition.model`). Conventions are those of `reconciler.spec.models`
(camelCase aliases, no server defaults). Pure: no I/O, no AWS SDK.
"""

from __future__ import annotations

import re
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, Field, StrictInt, StringConstraints

from reconciler.spec.models import KindSpec

LOG_GROUP_NAME_PATTERN = r"^[\.\-_/#A-Za-z0-9]+$"
RETENTION_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip
"""The only values PutRetentionPolicy accepts (botocore's `logs` model)."""
NEVER_EXPIRE = "never"
"""`retentionInDays: never`: no retention policy (DeleteRetentionPolicy), CloudWatch's default."""
NO_KMS_KEY = "none"
"""`kmsKeyId: none`: no KMS key (DisassociateKmsKey); log data encrypted with CloudWatch's own key."""

_KMS_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$")


def _log_group_name(name: str) -> str:
    if name.startswith("aws/"):
        raise ValueError("a log group name must not start with aws/ (reserved by AWS)")
    return name


def _retention(days: int | str) -> int | str:
    if days == NEVER_EXPIRE:
        return days
    if isinstance(days, int) and days in RETENTION_DAYS:
        return days
    allowed = ", ".join(str(value) for value in RETENTION_DAYS)
    raise ValueError(f"{days!r} is not a retention CloudWatch Logs accepts: one of {allowed}, or never")


def _kms_key_arn(value: str) -> str:
    if value != NO_KMS_KEY and not _KMS_KEY_ARN.match(value):
        raise ValueError(
            "give the KMS key's ARN (arn:aws:kms:REGION:ACCOUNT:key/ID), or none: CloudWatch Logs "
            "takes only a key ARN (a key id or alias is refused) and answers with it"
        )
    return value


LogGroupName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=512, pattern=LOG_GROUP_NAME_PATTERN),
    AfterValidator(_log_group_name),
]
"""CloudWatch's log group name rules: 1-512 of `. - _ / #` letters and digits, not `aws/...`."""

Retention = Annotated[
    StrictInt | Literal["never"],
    Field(union_mode="left_to_right"),
    AfterValidator(_retention),
]
"""Days to keep log events: one of `RETENTION_DAYS`, or `never` (no retention policy)."""

KmsKeyArn = Annotated[str, AfterValidator(_kms_key_arn)]
"""A symmetric KMS key's ARN, or `none`."""


class LogGroupSpec(KindSpec):
    """A CloudWatch Logs log group.

    `retentionInDays` and `kmsKeyId` are managed only when written: leaving one out leaves the
    group's value alone. To remove one, say so: `retentionInDays: never` (events never expire,
    what CloudWatch does without a policy) and `kmsKeyId: none` (no customer key).
    """

    AWS_NAME_FIELD: ClassVar[str] = "log_group_name"
    KIND: ClassVar[str] = "LogGroup"

    log_group_name: LogGroupName | None = None
    retention_in_days: Retention | None = None
    kms_key_id: KmsKeyArn | None = None
