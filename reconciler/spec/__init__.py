"""Spec documents: pydantic models, YAML loading with positions, validation, JSON Schema. Pure."""
