"""Secrets made once and kept in the instance folder: the cookie key, the access token."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def load_or_create_secret(folder: Path, name: str = "secret_key", nbytes: int = 32) -> str:
    """Read the secret, or write a new one readable by its owner only (0600).

    A key that changed on every start would log every browser out of its history, and a
    token that changed would make the printed URL useless after a restart.
    """
    path = folder / name
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    key = secrets.token_urlsafe(nbytes)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def make_private(folder: Path) -> None:
    """The data folder 0700 and every file in it 0600, at every start: a folder made
    earlier with mode 0755 would leave the chats readable by every local user."""
    folder.chmod(0o700)
    for path in folder.iterdir():
        if path.is_file() and not path.is_symlink():
            path.chmod(0o600)
