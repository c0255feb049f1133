"""Bearer tokens: minting for development, verifying on every request and socket."""

from datetime import timedelta

import jwt

from adapters.clock import now
from models.enums import Role
from resolvers.access import Viewer, load_viewer
from settings import Settings

ALGORITHM = "HS256"


class AuthError(Exception):
    """The credentials are missing, malformed, expired or unknown."""


def mint_token(settings: Settings, email: str, *, role: Role = Role.MEMBER, hours: int = 12) -> str:
    """A signed token for `email` (development and tests)."""
    issued = now()
    claims = {
        "sub": email.lower(),
        "role": role.value,
        "iat": issued,
        "exp": issued + timedelta(hours=hours),
    }
    return jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM)


def bearer_token(header: str | None) -> str:
    """The token in an `Authorization: Bearer ...` value."""
    if not header:
        raise AuthError("Authentication required: send `Authorization: Bearer <token>`")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("Authorization header must be `Bearer <token>`")
    return token.strip()


async def authenticate(settings: Settings, header: str | None) -> Viewer:
    """The viewer behind an Authorization header value; AuthError if there is none."""
    token = bearer_token(header)
    try:
        claims = jwt.decode(
            token,
            settings.secret_key,
            algorithms=[ALGORITHM],
            options={"require": ["sub", "exp", "role"]},
        )
    except jwt.ExpiredSignatureError:
        raise AuthError("Token expired: sign in again") from None
    except jwt.InvalidTokenError:
        raise AuthError("Invalid token") from None
    if claims["role"] not in (Role.MEMBER.value, Role.STAFF.value):
        raise AuthError("Invalid token")
    viewer = await load_viewer(str(claims["sub"]), str(claims["role"]))
    if viewer is None:
        raise AuthError("Invalid token")
    return viewer
