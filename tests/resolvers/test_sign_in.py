"""Signing in reads the member and their unrevoked access in one statement."""

from __future__ import annotations

from tests import factories
from tests.graph.client import count_statements


async def test_a_member_gets_every_unrevoked_access_and_no_revoked_one(db: str) -> None:
    from adapters.clock import now
    from models.enums import AccessRole, Role
    from resolvers.access import load_viewer

    pat = await factories.member("pat@example.org")
    held = await factories.account(pat)
    proxied = await factories.account(pat, role=AccessRole.PROXY_VIEW)
    gone = await factories.account()
    revoked = await factories.grant(pat, gone, AccessRole.PROXY_PAY)
    revoked.revoked_at = now()
    await revoked.save()
    await factories.account(await factories.member())  # someone else's

    with count_statements() as statements:
        viewer = await load_viewer("Pat@Example.org", Role.MEMBER.value)
    assert len(statements) == 1
    assert viewer is not None and viewer.member.id == pat.id
    assert viewer.member.email == "pat@example.org" and viewer.member.role is Role.MEMBER
    assert viewer.access == {held.id: AccessRole.GUARANTOR, proxied.id: AccessRole.PROXY_VIEW}
    assert not viewer.can_see(gone.id)


async def test_a_member_without_access_sees_nothing_and_an_unknown_email_is_no_one(db: str) -> None:
    from models.enums import Role
    from resolvers.access import load_viewer

    await factories.member("new@example.org")
    viewer = await load_viewer("new@example.org", Role.MEMBER.value)
    assert viewer is not None and viewer.access == {} and not viewer.is_staff
    assert await load_viewer("nobody@example.org", Role.MEMBER.value) is None


async def test_a_member_whose_only_access_is_revoked_is_still_signed_in_with_none(
    db: str,
) -> None:
    from adapters.clock import now
    from models.enums import AccessRole, Role
    from resolvers.access import load_viewer

    sam = await factories.member("sam@example.org")
    grant = await factories.grant(sam, await factories.account(), AccessRole.PROXY_PAY)
    grant.revoked_at = now()
    await grant.save()

    viewer = await load_viewer("sam@example.org", Role.MEMBER.value)
    assert viewer is not None and viewer.member.id == sam.id
    assert viewer.access == {} and not viewer.can_see(grant.account_id)


async def test_staff_see_everything_only_when_both_token_and_record_say_staff(db: str) -> None:
    from models.enums import AccessRole, Role
    from resolvers.access import load_viewer

    boss = await factories.member("boss@example.org", staff=True)
    acct = await factories.account(boss, role=AccessRole.PROXY_VIEW)
    as_staff = await load_viewer("boss@example.org", Role.STAFF.value)
    assert as_staff is not None and as_staff.is_staff
    as_member = await load_viewer("boss@example.org", Role.MEMBER.value)
    assert as_member is not None and as_member.access == {acct.id: AccessRole.PROXY_VIEW}

    await factories.member("pat@example.org")
    claimed = await load_viewer("pat@example.org", Role.STAFF.value)
    assert claimed is not None and not claimed.is_staff and claimed.access == {}
