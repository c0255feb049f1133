"""Drafting the demo's statements: coded line items whose insurance arithmetic adds up.

Pure functions of a `random.Random`, so the same seed and day give the same drafts.
A line's allowed amount is a share of its charge; the rest is the contractual
adjustment; the patient owes a copay, or the plan's deductible then coinsurance,
and insurance pays what is left of the allowed amount.
"""

from __future__ import annotations

import calendar
import random
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING

from resolvers.demo_catalog import SERVICES, Benefit, Coverage, Service, Visit

if TYPE_CHECKING:
    from resolvers.demo_story import PaymentDraft

MAX_LINES = 6
DUE_AFTER = timedelta(days=25)
SMALL_BILL = 2_500  # a statement under $25 picks up the next visit too
SEASONAL = frozenset({"90686", "90662", "G0008"})  # flu shots
FLU_SEASON = frozenset({9, 10, 11, 12, 1})


@dataclass(frozen=True)
class LineDraft:
    """One line item, in cents."""

    service_date: date
    code: str
    description: str
    provider: str
    charge: int
    insurance_paid: int
    adjustment: int

    @property
    def patient_amount(self) -> int:
        """What the patient owes for the line."""
        return self.charge - self.insurance_paid - self.adjustment


@dataclass
class StatementDraft:
    """One statement with its lines, and (once the story is told) its payments."""

    number: str
    statement_date: date
    lines: list[LineDraft]
    payments: list[PaymentDraft] = field(default_factory=list)
    voided: bool = False

    @property
    def due_date(self) -> date:
        """Statements fall due 25 days after they are issued."""
        return self.statement_date + DUE_AFTER

    @property
    def total_charges(self) -> int:
        """The sum of the lines' charges."""
        return sum(line.charge for line in self.lines)

    @property
    def insurance_paid(self) -> int:
        """The sum of what insurance paid on the lines."""
        return sum(line.insurance_paid for line in self.lines)

    @property
    def adjustments(self) -> int:
        """The sum of the lines' contractual adjustments."""
        return sum(line.adjustment for line in self.lines)

    @property
    def patient_responsibility(self) -> int:
        """What the patient owes on the statement."""
        return sum(line.patient_amount for line in self.lines)

    @property
    def minimum_due(self) -> int:
        """10% of the balance, at least $25 (all of it when less)."""
        owed = self.patient_responsibility
        return min(owed, max(2_500, owed // 10))


class CostSharing:
    """A member's plan: its contracted rates and how much of each year's deductible is met."""

    def __init__(self, coverage: Coverage, *, since: date) -> None:
        self.coverage = coverage
        # History starts mid-year: the months before `since` met their share of the deductible.
        self._met = {since.year: coverage.deductible * (since.month - 1) // 12}
        self._rates: dict[tuple[str, str], tuple[int, int]] = {}

    def rate(
        self, rng: random.Random, service: Service, provider: str, *, facility: bool
    ) -> tuple[int, int]:
        """The provider's charge for the service and the plan's allowed amount, fixed once set."""
        key = (provider, service.code)
        if key not in self._rates:
            low, high = (service.facility if facility else service.professional) or (0, 0)
            if high == 0:
                kind = "facility" if facility else "office"
                raise ValueError(f"{service.code} has no {kind} price")
            charge = rng.randint(low, high) * 100
            self._rates[key] = (charge, round(charge * rng.uniform(*self.coverage.allowed)))
        return self._rates[key]

    def patient_share(self, service: Service, allowed: int, year: int) -> int:
        """What the patient owes of an allowed amount."""
        plan = self.coverage
        if service.benefit is Benefit.PREVENTIVE:
            return 0
        if service.benefit is Benefit.COPAY and plan.copay is not None:
            return min(allowed, plan.copay)
        met = self._met.get(year, 0)
        deductible = min(allowed, plan.deductible - met)
        self._met[year] = met + deductible
        return deductible + round((allowed - deductible) * plan.coinsurance)


def months_before(day: date, months: int) -> date:
    """The same day of the month `months` months earlier (the month's last day if shorter)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def price(
    rng: random.Random,
    service: Service,
    *,
    facility: bool,
    sharing: CostSharing,
    on: date,
    provider: str,
) -> LineDraft:
    """A priced line: charge, contractual adjustment, insurance payment."""
    charge, allowed = sharing.rate(rng, service, provider, facility=facility)
    patient = sharing.patient_share(service, allowed, on.year)
    return LineDraft(
        service_date=on,
        code=service.code,
        description=service.description,
        provider=provider,
        charge=charge,
        insurance_paid=allowed - patient,
        adjustment=charge - allowed,
    )


def _codes(rng: random.Random, visit: Visit, on: date) -> list[str]:
    codes = [rng.choice(group) for group in visit.main]
    extras = [e for e in visit.extras if on.month in FLU_SEASON or not SEASONAL.intersection(e)]
    for extra in rng.sample(extras, rng.randint(0, min(visit.most, len(extras)))):
        codes.extend(extra)
    return codes


def _pays(visit: Visit) -> bool:
    return SERVICES[visit.main[0][0]].benefit is not Benefit.PREVENTIVE


def draft_lines(
    rng: random.Random,
    visits: tuple[Visit, ...],
    *,
    facility: bool,
    sharing: CostSharing,
    statement_date: date,
    first: Visit | None = None,
) -> list[LineDraft]:
    """One to six lines from a visit or two in the month before the statement."""
    lines: list[LineDraft] = []
    used: list[Visit] = []
    visit = first or rng.choices(visits, [v.weight for v in visits])[0]
    for _ in range(MAX_LINES):  # a visit per round; six lines fill up sooner
        used.append(visit)
        start = statement_date - timedelta(days=rng.randint(10, 30))
        days = [start + timedelta(days=i * rng.randint(2, 4)) for i in range(visit.sessions)]
        for code in _codes(rng, visit, start):
            for day in days:
                # A code twice on one day would read as a duplicate charge.
                taken = any((line.code, line.service_date) == (code, day) for line in lines)
                if len(lines) < MAX_LINES and not taken:
                    service = SERVICES[code]
                    line = price(
                        rng,
                        service,
                        facility=facility,
                        sharing=sharing,
                        on=day,
                        provider=visit.provider,
                    )
                    lines.append(line)
        owed = sum(line.patient_amount for line in lines)
        small = owed == 0 or (owed < SMALL_BILL and len(lines) <= 4)
        if len(lines) >= MAX_LINES or not (small or (len(lines) <= 3 and rng.random() < 0.2)):
            break
        # Another kind of visit than those already on the statement.
        paying = [v for v in visits if _pays(v) and v not in used]
        paying = paying or [v for v in visits if _pays(v)]
        visit = rng.choices(paying, [v.weight for v in paying])[0]
    return sorted(lines, key=lambda line: line.service_date)


def with_duplicate_line(lines: list[LineDraft]) -> list[LineDraft]:
    """The classic billing error a statement is voided for: one line charged twice."""
    kept = lines[: MAX_LINES - 1]
    return sorted([*kept, replace(kept[0])], key=lambda line: line.service_date)
