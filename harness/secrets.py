"""Keeping credentials out of everything the harness writes (reports, cache files)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

#: Argument names that hold credentials.
SECRET_NAME = re.compile(r"key|token|secret|passw|auth|credential|cookie|bearer", re.IGNORECASE)
MASK = "***"


def redact(value: Any, name: str = "") -> Any:
    """``value`` with credential-like entries masked and URL user-info removed."""
    if name and SECRET_NAME.search(name):
        return MASK
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str) and "://" in value and "@" in value:
        parts = urlsplit(value)
        if parts.username or parts.password:
            host = parts.hostname or ""
            netloc = f"{host}:{parts.port}" if parts.port else host
            return urlunsplit(parts._replace(netloc=netloc))
    return value


def without_secrets(model_args: dict[str, Any]) -> dict[str, Any]:
    """Model arguments with credential-named entries dropped and URL user-info removed.

    Used for cache keys and cache files: a rotated key must not change a key,
    and no secret may be written to disk.
    """
    kept = {k: v for k, v in sorted(model_args.items()) if not SECRET_NAME.search(str(k))}
    cleaned: dict[str, Any] = redact(kept)
    return cleaned
