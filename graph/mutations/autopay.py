"""setupAutopay and cancelAutopay: decode IDs, call one resolver, map errors."""

from decimal import Decimal

import strawberry

from graph.context import Info
from graph.ids import decode_id
from graph.types.autopay import AutopayEnrollment
from graph.types.common import AutopayStrategy
from models import enums
from resolvers import autopay_setup
from resolvers.errors import NotFound

strawberry.enum(enums.AutopayErrorCode, description="Why an autopay change was refused.")
AutopayErrorCode = enums.AutopayErrorCode


@strawberry.type(description="An expected failure of an autopay mutation.")
class AutopayError:
    field: list[str] | None = strawberry.field(description="The input field at fault, if one.")
    message: str
    code: AutopayErrorCode


@strawberry.input(
    description="Enrol an account in autopay, or change its enrollment (this also resumes a "
    "suspended one)."
)
class SetupAutopayInput:
    account_id: strawberry.ID
    payment_method_id: strawberry.ID = strawberry.field(description="One of your saved methods.")
    strategy: AutopayStrategy
    fixed_amount: Decimal | None = strawberry.field(
        default=None, description='For FIXED_AMOUNT only: paid on each statement, e.g. "50.00".'
    )
    max_amount: Decimal | None = strawberry.field(
        default=None, description="The most one charge may take; leave out for no cap."
    )
    days_before_due: int = strawberry.field(
        default=3,
        description="Charge this many days before the due date (0-20), moved to the next "
        "business day when that is a weekend or US federal holiday.",
    )


@strawberry.type
class SetupAutopayPayload:
    autopay: AutopayEnrollment | None
    errors: list[AutopayError]


@strawberry.input(description="Stop autopay on an account.")
class CancelAutopayInput:
    account_id: strawberry.ID


@strawberry.type
class CancelAutopayPayload:
    autopay: AutopayEnrollment | None
    errors: list[AutopayError]


def _error(error: autopay_setup.AutopayError) -> list[AutopayError]:
    return [AutopayError(field=error.field, message=error.message, code=error.code)]


def _decode(global_id: str, type_name: str, code: AutopayErrorCode, field: str) -> int:
    try:
        return decode_id(global_id, type_name)
    except NotFound:
        what = "account" if type_name == "BillingAccount" else "payment method"
        raise autopay_setup.AutopayError(code, f"There is no such {what}.", [field]) from None


def _account_id(global_id: str) -> int:
    return _decode(global_id, "BillingAccount", AutopayErrorCode.ACCOUNT_NOT_FOUND, "accountId")


@strawberry.type
class AutopayMutations:
    @strawberry.mutation(description="Enrol an account in autopay or change its enrollment.")
    async def setup_autopay(self, info: Info, input: SetupAutopayInput) -> SetupAutopayPayload:
        viewer = info.context.begin_mutation()
        try:
            enrollment = await autopay_setup.setup_autopay(
                viewer=viewer,
                account_id=_account_id(input.account_id),
                method_id=_decode(
                    input.payment_method_id,
                    "PaymentMethod",
                    AutopayErrorCode.PAYMENT_METHOD_NOT_FOUND,
                    "paymentMethodId",
                ),
                strategy=input.strategy,
                fixed_amount=input.fixed_amount,
                max_amount=input.max_amount,
                days_before_due=input.days_before_due,
            )
        except autopay_setup.AutopayError as exc:
            return SetupAutopayPayload(autopay=None, errors=_error(exc))
        return SetupAutopayPayload(autopay=AutopayEnrollment(model=enrollment), errors=[])

    @strawberry.mutation(description="Stop autopay on an account.")
    async def cancel_autopay(self, info: Info, input: CancelAutopayInput) -> CancelAutopayPayload:
        viewer = info.context.begin_mutation()
        try:
            enrollment = await autopay_setup.cancel_autopay(
                viewer=viewer,
                account_id=_account_id(input.account_id),
            )
        except autopay_setup.AutopayError as exc:
            return CancelAutopayPayload(autopay=None, errors=_error(exc))
        return CancelAutopayPayload(autopay=AutopayEnrollment(model=enrollment), errors=[])
