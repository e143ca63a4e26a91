"""The Repository (ECR) document's `spec`: its pydantic model, the references it makes, its AWS identity.

Conventions are those of `reconciler.spec.models` (camelCase aliases, no server defaults, values
normalised to the form AWS returns). Pure: no I/O, no AWS SDK.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import (
    AfterValidator,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from reconciler.spec.models import KindSpec, SpecModel, canonical_json

REPOSITORY_NAME_PATTERN = r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$"


class ImageScanningConfiguration(SpecModel):
    scan_on_push: bool


KMS_KEY_ID = re.compile(r"^(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")
_KMS_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/.+$")


def _kms_key(value: str) -> str:
    if not (KMS_KEY_ID.match(value) or _KMS_KEY_ARN.match(value)):
        raise ValueError(
            "give the KMS key's ARN or key id: ECR answers with the key ARN, so an alias would differ "
            "on every pass and block the repository (encryption cannot change)"
        )
    return value


class EncryptionConfiguration(SpecModel):
    encryption_type: Literal["AES256", "KMS"]
    kms_key: Annotated[str, AfterValidator(_kms_key)] | None = None
    """A key ARN, or a key id, completed to the ARN with the account and Region it is used in."""

    @model_validator(mode="after")
    def _kms_key_only_with_kms(self) -> Self:
        if self.kms_key is not None and self.encryption_type != "KMS":
            raise ValueError("kmsKey is only allowed with encryptionType KMS")
        return self


class ImageTagMutabilityExclusionFilter(SpecModel):
    filter_type: Literal["WILDCARD"]
    filter: Annotated[str, StringConstraints(min_length=1, max_length=128)]


class LifecycleSelection(SpecModel):
    tag_status: Literal["tagged", "untagged", "any"]
    tag_prefix_list: list[str] | None = None
    tag_pattern_list: list[str] | None = None
    count_type: Literal["imageCountMoreThan", "sinceImagePushed"]
    count_unit: Literal["days"] | None = None
    count_number: Annotated[int, Field(ge=1)]

    @model_validator(mode="after")
    def _ecr_selection_rules(self) -> Self:
        if self.count_type == "sinceImagePushed" and self.count_unit is None:
            raise ValueError("countUnit is required with countType sinceImagePushed")
        if self.count_type == "imageCountMoreThan" and self.count_unit is not None:
            raise ValueError("countUnit is only allowed with countType sinceImagePushed")
        if self.tag_status == "tagged" and not (self.tag_prefix_list or self.tag_pattern_list):
            raise ValueError("tagStatus tagged needs tagPrefixList or tagPatternList")
        if self.tag_status != "tagged" and (self.tag_prefix_list or self.tag_pattern_list):
            raise ValueError("tagPrefixList and tagPatternList are only allowed with tagStatus tagged")
        return self


class LifecycleAction(SpecModel):
    type: Literal["expire"]


class LifecycleRule(SpecModel):
    rule_priority: Annotated[int, Field(ge=1)]
    description: str | None = None
    selection: LifecycleSelection
    action: LifecycleAction


class LifecyclePolicy(SpecModel):
    rules: Annotated[list[LifecycleRule], Field(min_length=1)]

    @field_validator("rules")
    @classmethod
    def _unique_priorities(cls, rules: list[LifecycleRule]) -> list[LifecycleRule]:
        priorities = [rule.rule_priority for rule in rules]
        duplicates = sorted({p for p in priorities if priorities.count(p) > 1})
        if duplicates:
            raise ValueError(f"rulePriority must be unique, repeated: {', '.join(map(str, duplicates))}")
        return rules

    def policy_text(self) -> str:
        """The ``lifecyclePolicyText`` PutLifecyclePolicy takes, in canonical JSON."""
        return canonical_json(self.model_dump(by_alias=True, exclude_none=True))


class RepositorySpec(KindSpec):
    """An ECR repository. ``forceDelete`` is ours: pruning may delete a repository holding images."""

    AWS_NAME_FIELD: ClassVar[str] = "repository_name"
    KIND: ClassVar[str] = "Repository"

    repository_name: (
        Annotated[str, StringConstraints(min_length=2, max_length=256, pattern=REPOSITORY_NAME_PATTERN)]
        | None
    ) = None
    image_tag_mutability: (
        Literal["MUTABLE", "IMMUTABLE", "MUTABLE_WITH_EXCLUSION", "IMMUTABLE_WITH_EXCLUSION"] | None
    ) = None
    image_tag_mutability_exclusion_filters: list[ImageTagMutabilityExclusionFilter] | None = None
    image_scanning_configuration: ImageScanningConfiguration | None = None
    encryption_configuration: EncryptionConfiguration | None = None
    lifecycle_policy: LifecyclePolicy | None = None
    repository_policy: dict[str, Any] | None = None
    force_delete: bool | None = None

    @model_validator(mode="after")
    def _exclusion_filters_match_mutability(self) -> Self:
        with_exclusion = (self.image_tag_mutability or "").endswith("_WITH_EXCLUSION")
        if with_exclusion and not self.image_tag_mutability_exclusion_filters:
            raise ValueError(
                f"imageTagMutability {self.image_tag_mutability} needs imageTagMutabilityExclusionFilters"
            )
        if self.image_tag_mutability_exclusion_filters and not with_exclusion:
            raise ValueError("imageTagMutabilityExclusionFilters need a *_WITH_EXCLUSION imageTagMutability")
        return self

    def lifecycle_policy_text(self) -> str | None:
        """The lifecycle policy as the API's JSON text, or None when the spec does not manage it."""
        return None if self.lifecycle_policy is None else self.lifecycle_policy.policy_text()

    def repository_policy_text(self) -> str | None:
        """The repository policy as canonical JSON text, or None when the spec does not manage it."""
        return None if self.repository_policy is None else canonical_json(self.repository_policy)
