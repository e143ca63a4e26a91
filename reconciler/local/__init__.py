"""The local AWS: moto in server mode, patched to behave like AWS where the engine relies on it.

Used by the tests (``tests/conftest.py``), the embedded ``--local`` mode and ``ecs-reconciler local-aws``.
The engine never imports it (an import-linter contract says so): it only sees an endpoint URL.
"""

from reconciler.local.server import DEFAULT_ACCOUNT_ID, DEFAULT_REGION, LocalAWS, serve_forever

__all__ = ["DEFAULT_ACCOUNT_ID", "DEFAULT_REGION", "LocalAWS", "serve_forever"]
