"""The local AWS: moto in server mode, patched to behave like AWS where the engine relies on it."""
