"""What one run of the autopay charge job did, by AutopayCharge id."""

from __future__ import annotations

from dataclasses import dataclass, field

from models.enums import AutopayChargeStatus
from models.notifications import Notification


@dataclass
class AutopayReport:
    """Charges made, failed, skipped or left for a later run by one run of the job."""

    charged: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    in_progress: list[int] = field(default_factory=list)
    errors: list[int] = field(default_factory=list)
    suspended: list[int] = field(default_factory=list)  # enrollment ids
    notices: list[int] = field(default_factory=list)  # notification ids

    def told(self, notice: Notification | None) -> None:
        """Count a notification the job sent (None: none was sent)."""
        if notice is not None:
            self.notices.append(notice.id)

    def outcome(self, status: AutopayChargeStatus) -> list[int]:
        """The list a final charge status is counted in."""
        return {
            AutopayChargeStatus.CHARGED: self.charged,
            AutopayChargeStatus.FAILED: self.failed,
            AutopayChargeStatus.SKIPPED: self.skipped,
        }[status]

    def __str__(self) -> str:
        return (
            f"autopay: {len(self.charged)} charged, {len(self.failed)} failed, "
            f"{len(self.skipped)} skipped, {len(self.in_progress)} in progress, "
            f"{len(self.errors)} error(s), {len(self.suspended)} enrollment(s) suspended"
        )
