// What the dashboard knows: every payment it has seen (as it stands now) and today's events.
//
// Payments arrive twice over: from the start query, and from the events replayed since
// midnight and then live. Each payment is kept once (by id) in its newest known state;
// each event once (by payment id and type), so replays and resumes never double-count.

const IN_FLIGHT = new Set(["PENDING", "PROCESSING"]);
const COUNTED = {
  PAYMENT_SUCCEEDED: "succeeded",
  PAYMENT_FAILED: "failed",
  PAYMENT_RETURNED: "returned",
};

/** Local midnight of the day `now` falls in. */
export function midnightOf(now) {
  const midnight = new Date(now);
  midnight.setHours(0, 0, 0, 0);
  return midnight;
}

/** A Money amount ("125.40") as integer minor units and the number of decimals. */
export function minorUnits(amount) {
  const [whole, fraction = ""] = amount.split(".");
  const sign = whole.startsWith("-") ? -1 : 1;
  const units = Math.abs(Number(whole)) * 10 ** fraction.length + Number(fraction || "0");
  return { units: sign * units, scale: fraction.length };
}

export class Board {
  constructor() {
    this.payments = new Map(); // payment id -> { payment, changedAt }
    this.events = new Map(); // `${payment id} ${type}` -> { type, at, payment }
  }

  /** Payments from a query: kept unless an event already told something newer. */
  load(payments) {
    for (const payment of payments) {
      if (!this.payments.has(payment.id)) {
        const changedAt = new Date(payment.settledAt ?? payment.createdAt);
        this.payments.set(payment.id, { payment, changedAt });
      }
    }
  }

  /** One event of paymentStatusFeed; false if it was seen before. */
  apply(event) {
    const at = new Date(event.occurredAt);
    const { payment } = event;
    const known = this.payments.get(payment.id);
    // The event carries the payment as it stands now, never older than what we hold.
    const changedAt = known && known.changedAt > at ? known.changedAt : at;
    this.payments.set(payment.id, { payment, changedAt });
    const key = `${payment.id} ${event.type}`;
    if (this.events.has(key)) return false;
    this.events.set(key, { type: event.type, at, payment });
    return true;
  }

  /** Forget events from before `midnight`, and settled payments past the newest `keep`. */
  prune(midnight, keep) {
    for (const [key, event] of this.events) {
      if (event.at < midnight) this.events.delete(key);
    }
    const shown = new Set(this.rows(keep).map((row) => row.payment.id));
    for (const [id, { payment }] of this.payments) {
      if (!shown.has(id) && !IN_FLIGHT.has(payment.status)) this.payments.delete(id);
    }
  }

  /** The newest `limit` payments, most recently changed first. */
  rows(limit) {
    return [...this.payments.values()]
      .sort((a, b) => b.changedAt - a.changedAt || (a.payment.id < b.payment.id ? 1 : -1))
      .slice(0, limit);
  }

  /** Today's counters: succeeded (with totals per currency), failed, returned; in flight now. */
  counters(midnight) {
    const counters = { succeeded: 0, failed: 0, returned: 0, processing: 0, totals: new Map() };
    for (const { payment } of this.payments.values()) {
      if (IN_FLIGHT.has(payment.status)) counters.processing += 1;
    }
    for (const event of this.today(midnight)) {
      const name = COUNTED[event.type];
      if (name === undefined) continue;
      counters[name] += 1;
      if (name === "succeeded") addTo(counters.totals, event.payment.amount);
    }
    return counters;
  }

  /** Payments made in each local hour of the day. */
  hours(midnight) {
    const hours = Array.from({ length: 24 }, () => ({ count: 0, totals: new Map() }));
    for (const event of this.today(midnight)) {
      if (event.type !== "PAYMENT_CREATED") continue;
      const hour = hours[event.at.getHours()];
      hour.count += 1;
      addTo(hour.totals, event.payment.amount);
    }
    return hours;
  }

  *today(midnight) {
    const end = new Date(midnight);
    end.setDate(end.getDate() + 1);
    for (const event of this.events.values()) {
      if (event.at >= midnight && event.at < end) yield event;
    }
  }
}

function addTo(totals, money) {
  const { units, scale } = minorUnits(money.amount);
  const total = totals.get(money.currency) ?? { units: 0, scale };
  total.units += units;
  totals.set(money.currency, total);
}

/** Totals per currency for people, e.g. "$1,234.50" (or "$10.00 · €5.00"). */
export function formatTotals(totals, locale) {
  if (totals.size === 0) return formatMoney({ units: 0, scale: 2 }, "USD", locale);
  return [...totals].map(([currency, total]) => formatMoney(total, currency, locale)).join(" · ");
}

function formatMoney({ units, scale }, currency, locale) {
  const format = new Intl.NumberFormat(locale, {
    style: "currency",
    currency,
    minimumFractionDigits: scale,
    maximumFractionDigits: scale,
  });
  return format.format(units / 10 ** scale);
}
