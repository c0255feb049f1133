"""The indexes of `bill` and `payment` on SQLite, where 0001 lost them.

0001 adds the two tables' check constraints after creating them; on SQLite Tortoise
adds a constraint by rebuilding the table, and the rebuilt table came without its
`Meta.indexes`. PostgreSQL has them already, under the same names (IF NOT EXISTS).
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

# Named and written as Tortoise names and writes them (`generate_schemas`).
_LOST = [
    ("idx_bill_account_9397ed", "bill", '"account_id", "statement_date"'),
    ("idx_bill_due_dat_89e7a5", "bill", '"due_date"'),
    ("idx_payment_account_49be1c", "payment", '"account_id", "created_at"'),
    ("idx_payment_bill_id_368e6a", "payment", '"bill_id"'),
    ("idx_payment_status_bbb287", "payment", '"status", "settle_after"'),
]
INDEXES = [
    f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ({columns})' for name, table, columns in _LOST
]


class Migration(migrations.Migration):
    dependencies = [("models", "0002_autopay_charge_attempt")]

    initial = False

    operations = [ops.RunSQL(INDEXES)]
