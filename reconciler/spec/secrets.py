"""Keeping secrets out of every output: secret-shaped text masked, plain values fingerprinted.

Reports, logs, webhooks, `/status`, `/drift` and validation messages all go through here. Two
rules, by what a value is rather than what it is called:

- **Secret-shaped text is masked wherever it appears**: the password of a URL, a private key,
  an AWS access key, a payment provider's or a code host's token, a JWT. `mask_text` keeps the
  rest readable (`postgres://app:***@db`).
- **Values that are secrets by position are fingerprinted**: a container's environment values and
  its command and entry point arguments often carry credentials under names no pattern can guess
  (`STRIPE_SK`, `--db-password=`). Outside a document that opts in, they are shown as
  `sha256:1a2b3c4d5e6f`: stable, so a reviewer still sees that a value changed.

Pure: no I/O. The spec layer holds it so that validation, the planner's reports and the daemon can
all use it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

MASK = "***"

ANNOTATION_SHOW_VALUES = "ecs-reconciler/show-values"
"""`"true"` on a document shows its environment values and arguments as written."""

FINGERPRINTED_FIELDS = frozenset({"environment", "command", "entryPoint"})
"""Container fields whose values are fingerprinted: the usual places of plain-text secrets."""

SECRET_NAME = re.compile(
    r"(secret|password|passwd|(?:^|[_-])pass(?:$|[_-])|token|credential|access_?key|session_?key|private_?key"
    r"|api_?key|authorization|signing)",
    re.IGNORECASE,
)
"""Names whose values never appear in a report, a log line or a notification."""


def secret_name(name: str) -> bool:
    """Whether a name (an environment variable's, a key's) says its value is a secret."""
    return bool(SECRET_NAME.search(name))


_URL_PASSWORD = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]+:)(?P<secret>[^\s@/]+)(?=@)")
_SHAPES = re.compile(
    "|".join(
        (
            # PEM private keys, whole block (or from its header to the end of the text).
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----(?:.*?-----END [A-Z ]*PRIVATE KEY-----|.*)",
            r"\b(?:AKIA|ASIA|AROA|AIDA)[0-9A-Z]{16}\b",  # AWS access key ids
            r"(?i:aws_?secret_?access_?key)\s*[=:]\s*\S+",
            r"\b(?:sk|rk|pk)_(?:live|test)_[0-9a-zA-Z]{8,}",  # Stripe
            r"\bwhsec_[0-9a-zA-Z]{16,}",
            r"\bgh[pousr]_[A-Za-z0-9]{30,}",  # GitHub
            r"\bgithub_pat_[A-Za-z0-9_]{30,}",
            r"\bglpat-[A-Za-z0-9_-]{20,}",  # GitLab
            r"\bxox[abposr]-[A-Za-z0-9-]{10,}",  # Slack
            r"\bAIza[0-9A-Za-z_-]{35}",  # Google API keys
            r"\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}",  # SendGrid
            r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",  # JWTs
            # An option or assignment naming a secret: `--db-password=...`, `TOKEN=...`. Only with
            # `=`: a colon would catch ARNs (`arn:aws:secretsmanager:...:secret:db`), which are fine.
            r"(?i:(?<![^\s\-_\"'])[-\w]*(?:password|passwd|secret|token|api[-_]?key)=)\S+",
        )
    ),
    re.DOTALL,
)


def mask_text(text: str) -> str:
    """The text with every secret-shaped part replaced by `***`."""
    text = _URL_PASSWORD.sub(lambda match: match.group("head") + MASK, text)
    return _SHAPES.sub(_mask_match, text)


def _mask_match(match: re.Match[str]) -> str:
    found = match.group(0)
    # Keep an option's name, so `--db-password=***` still says what was hidden.
    name, separator, _ = found.partition("=")
    if separator and re.fullmatch(r"(?i)[-\w]*(password|passwd|secret|token|api[-_]?key|access_?key)", name):
        return f"{name}={MASK}"
    return MASK


def looks_secret(text: str) -> bool:
    return mask_text(text) != text


def fingerprint(value: Any) -> str:
    """A short, stable stand-in for a value: equal values, equal fingerprints."""
    return "sha256:" + hashlib.sha256(str(value).encode()).hexdigest()[:12]


_FINGERPRINT = re.compile(r"^sha256:[0-9a-f]{12}$")


def is_fingerprint(value: Any) -> bool:
    """Whether a value is already a fingerprint, which is safe to show anywhere."""
    return isinstance(value, str) and bool(_FINGERPRINT.match(value))


def mask_tree(value: Any) -> Any:
    """Every string in a JSON-like tree passed through `mask_text`."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {key: mask_tree(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [mask_tree(item) for item in value]
    return value


def protect(value: Any, path: Sequence[Any] = (), *, show_values: bool = False) -> Any:
    """A value for any output: secret-shaped text masked; below an environment, command or entry
    point (by `path`, then by the keys inside `value`), every value fingerprinted, names kept."""
    fingerprinting = not show_values and any(item in FINGERPRINTED_FIELDS for item in path)
    return _protect(value, fingerprinting, show_values=show_values, key=path[-1] if path else None)


def _protect(value: Any, fingerprinting: bool, *, show_values: bool, key: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            item_key: _protect(
                item,
                fingerprinting or (not show_values and item_key in FINGERPRINTED_FIELDS),
                show_values=show_values,
                key=item_key,
            )
            for item_key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_protect(item, fingerprinting, show_values=show_values, key=key) for item in value]
    if fingerprinting and value is not None and key != "name" and not isinstance(value, bool):
        return fingerprint(value)
    return mask_text(value) if isinstance(value, str) else value


def snippet(value: Any, *, width: int = 12) -> str:
    """At most a short, masked piece of a value, for a message that must say what it got."""
    if not isinstance(value, str):
        return type(value).__name__
    masked = mask_text(value)
    return repr(masked if len(masked) <= width else masked[:width] + "…")


def mask_mapping(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """`mask_tree` of a JSON object, typed as one."""
    return {key: mask_tree(value) for key, value in mapping.items()}


def plain_secret_warnings(environment: Sequence[tuple[str, Any]]) -> list[tuple[int, str]]:
    """For (name, value) pairs of plain environment variables, the indexes of those that look like
    secrets by name or by value, each with the warning `validate` gives."""
    return [
        (
            index,
            f"{name} looks like a secret in plain text: give it through `secrets` "
            "(Secrets Manager or SSM Parameter Store) instead of `environment`",
        )
        for index, (name, value) in enumerate(environment)
        if secret_name(name) or (isinstance(value, str) and looks_secret(value))
    ]
