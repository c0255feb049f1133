"""What the demo's statements are made of: real CPT/HCPCS codes, providers and visits.

Descriptions are plain-language versions of the codes' short descriptors, as patient
statements print them. Charges are whole-dollar chargemaster ranges, (low, high),
for a hospital (facility) and for a physician's office (professional).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Benefit(Enum):
    """How insurance shares the cost of a service."""

    COPAY = "copay"  # office visits: a flat copay where the plan has one
    PREVENTIVE = "preventive"  # covered in full
    DEDUCTIBLE = "deductible"  # deductible first, then coinsurance


Range = tuple[int, int]


@dataclass(frozen=True)
class Service:
    """One billable CPT or HCPCS code."""

    code: str
    description: str
    facility: Range | None
    professional: Range | None
    benefit: Benefit = Benefit.DEDUCTIBLE


_D, _C, _P = Benefit.DEDUCTIBLE, Benefit.COPAY, Benefit.PREVENTIVE
_V = "Office or outpatient visit"
SERVICES: dict[str, Service] = {
    s.code: s
    for s in (
        Service("99203", f"{_V}, new patient, low complexity", None, (210, 290), _C),
        Service("99213", f"{_V}, established patient, low complexity", None, (150, 215), _C),
        Service("99214", f"{_V}, established patient, moderate complexity", None, (225, 310), _C),
        Service(
            "99284", "Emergency department visit, moderate complexity", (1450, 2250), (460, 640)
        ),
        Service(
            "99396",
            "Preventive medicine visit, established patient, age 40-64",
            None,
            (260, 340),
            _P,
        ),
        Service("36415", "Collection of venous blood by venipuncture", (24, 42), (15, 28)),
        Service("80048", "Basic metabolic panel", (95, 170), (45, 90)),
        Service("80053", "Comprehensive metabolic panel", (140, 260), (60, 120)),
        Service("80061", "Lipid panel", (110, 210), (55, 110)),
        Service("83036", "Hemoglobin A1c", (70, 130), (40, 75)),
        Service("84443", "Thyroid stimulating hormone (TSH)", (120, 190), (60, 110)),
        Service(
            "85025", "Complete blood count (CBC) with automated differential", (85, 160), (35, 70)
        ),
        Service("81001", "Urinalysis, automated, with microscopy", (40, 75), (20, 40)),
        Service("87880", "Rapid strep test (Streptococcus group A antigen)", None, (45, 70)),
        Service("71046", "X-ray of chest, 2 views", (210, 420), None),
        Service("73030", "X-ray of shoulder, 2 or more views", (190, 330), (120, 190)),
        Service("70450", "CT scan of head or brain without contrast", (1150, 2350), None),
        Service("74177", "CT scan of abdomen and pelvis with contrast", (2600, 4700), None),
        Service("72148", "MRI of lumbar spine without contrast", (2300, 3500), None),
        Service("73721", "MRI of knee joint without contrast", (2100, 3300), None),
        Service("76700", "Ultrasound of abdomen, complete", (520, 880), None),
        Service(
            "93000",
            "Electrocardiogram (ECG), 12 leads, with interpretation and report",
            None,
            (65, 115),
        ),
        Service("93005", "Electrocardiogram (ECG), tracing only", (160, 290), None),
        Service("93010", "Electrocardiogram (ECG), interpretation and report only", None, (28, 45)),
        Service("96360", "IV infusion for hydration, first hour", (310, 540), None),
        Service("96374", "IV push injection, single or first drug", (260, 440), None),
        Service(
            "12001", "Simple repair of superficial wound, 2.5 cm or less", (380, 610), (160, 240)
        ),
        Service("97161", "Physical therapy evaluation, low complexity", (185, 255), None),
        Service("97110", "Therapeutic exercises, each 15 minutes", (92, 148), None),
        Service("97140", "Manual therapy techniques, each 15 minutes", (84, 136), None),
        Service("97530", "Therapeutic activities, each 15 minutes", (96, 158), None),
        Service("20610", "Injection or aspiration of a major joint or bursa", None, (185, 310)),
        Service("45380", "Colonoscopy with biopsy", (2650, 4150), (780, 1150)),
        Service(
            "88305", "Surgical pathology, gross and microscopic exam, level IV", (160, 280), None
        ),
        Service("90471", "Immunization administration, one vaccine", None, (25, 42), _P),
        Service(
            "90686",
            "Influenza vaccine, quadrivalent, preservative free, for injection",
            None,
            (38, 58),
            _P,
        ),
        Service(
            "90662",
            "Influenza vaccine, high dose, preservative free, for injection",
            None,
            (72, 96),
            _P,
        ),
        Service("G0008", "Administration of influenza vaccine", None, (26, 40), _P),
        Service(
            "G0438",
            "Annual wellness visit with personalized prevention plan, first visit",
            None,
            (265, 340),
            _P,
        ),
        Service("G0439", "Annual wellness visit, subsequent visit", None, (190, 255), _P),
        Service("J1100", "Injection, dexamethasone sodium phosphate, 1 mg", (12, 30), None),
        Service("J2405", "Injection, ondansetron hydrochloride, per 1 mg", (24, 62), None),
        Service("J3301", "Injection, triamcinolone acetonide, per 10 mg", None, (16, 42)),
        Service("J7030", "Infusion, normal saline solution, 1000 cc", (45, 115), None),
    )
}


@dataclass(frozen=True)
class Visit:
    """A kind of encounter: one code from each of `main`, plus up to `most` of `extras`."""

    provider: str
    main: tuple[tuple[str, ...], ...]
    extras: tuple[tuple[str, ...], ...] = ()
    most: int = 0
    weight: float = 1.0
    sessions: int = 1  # repeated on this many service dates (therapy)


RIVERSIDE = "Riverside Medical Center"
PHYSICIANS = "Riverside Physician Group"
LAKESHORE = "Lakeshore Family Medicine"
DR_CHEN = "Dr. Maya Chen, MD"
DR_NAIR = "Dr. Priya Nair, DO"
DR_OKAFOR = "Dr. Samuel Okafor, MD"
DR_KIM = "Dr. Daniel Kim, MD"
DR_WHITFIELD = "Dr. Thomas Whitfield, MD"
NP_LINDQVIST = "Anna Lindqvist, NP"

HOSPITAL_VISITS = (
    Visit(
        f"{RIVERSIDE} Laboratory",
        (("36415",),),
        (("80053",), ("85025",), ("80061",), ("83036",), ("84443",), ("81001",)),
        most=4,
        weight=5,
    ),
    Visit(
        f"{RIVERSIDE} Emergency Department",
        (("99284",),),
        (("71046",), ("85025",), ("80053",), ("93005",), ("96374", "J2405"), ("96360", "J7030")),
        most=3,
        weight=1,
    ),
    Visit(f"{RIVERSIDE} Emergency Department", (("99284",), ("70450",)), (("12001",),), 1, 0.5),
    Visit(f"{RIVERSIDE} Imaging", (("72148", "76700", "74177", "73721", "73030"),), weight=2),
    Visit("Riverside Outpatient Rehabilitation", (("97161",), ("97110",)), weight=1),
    Visit(
        "Riverside Outpatient Rehabilitation",
        (("97110",),),
        (("97140",), ("97530",)),
        most=2,
        weight=3,
        sessions=2,
    ),
    Visit(f"{RIVERSIDE} Endoscopy", (("45380",), ("88305",)), weight=0.4),
)

PHYSICIAN_VISITS = (
    Visit(
        DR_CHEN,
        (("99213", "99214"),),
        (("93000",), ("87880",), ("90471", "90686"), ("36415",)),
        most=2,
        weight=5,
    ),
    Visit(DR_CHEN, (("99396",),), (("93000",), ("90471", "90686"), ("80061",)), 2, 1),
    Visit(DR_NAIR, (("99203", "99214"),), (("20610", "J3301"), ("73030",)), 2, 2),
    Visit(DR_OKAFOR, (("99284",),), (("93010",), ("12001",)), 1, 1),
    Visit(DR_KIM, (("99214", "45380"),), weight=0.6),
)

FAMILY_VISITS = (
    Visit(
        DR_WHITFIELD,
        (("99213", "99214"),),
        (("36415",), ("80048",), ("83036",), ("85025",), ("93000",)),
        most=3,
        weight=4,
    ),
    Visit(NP_LINDQVIST, (("99213",),), (("87880",), ("36415",), ("83036",)), 2, 2),
    Visit(DR_WHITFIELD, (("G0439",),), (("G0008", "90662"), ("36415", "80061")), 2, 1),
)
FIRST_FAMILY_VISIT = Visit(DR_WHITFIELD, (("G0438",), ("99213",)), (("36415", "83036"),), 1)


@dataclass(frozen=True)
class Coverage:
    """A health plan's cost sharing, in cents; allowed amounts as a share of charges."""

    plan: str
    deductible: int
    coinsurance: float
    copay: int | None
    allowed: tuple[float, float]


COMMERCIAL_PPO = Coverage("Blue Harbor PPO", 150_000, 0.2, 3_500, (0.38, 0.6))
MEDICARE_PART_B = Coverage("Medicare Part B", 25_700, 0.2, None, (0.28, 0.42))
