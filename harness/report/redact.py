"""Redaction: credentials kept out of everything the harness writes or prints.

Two rules. By *name*: :func:`redact` masks credential-named model arguments and
URL user-info once, when a run is published, and :func:`without_secrets` drops
them from draw-cache keys and files, so a rotated key neither changes a key nor
reaches the disk. By *value*: :func:`scrub` removes every known secret from a
text, wherever it appears (a provider's error message that echoes the key, a
header value under an innocent name). The known secrets are the values of
environment variables whose names end in ``_KEY``, ``_TOKEN``, ``_SECRET`` (or
``_PASSWORD``) and the model arguments that are credential-named or look like
keys (:func:`remember`). The sampler scrubs every error and reply it keeps, the
plugin every line it prints, and publishing the whole run once more.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

#: Argument names that hold credentials.
SECRET_NAME = re.compile(r"key|token|secret|passw|auth|credential|cookie|bearer", re.IGNORECASE)
#: Environment variables whose values are secrets.
SECRET_ENV = re.compile(r"(_KEY|_TOKEN|_SECRET|_PASSWORD)$", re.IGNORECASE)
#: A value shorter than this is never treated as a secret (masking "1" would garble text).
MIN_SECRET = 8
#: Prefixes of provider keys and tokens (OpenAI, Anthropic, Hugging Face, Google, GitHub, Slack).
KEY_PREFIX = re.compile(r"^(sk-|sk_|pk-|rk-|hf_|AIza|ghp_|gho_|github_pat_|xox[abp]-|ya29\.)")
MASK = "***"

_remembered: set[str] = set()
_lock = threading.Lock()


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


def looks_like_key(value: str) -> bool:
    """Whether a string looks like an API key or token (a known prefix, or long and random)."""
    if len(value) < MIN_SECRET or any(c.isspace() for c in value) or "://" in value:
        return False
    if KEY_PREFIX.match(value):
        return True
    if len(value) < 20 or not re.fullmatch(r"[A-Za-z0-9_\-.=+/:]+", value):
        return False
    kinds = sum(bool(re.search(p, value)) for p in ("[a-z]", "[A-Z]", "[0-9]"))
    return kinds >= 2 and len(set(value)) >= 10


def secret_values(value: Any, name: str = "") -> list[str]:
    """The secrets inside model arguments: credential-named strings, key-like strings and
    URL passwords, at any depth."""
    found: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            found += secret_values(v, str(k))
    elif isinstance(value, list | tuple):
        for v in value:
            found += secret_values(v, name)
    elif isinstance(value, str):
        if (name and SECRET_NAME.search(name)) or looks_like_key(value):
            found.append(value)
        elif "://" in value and "@" in value:
            password = urlsplit(value).password
            if password:
                found.append(password)
    return [f for f in found if len(f) >= MIN_SECRET]


def remember(values: Iterable[str]) -> None:
    """Treat ``values`` as secrets from now on, in this process."""
    with _lock:
        _remembered.update(v for v in values if len(v) >= MIN_SECRET)


def known_secrets() -> list[str]:
    """Every secret this process knows, longest first (so a key containing another goes whole)."""
    env = [v for k, v in os.environ.items() if SECRET_ENV.search(k) and len(v) >= MIN_SECRET]
    with _lock:
        found = set(env) | _remembered
    return sorted(found, key=lambda v: (-len(v), v))


def scrub(text: str) -> str:
    """``text`` with every known secret replaced by ``***``."""
    if not text:
        return text
    for secret in known_secrets():
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def scrubbed(model: M) -> M:
    """A pydantic model with every known secret removed from its text, at any depth."""
    dumped = model.model_dump_json()
    clean = scrub(dumped)
    return model if clean == dumped else type(model).model_validate_json(clean)
