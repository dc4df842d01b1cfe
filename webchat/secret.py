"""The key that signs session cookies: made once, kept in the instance folder."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def load_or_create_secret(folder: Path) -> str:
    """Read the key, or write a new one readable by its owner only (0600).

    A key that changed on every start would log every browser out of its history.
    """
    path = folder / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
