"""Secrets people hold: passwords (argon2, via pwdlib) and personal API tokens.

A token is 32 random bytes (256 bits), so a plain sha256 of it is enough to store: nobody can
guess a preimage, and a fast hash lets the API find the token's row by its hash. Passwords are
chosen by people and guessable, so they get argon2, which is slow on purpose.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

TOKEN_PREFIX = "pub_"  # says what the string is when it turns up in a log or a paste

_passwords = PasswordHash((Argon2Hasher(),))


def hash_password(password: str) -> str:
    return _passwords.hash(password)


def verify_password(password: str, stored: str) -> bool:
    return _passwords.verify(password, stored)


def new_password() -> str:
    """A random initial password (the first admin's), easy to copy: 20 URL-safe characters."""
    return secrets.token_urlsafe(15)


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What the store keeps of a token: its sha256, hex."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def same_digest(a: str, b: str) -> bool:
    """Constant-time comparison of two digests."""
    return hmac.compare_digest(a.encode(), b.encode())
