"""Secret shapes are masked wherever they appear; ordinary values are left alone; values under an
environment, command or entry point are fingerprinted (issue 9, item 3)."""

from __future__ import annotations

import pytest

from reconciler.spec.secrets import fingerprint, looks_secret, mask_text, protect, snippet

PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7x\n-----END RSA PRIVATE KEY-----"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgres://app:s3cr3t@db.internal:5432/app", "postgres://app:***@db.internal:5432/app"),
        ("--db-password=hunter2", "--db-password=***"),
        ("DB_TOKEN=abc123", "DB_TOKEN=***"),
        (PEM, "***"),
        ("key: AKIAIOSFODNN7EXAMPLE", "key: ***"),
        ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG", "***"),
        ("sk_live_4eC39HqLyjWDarjtT1zdp7dc", "***"),
        ("rk_test_51H8xYzAbCdEfGh", "***"),
        ("ghp_" + "a" * 36, "***"),
        ("xoxb-123456789012-abcdefghij", "***"),
        ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N", "***"),
    ],
    ids=[
        "url-password",
        "option",
        "assignment",
        "pem",
        "aws-key-id",
        "aws-secret",
        "stripe-live",
        "stripe-test",
        "github",
        "slack",
        "jwt",
    ],
)
def test_secret_shapes_are_masked(text: str, expected: str) -> None:
    assert mask_text(text) == expected
    assert looks_secret(text)


@pytest.mark.parametrize(
    "text",
    [
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-password-AbCdEf",
        "arn:aws:ssm:us-east-1:123456789012:parameter/app/password",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:" + "a" * 64,
        "https://example.com/healthz",
        "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
        "node server.js --port=3000",
        "FEATURE_FLAGS",
    ],
    ids=["secret-arn", "ssm-arn", "digest", "plain-url", "uuid", "ordinary-option", "name"],
)
def test_ordinary_values_are_not_masked(text: str) -> None:
    assert mask_text(text) == text
    assert not looks_secret(text)


def test_environment_values_and_arguments_are_fingerprinted_names_kept() -> None:
    container = {
        "name": "web",
        "image": "nginx",
        "environment": [{"name": "STRIPE_SK", "value": "plain"}],
        "command": ["--verbose", "x"],
    }
    protected = protect({"containerDefinitions": [container]})
    (shown,) = protected["containerDefinitions"]
    assert shown["name"] == "web" and shown["image"] == "nginx"
    assert shown["environment"] == [{"name": "STRIPE_SK", "value": fingerprint("plain")}]
    assert shown["command"] == [fingerprint("--verbose"), fingerprint("x")]
    assert protect("plain", ("containerDefinitions", "web", "environment", "STRIPE_SK")) == fingerprint(
        "plain"
    )
    assert protect({"A": "1"}, ("containerDefinitions", 0, "environment")) == {"A": fingerprint("1")}
    assert fingerprint("plain") != fingerprint("plain2")


def test_a_document_that_opts_in_shows_values_but_never_secret_shapes() -> None:
    shown = protect(["--db-password=x", "--port=3000"], ("command",), show_values=True)
    assert shown == ["--db-password=***", "--port=3000"]


def test_a_snippet_is_short_and_masked() -> None:
    assert snippet(987654321) == "int"
    assert snippet("short") == "'short'"
    assert snippet("sk_live_4eC39HqLyjWDarjtT1zdp7dc") == "'***'"
    assert snippet("a rather long value indeed") == "'a rather lon…'"
