// The dashboard's bookkeeping: payments once each, today's counters, the hourly chart.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Board, formatTotals, midnightOf, minorUnits } from "../src/board.js";

const TODAY = new Date(2026, 10, 25, 14, 30);
const MIDNIGHT = midnightOf(TODAY);

function payment(id, status, amount = "10.00", createdAt = new Date(2026, 10, 25, 9)) {
  return {
    id,
    status,
    createdAt: createdAt.toISOString(),
    settledAt: null,
    amount: { amount, currency: "USD", formatted: `$${amount}` },
  };
}

function event(type, at, paid) {
  return { cursor: `c-${type}-${paid.id}`, type, occurredAt: at.toISOString(), payment: paid };
}

test("a payment from the start query and its replayed events is one row, counted once", () => {
  const board = new Board();
  const paid = payment("P1", "SUCCEEDED", "12.34");
  board.load([paid]);
  assert.equal(board.apply(event("PAYMENT_CREATED", new Date(2026, 10, 25, 9), paid)), true);
  assert.equal(board.apply(event("PAYMENT_SUCCEEDED", new Date(2026, 10, 25, 9, 0, 1), paid)), true);
  // A resume that delivers the same event again changes nothing.
  assert.equal(board.apply(event("PAYMENT_SUCCEEDED", new Date(2026, 10, 25, 9, 0, 1), paid)), false);

  assert.deepEqual(board.rows(10).map((r) => r.payment.id), ["P1"]);
  const counters = board.counters(MIDNIGHT);
  assert.equal(counters.succeeded, 1);
  assert.equal(formatTotals(counters.totals, "en-US"), "$12.34");
});

test("an event keeps the payment as it stands now, and never moves its time back", () => {
  const board = new Board();
  const settled = { ...payment("P1", "SUCCEEDED"), settledAt: new Date(2026, 10, 25, 12).toISOString() };
  board.load([settled]);
  board.apply(event("PAYMENT_PROCESSING", new Date(2026, 10, 25, 9), settled));
  const [row] = board.rows(1);
  assert.equal(row.payment.status, "SUCCEEDED");
  assert.deepEqual(row.changedAt, new Date(2026, 10, 25, 12));
});

test("rows are the most recently changed first", () => {
  const board = new Board();
  board.load([payment("OLD", "SUCCEEDED", "1.00", new Date(2026, 9, 1))]);
  board.apply(event("PAYMENT_CREATED", new Date(2026, 10, 25, 8), payment("A", "PENDING")));
  board.apply(event("PAYMENT_CREATED", new Date(2026, 10, 25, 10), payment("B", "PENDING")));
  assert.deepEqual(board.rows(2).map((r) => r.payment.id), ["B", "A"]);
});

test("today's counters leave out yesterday's events; processing counts what is in flight", () => {
  const board = new Board();
  const yesterday = new Date(2026, 10, 24, 23, 59);
  board.load([payment("ACH-OLD", "PROCESSING", "80.00", new Date(2026, 10, 20))]);
  board.apply(event("PAYMENT_SUCCEEDED", yesterday, payment("Y", "SUCCEEDED", "99.00")));
  board.apply(event("PAYMENT_SUCCEEDED", new Date(2026, 10, 25, 9), payment("S1", "SUCCEEDED", "10.50")));
  board.apply(event("PAYMENT_SUCCEEDED", new Date(2026, 10, 25, 10), payment("S2", "REFUNDED", "4.50")));
  board.apply(event("PAYMENT_FAILED", new Date(2026, 10, 25, 11), payment("F", "FAILED")));
  board.apply(event("PAYMENT_RETURNED", new Date(2026, 10, 25, 12), payment("R", "RETURNED")));
  board.apply(event("PAYMENT_PROCESSING", new Date(2026, 10, 25, 13), payment("ACH", "PROCESSING")));

  const counters = board.counters(MIDNIGHT);
  assert.deepEqual(
    [counters.succeeded, counters.failed, counters.returned, counters.processing],
    [2, 1, 1, 2],
  );
  assert.equal(formatTotals(counters.totals, "en-US"), "$15.00");
});

test("the chart counts the payments made in each local hour of today", () => {
  const board = new Board();
  board.apply(event("PAYMENT_CREATED", new Date(2026, 10, 24, 9), payment("Y", "SUCCEEDED")));
  board.apply(event("PAYMENT_CREATED", new Date(2026, 10, 25, 9, 5), payment("A", "SUCCEEDED", "2.00")));
  board.apply(event("PAYMENT_CREATED", new Date(2026, 10, 25, 9, 55), payment("B", "FAILED", "3.00")));
  board.apply(event("PAYMENT_SUCCEEDED", new Date(2026, 10, 25, 9, 56), payment("B", "SUCCEEDED")));
  board.apply(event("PAYMENT_CREATED", new Date(2026, 10, 25, 23, 59), payment("C", "PENDING")));

  const hours = board.hours(MIDNIGHT);
  assert.equal(hours.length, 24);
  assert.deepEqual(hours.map((h) => h.count), [...Array(9).fill(0), 2, ...Array(13).fill(0), 1]);
  assert.equal(formatTotals(hours[9].totals, "en-US"), "$5.00");
});

test("amounts add up in exact minor units, per currency", () => {
  assert.deepEqual(minorUnits("125.40"), { units: 12540, scale: 2 });
  assert.deepEqual(minorUnits("0.10"), { units: 10, scale: 2 });
  assert.deepEqual(minorUnits("-0.50"), { units: -50, scale: 2 });
  assert.deepEqual(minorUnits("1500"), { units: 1500, scale: 0 });
  const totals = new Map([
    ["USD", { units: 30, scale: 2 }],
    ["EUR", { units: 500, scale: 2 }],
  ]);
  assert.equal(formatTotals(totals, "en-US"), "$0.30 · €5.00");
  assert.equal(formatTotals(new Map(), "en-US"), "$0.00");
});

test("pruning keeps today's events, in-flight payments and the newest rows", () => {
  const board = new Board();
  board.load([
    payment("OLD-ACH", "PROCESSING", "80.00", new Date(2026, 10, 1)),
    payment("OLD", "SUCCEEDED", "1.00", new Date(2026, 10, 2)),
    payment("OLDER", "SUCCEEDED", "1.00", new Date(2026, 10, 1)),
  ]);
  board.apply(event("PAYMENT_SUCCEEDED", new Date(2026, 10, 24, 9), payment("Y", "SUCCEEDED")));
  board.apply(event("PAYMENT_SUCCEEDED", new Date(2026, 10, 25, 9), payment("T", "SUCCEEDED")));

  board.prune(MIDNIGHT, 2);

  assert.deepEqual([...board.payments.keys()].sort(), ["OLD-ACH", "T", "Y"]);
  assert.deepEqual([...board.events.values()].map((e) => e.payment.id), ["T"]);
  assert.equal(board.counters(MIDNIGHT).processing, 1);
});
