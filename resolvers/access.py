"""Who is asking, and which billing accounts they may see or pay."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from models.bulk import Params
from models.enums import AccessRole, Role
from models.people import Member

PAYING_ROLES = frozenset({AccessRole.GUARANTOR, AccessRole.PROXY_PAY})


@dataclass(frozen=True)
class Viewer:
    """The signed-in member; `access` maps visible account ids to the role held (staff: None)."""

    member: Member
    access: Mapping[int, AccessRole] | None

    @property
    def is_staff(self) -> bool:
        """Whether the viewer is billing-office staff, who read every account."""
        return self.access is None

    def can_see(self, account_id: int) -> bool:
        """Whether the viewer may read the account."""
        return self.access is None or account_id in self.access

    def can_see_member(self, member_id: int) -> bool:
        """Whether the viewer may see a member's own things (saved methods, email): their
        own, or anyone's for staff."""
        return self.access is None or member_id == self.member.id

    def can_pay(self, account_id: int) -> bool:
        """Whether the viewer may pay the account's bills (guarantor or proxy-pay)."""
        return self.access is not None and self.access.get(account_id) in PAYING_ROLES

    def is_guarantor(self, account_id: int) -> bool:
        """Whether the viewer holds the account as its guarantor."""
        return self.access is not None and self.access.get(account_id) is AccessRole.GUARANTOR

    @property
    def account_ids(self) -> list[int] | None:
        """The visible account ids, or None when every account is visible."""
        return None if self.access is None else sorted(self.access)


async def load_viewer(email: str, claimed_role: str) -> Viewer | None:
    """The viewer for a verified token's claims, or None if the member is unknown.

    One statement reads the member and their unrevoked access together, since every
    signed-in request asks for both."""
    conn = Member._meta.db
    p = Params(conn)
    sql = (
        'SELECT "member".*, "access"."account_id" AS "access_account", '
        '"access"."role" AS "access_role" FROM "member" LEFT JOIN "account_access" AS "access" '
        'ON "access"."member_id" = "member"."id" AND "access"."revoked_at" IS NULL '
        f'WHERE "member"."email" = {p(email.lower())}'
    )
    rows = await conn.execute_query_dict(sql, p.values)
    if not rows:
        return None
    held = [(row.pop("access_account"), row.pop("access_role")) for row in rows]
    member = Member._init_from_db(**rows[0])
    if claimed_role == Role.STAFF.value and member.role == Role.STAFF:
        return Viewer(member=member, access=None)
    access = {int(account): AccessRole(role) for account, role in held if account is not None}
    return Viewer(member=member, access=access)
