"""Customer tokens: the signed JWT the bank app's backend issues, checked with PyJWT.

The app channels (REST, socket.io) accept a message only with such a token, and the
conversation id *is* the token's ``sub``: nothing a client types in a request body decides
who the customer is. HS256 (a key shared with the app backend) and RS256 (the backend's
public key) are accepted, each only with its own key, so an RS256 public key can never be
used as an HMAC secret; ``alg: none`` and every other algorithm are refused. ``sub`` and
``exp`` are required.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

import jwt

# Customer ids are the bank's: letters, digits and ``_.@-``; a colon is reserved for
# conversation ids the product makes itself (``copilot:<call>``).
CUSTOMER_ID = re.compile(r"^[A-Za-z0-9_.@-]{1,64}\Z")
LEEWAY_SECONDS = 30


class TokenError(Exception):
    """A token that must be refused; the message says why, without echoing the token."""


@dataclass(frozen=True)
class CustomerClaims:
    customer_id: str
    expires_at: int


def _pem(value: str | None) -> str | None:
    """PEM text as given, or read from the path given (credentials may name a file)."""
    if value and "-----BEGIN" not in value:
        return Path(value).read_text(encoding="ascii")
    return value or None


class CustomerTokens:
    """Verifies (and, with the shared HS256 key, issues) customer tokens."""

    def __init__(self, secret: str | None = None, public_key: str | None = None,
                 audience: str | None = None, issuer: str | None = None) -> None:
        self._keys = {alg: key for alg, key in (("HS256", secret or None), ("RS256", _pem(public_key)))
                      if key}
        self._audience, self._issuer = audience or None, issuer or None

    @property
    def configured(self) -> bool:
        return bool(self._keys)

    def verify(self, token: str) -> CustomerClaims:
        """The claims of a valid token; TokenError otherwise."""
        if not token:
            raise TokenError("missing customer token (Authorization: Bearer <token>)")
        try:
            algorithm = jwt.get_unverified_header(token).get("alg")
        except jwt.PyJWTError as error:
            raise TokenError("malformed customer token") from error
        key = self._keys.get(algorithm)
        if key is None:
            raise TokenError(f"customer token signed with an algorithm that is not accepted ({algorithm})")
        try:
            claims = jwt.decode(token, key, algorithms=[algorithm], audience=self._audience,
                                issuer=self._issuer, leeway=LEEWAY_SECONDS,
                                options={"require": ["sub", "exp"]})
        except jwt.ExpiredSignatureError as error:
            raise TokenError("customer token has expired") from error
        except jwt.InvalidSignatureError as error:
            raise TokenError("customer token signature is not valid") from error
        except jwt.PyJWTError as error:
            raise TokenError(f"customer token is not valid: {error}") from error
        subject = claims["sub"]
        if not isinstance(subject, str) or not CUSTOMER_ID.match(subject):
            raise TokenError("customer token names no valid customer id (sub)")
        return CustomerClaims(subject, int(claims["exp"]))

    @staticmethod
    def still_valid(claims: CustomerClaims) -> bool:
        """A long-lived connection (socket.io) re-checks its token's expiry on every message."""
        return time.time() < claims.expires_at + LEEWAY_SECONDS

    def issue(self, customer_id: str, minutes: int) -> str:
        """A short-lived HS256 token (the demo sign-in and the tests act as the app backend)."""
        if "HS256" not in self._keys:
            raise TokenError("no HS256 key configured to issue tokens with")
        if not CUSTOMER_ID.match(customer_id):
            raise TokenError("not a valid customer id")
        now = int(time.time())
        claims = {"sub": customer_id, "iat": now, "exp": now + 60 * minutes}
        if self._audience:
            claims["aud"] = self._audience
        if self._issuer:
            claims["iss"] = self._issuer
        return jwt.encode(claims, self._keys["HS256"], algorithm="HS256")


def bearer(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header ("" when there is none)."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""
