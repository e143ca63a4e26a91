"""Targets: where a namespace's documents are converged (an account, a Region, a role to get there).

``kind: Target`` is an estate document, not a resource kind: nothing is created for it in AWS, so it
has no package under ``reconciler/resources/`` and the engine never sees it. The loader
(``reconciler.spec.loader``) validates it into ``TargetManifest`` with the same strictness as every
other document; ``reconciler.spec.estate`` checks the Targets against each other and against the
namespaces the documents name, and the CLI opens one engine session per Target with its
``AwsSettings``. Pure: no AWS call, no I/O.

A document's ``metadata.namespace`` names the Target it is converged into; a document without one
goes to the default target (the process's own credentials and Region).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import BeforeValidator, StringConstraints, WithJsonSchema, model_validator

from reconciler.spec.models import FieldPath, Metadata, SpecModel, line_of

TARGET_KIND = "Target"
"""The ``kind:`` of a Target document."""

ACCOUNT_ID_PATTERN = r"^[0-9]{12}$"
# eu-west-1, us-gov-west-1, cn-north-1, ap-southeast-3, us-iso-east-1: a prefix, one or more words, a
# number. Anything else (a typo such as "eu-west1" or "eu_west_1") is not a Region.
REGION_PATTERN = r"^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$"
ROLE_ARN_PATTERN = r"^arn:(aws|aws-cn|aws-us-gov):iam::([0-9]{12}):role/[A-Za-z0-9_+=,.@/-]{1,512}$"
ROLE_NAME_PATTERN = r"^[A-Za-z0-9_+=,.@-]{1,64}$"
# sts:AssumeRole's ExternalId: 2-1224 characters of these.
EXTERNAL_ID_PATTERN = r"^[A-Za-z0-9_+=,.@:/-]{2,1224}$"

MIN_SESSION_SECONDS = 900
"""sts:AssumeRole's lower bound on DurationSeconds (15 minutes)."""
MAX_SESSION_SECONDS = 43200
"""The highest maximum session duration a role can be given (12 hours); a role whose own maximum
is lower refuses longer sessions when the role is assumed."""
DEFAULT_SESSION_SECONDS = 3600


def _account_id(value: object) -> object:
    # Unquoted in YAML, 111111111111 is a number, and an account id with a leading zero would lose
    # it: ask for quotes rather than guess.
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(f'write the account id as a quoted string of 12 digits ("{value:012d}")')
    return value


AccountId = Annotated[
    str,
    BeforeValidator(_account_id),
    StringConstraints(pattern=ACCOUNT_ID_PATTERN),
    WithJsonSchema({"type": "string", "pattern": ACCOUNT_ID_PATTERN}),
]
Region = Annotated[str, StringConstraints(pattern=REGION_PATTERN)]

_DURATION = re.compile(r"^\s*([0-9]+)\s*([smh]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600}


def parse_session_duration(value: object) -> int:
    """Seconds from ``3600``, ``"3600s"``, ``"60m"`` or ``"1h"``, within AssumeRole's 15m..12h."""
    if isinstance(value, bool):
        raise ValueError("a duration such as 1h, 30m or 3600s")
    match = _DURATION.match(str(value)) if isinstance(value, int | str) else None
    if match is None:
        raise ValueError(f"not a duration: {value!r} (use 1h, 30m or 3600s)")
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if not MIN_SESSION_SECONDS <= seconds <= MAX_SESSION_SECONDS:
        raise ValueError(f"must be 15m to 12h (AssumeRole's range), got {seconds} seconds")
    return seconds


SessionDuration = Annotated[
    int,
    BeforeValidator(parse_session_duration),
    WithJsonSchema({"type": ["string", "integer"], "examples": ["1h", "30m", 3600]}),
]


def partition_of(region: str) -> str:
    """The ARN partition of a Region (``cn-north-1`` is in ``aws-cn``)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


class TargetSpec(SpecModel):
    """``spec`` of a Target: the account and Region, and the role assumed to act there."""

    account_id: AccountId
    region: Region
    role_arn: Annotated[str, StringConstraints(pattern=ROLE_ARN_PATTERN)] | None = None
    role_name: Annotated[str, StringConstraints(pattern=ROLE_NAME_PATTERN)] | None = None
    external_id: Annotated[str, StringConstraints(pattern=EXTERNAL_ID_PATTERN)] | None = None
    session_duration: SessionDuration = DEFAULT_SESSION_SECONDS

    @model_validator(mode="after")
    def _one_role(self) -> TargetSpec:
        if (self.role_arn is None) == (self.role_name is None):
            raise ValueError("give roleArn or roleName (completed with accountId), exactly one")
        if self.role_arn is not None:
            match = re.match(ROLE_ARN_PATTERN, self.role_arn)
            assert match is not None  # the field's pattern matched already
            if match.group(2) != self.account_id:
                raise ValueError(
                    f"roleArn is a role of account {match.group(2)}, not of accountId {self.account_id}"
                )
        return self

    @property
    def assumed_role_arn(self) -> str:
        """The role to assume: ``roleArn``, or ``roleName`` completed with the account and partition."""
        if self.role_arn is not None:
            return self.role_arn
        return f"arn:{partition_of(self.region)}:iam::{self.account_id}:role/{self.role_name}"


class TargetManifest(SpecModel):
    """A whole Target document: what the loader validates ``kind: Target`` into."""

    api_version: Literal["ecs-reconciler/v1"]
    kind: Literal["Target"]
    metadata: Metadata
    spec: TargetSpec


@dataclass(frozen=True, eq=False)
class Target:
    """One validated Target document, with where it came from (for errors and reports)."""

    name: str
    """``metadata.name``: the namespace documents name to be converged here."""
    spec: TargetSpec
    metadata: Metadata
    file: str
    line: int
    positions: Mapping[FieldPath, int] = field(default_factory=dict, repr=False)

    @property
    def account_id(self) -> str:
        return self.spec.account_id

    @property
    def region(self) -> str:
        return self.spec.region

    @property
    def role_arn(self) -> str:
        return self.spec.assumed_role_arn

    def line_of(self, path: FieldPath) -> int:
        """The line of ``path`` or of its nearest written ancestor, else the document's line."""
        return line_of(self.positions, path, default=self.line)


__all__ = [
    "TARGET_KIND",
    "Target",
    "TargetManifest",
    "TargetSpec",
    "parse_session_duration",
    "partition_of",
]
