// The billing-office dashboard: sign in with a staff token, then watch payments live.

import { Board, midnightOf } from "./board.js";
import { LiveFeed } from "./live.js";
import { forgetToken, savedToken, saveToken } from "./session.js";
import { FEED_ROWS, render, showConnection, showMessage, showSignIn } from "./view.js";

const MINT = "carepay token billing@example.org --role staff";
const MESSAGES = {
  token:
    "The server refused this token: it is not a carepay token, has expired, or was signed " +
    `with another key. Mint a new one (\`${MINT}\`) and sign in again.`,
  staff:
    "This dashboard is for billing-office staff, and this token belongs to a member. " +
    `Sign in with a staff token (\`${MINT}\`).`,
  other: "The live feed stopped: ",
};

let live = null;
let board = null;
let fresh = new Set();
let drawing = null;

/** Redraw soon, once for a burst of events (a replay brings many at a time). */
function redraw(paymentId) {
  if (paymentId !== undefined) fresh.add(paymentId);
  if (drawing !== null) return;
  drawing = setTimeout(() => {
    drawing = null;
    if (board !== null) render(board, fresh);
    fresh = new Set();
  }, 30);
}

function open(token) {
  const mine = new Board();
  board = mine;
  showMessage(null);
  showSignIn(true);
  render(mine);
  live = new LiveFeed(token, {
    state: showConnection,
    start(viewer, payments) {
      showSignIn(true, viewer.name);
      mine.load(payments);
      redraw();
    },
    event(event) {
      mine.apply(event);
      redraw(event.payment.id);
    },
    refused(refusal) {
      live = null;
      if (refusal.kind === "other") {
        showMessage(MESSAGES.other + refusal.detail);
        return;
      }
      forgetToken();
      showSignIn(false);
      showMessage(MESSAGES[refusal.kind]);
    },
  });
  live.start(midnightOf(new Date()));
}

function signOut() {
  live?.stop();
  live = null;
  board = null;
  forgetToken();
  showMessage(null);
  showSignIn(false);
}

document.getElementById("sign-in").addEventListener("submit", (event) => {
  event.preventDefault();
  const field = document.getElementById("token");
  if (!field.value.trim()) return;
  const token = saveToken(field.value);
  field.value = "";
  open(token);
});
document.getElementById("sign-out").addEventListener("click", signOut);
// Counters and the chart are today's: refresh them as the clock moves (and past midnight),
// and let go of what no longer shows, so a dashboard left open for weeks stays small.
setInterval(() => {
  if (board === null) return;
  board.prune(midnightOf(new Date()), FEED_ROWS);
  redraw();
}, 60_000);

const token = savedToken();
if (token) open(token);
else showSignIn(false);
