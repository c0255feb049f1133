"""Tokens from an identity provider's key pair, issuer and audience; lifetime bounds."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from adapters.clock import now
from graph.auth import AuthError, authenticate, mint_token
from settings import DEV_SECRET_KEY, Settings, SettingsError
from tests import factories

ISSUER = "https://id.example.org/"
AUDIENCE = "carepay"


@pytest.fixture(scope="module")
def key_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[rsa.RSAPrivateKey, Path]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    path = tmp_path_factory.mktemp("idp") / "public.pem"
    path.write_bytes(pem)
    return private, path


def _provider(path: Path) -> Settings:
    return Settings.from_env(
        {
            "CAREPAY_JWT_PUBLIC_KEY_FILE": str(path),
            "CAREPAY_JWT_ISSUER": ISSUER,
            "CAREPAY_JWT_AUDIENCE": AUDIENCE,
        }
    )


def _claims(**changes: object) -> dict[str, object]:
    issued = now()
    claims: dict[str, object] = {
        "sub": "alex@example.org",
        "role": "member",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": issued,
        "exp": issued + timedelta(minutes=30),
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


async def test_a_token_signed_by_the_identity_provider_signs_in(
    db: str, key_pair: tuple[rsa.RSAPrivateKey, Path]
) -> None:
    await factories.member("alex@example.org")
    private, path = key_pair
    token = jwt.encode(_claims(), private, algorithm="RS256")

    viewer = await authenticate(_provider(path), f"Bearer {token}")

    assert viewer.member.email == "alex@example.org"


@pytest.mark.parametrize(
    "changes",
    [
        {"iss": "https://elsewhere.example.org/"},
        {"aud": "another-app"},
        {"iss": None},
        {"aud": None},
        {"exp": now() + timedelta(days=400)},
    ],
    ids=["other-issuer", "other-audience", "no-issuer", "no-audience", "a-year-long"],
)
async def test_tokens_the_provider_did_not_mean_for_us_are_refused(
    db: str, key_pair: tuple[rsa.RSAPrivateKey, Path], changes: dict[str, object]
) -> None:
    await factories.member("alex@example.org")
    private, path = key_pair
    token = jwt.encode(_claims(**changes), private, algorithm="RS256")

    with pytest.raises(AuthError):
        await authenticate(_provider(path), f"Bearer {token}")


async def test_a_shared_secret_token_is_refused_once_a_public_key_is_configured(
    db: str, key_pair: tuple[rsa.RSAPrivateKey, Path]
) -> None:
    await factories.member("alex@example.org")
    _, path = key_pair
    settings = _provider(path)
    forged = jwt.encode(_claims(), DEV_SECRET_KEY, algorithm="HS256")

    with pytest.raises(AuthError):
        await authenticate(settings, f"Bearer {forged}")
    with pytest.raises(AuthError, match="identity provider"):
        mint_token(settings, "alex@example.org")


async def test_a_development_token_longer_than_a_day_is_refused(db: str) -> None:
    await factories.member("alex@example.org")
    settings = Settings.from_env({})
    long_lived = jwt.encode(
        _claims(iss=None, aud=None, exp=now() + timedelta(days=36500)),
        settings.secret_key,
        algorithm="HS256",
    )

    with pytest.raises(AuthError):
        await authenticate(settings, f"Bearer {long_lived}")
    viewer = await authenticate(settings, f"Bearer {mint_token(settings, 'alex@example.org')}")
    assert viewer.member.email == "alex@example.org"


def test_settings_refuse_a_key_file_that_is_missing_or_an_algorithm_without_a_key(
    tmp_path: Path,
) -> None:
    with pytest.raises(SettingsError, match="cannot be read"):
        Settings.from_env({"CAREPAY_JWT_PUBLIC_KEY_FILE": str(tmp_path / "absent.pem")})
    with pytest.raises(SettingsError, match="needs a public key"):
        Settings.from_env({"CAREPAY_JWT_ALGORITHM": "RS256"})
    with pytest.raises(SettingsError, match="must be one of"):
        Settings.from_env(
            {"CAREPAY_JWT_PUBLIC_KEY_FILE": str(tmp_path), "CAREPAY_JWT_ALGORITHM": "HS256"}
        )
    not_a_key = tmp_path / "not-a-key.pem"
    not_a_key.write_text("not a key\n")
    with pytest.raises(SettingsError, match="does not hold a public key for RS256"):
        Settings.from_env({"CAREPAY_JWT_PUBLIC_KEY_FILE": str(not_a_key)})
