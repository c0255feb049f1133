"""Bearer tokens: minting for development, verifying on every request and socket."""

from datetime import timedelta

import jwt

from adapters.clock import now
from models.enums import Role
from resolvers.access import Viewer, load_viewer
from settings import Settings

ALGORITHM = "HS256"
MAX_LIFETIME = timedelta(days=1)  # a token living longer than this is refused


class AuthError(Exception):
    """The credentials are missing, malformed, expired or unknown."""


def mint_token(settings: Settings, email: str, *, role: Role = Role.MEMBER, hours: int = 12) -> str:
    """A signed token for `email` (development and tests, with the shared secret)."""
    if settings.jwt_public_key is not None:
        raise AuthError("Tokens come from the identity provider (CAREPAY_JWT_PUBLIC_KEY_FILE)")
    issued = now()
    claims: dict[str, object] = {
        "sub": email.lower(),
        "role": role.value,
        "iat": issued,
        "exp": issued + timedelta(hours=hours),
    }
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
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
            settings.jwt_public_key or settings.secret_key,
            algorithms=[settings.jwt_algorithm],
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            options={"require": _required(settings)},
        )
    except jwt.ExpiredSignatureError:
        raise AuthError("Token expired: sign in again") from None
    except jwt.InvalidTokenError:
        raise AuthError("Invalid token") from None
    if claims["role"] not in (Role.MEMBER.value, Role.STAFF.value) or _too_long(claims):
        raise AuthError("Invalid token")
    viewer = await load_viewer(str(claims["sub"]), str(claims["role"]))
    if viewer is None:
        raise AuthError("Invalid token")
    return viewer


def _required(settings: Settings) -> list[str]:
    claims = ["sub", "exp", "role"]
    if settings.jwt_issuer:
        claims.append("iss")
    if settings.jwt_audience:
        claims.append("aud")
    return claims


def _too_long(claims: dict[str, object]) -> bool:
    """A token valid for more than MAX_LIFETIME from now (or from when it was issued)."""
    expires = claims["exp"]
    issued = claims.get("iat", now().timestamp())
    if not isinstance(expires, int | float) or not isinstance(issued, int | float):
        return True
    start = min(float(issued), now().timestamp())
    return float(expires) - start > MAX_LIFETIME.total_seconds()
