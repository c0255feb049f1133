// Drawing the board: feed rows, counters, chart, connection state and messages.
// Text only goes in through textContent: names and numbers from the API are never markup.

import { formatTotals, midnightOf } from "./board.js";
import { drawChart } from "./chart.js";

export const FEED_ROWS = 50;
const STATES = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  stopped: "Disconnected",
};

const $ = (id) => document.getElementById(id);

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function when(date, midnight) {
  const time = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  if (date >= midnight) return time;
  return `${date.toLocaleDateString([], { month: "short", day: "numeric" })} ${time}`;
}

function method(payment) {
  const m = payment.method;
  if (!m) return payment.kind === "ACH" ? "Bank account" : "Card";
  const name = m.kind === "CARD" ? (m.brand ?? "card") : (m.bankName ?? "Bank account");
  return `${name[0].toUpperCase()}${name.slice(1)} •••• ${m.last4}`;
}

function statusBadge(status) {
  const td = document.createElement("td");
  const badge = document.createElement("span");
  badge.className = `status status-${status.toLowerCase()}`;
  badge.textContent = status[0] + status.slice(1).toLowerCase();
  td.append(badge);
  return td;
}

function row({ payment, changedAt }, midnight, fresh) {
  const tr = document.createElement("tr");
  tr.dataset.payment = payment.id;
  tr.dataset.status = payment.status;
  if (fresh) tr.className = "fresh";
  tr.append(
    cell(when(changedAt, midnight), "time"),
    cell(payment.account.accountNumber),
    cell(payment.member.name),
    cell(payment.amount.formatted, "num amount"),
    cell(method(payment)),
    statusBadge(payment.status),
  );
  return tr;
}

/** Redraw everything from the board; rows whose payment id is in `fresh` flash once. */
export function render(board, fresh = new Set(), now = new Date()) {
  const midnight = midnightOf(now);
  const rows = board.rows(FEED_ROWS);
  $("feed").replaceChildren(...rows.map((r) => row(r, midnight, fresh.has(r.payment.id))));
  $("empty").hidden = rows.length > 0;
  const counters = board.counters(midnight);
  $("succeeded-count").textContent = counters.succeeded;
  $("succeeded-total").textContent = formatTotals(counters.totals);
  $("processing-count").textContent = counters.processing;
  $("failed-count").textContent = counters.failed;
  $("returned-count").textContent = counters.returned;
  drawChart($("chart"), board.hours(midnight), now);
}

/** Show the connection state: connecting, live, reconnecting or stopped. */
export function showConnection(state) {
  const pill = $("connection");
  pill.hidden = false;
  pill.dataset.state = state;
  pill.textContent = STATES[state];
}

/** A message for the person (null hides it). */
export function showMessage(text) {
  $("message").hidden = text === null;
  $("message").textContent = text ?? "";
}

/** The sign-in form, or the board of a signed-in viewer. */
export function showSignIn(signedIn, viewerName = "") {
  $("sign-in").hidden = signedIn;
  $("board").hidden = !signedIn;
  $("signed-in").hidden = !signedIn;
  $("viewer-name").textContent = viewerName;
  if (!signedIn) $("connection").hidden = true;
}
