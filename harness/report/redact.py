"""Redaction: credentials kept out of everything the harness writes.

:func:`redact` masks credential-named model arguments and URL user-info once,
when a run is published (results.json, the page, the logs all come from the
redacted results); :func:`without_secrets` drops them from draw-cache keys and
files, so a rotated key neither changes a key nor reaches the disk.
"""

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
