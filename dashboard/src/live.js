// The live connection: graphql-ws to /graphql on this host, signed in with the staff token.
//
// Once connected it loads the start (where events stood at local midnight, recent and
// in-flight payments), then follows paymentStatusFeed after that cursor. After every
// reconnect it subscribes again after the last event it received, so a payment made
// while the server restarted arrives from the outbox, once.

import { createClient } from "graphql-ws";
import { FEED, IN_FLIGHT, START } from "./documents.js";

const FORBIDDEN = 4403; // carepay closes the socket with it for a bad or missing token

/** Why the dashboard cannot go on: "token", "staff" or "other" (with a detail). */
export class Refusal extends Error {
  constructor(kind, detail = "") {
    super(detail || kind);
    this.kind = kind;
    this.detail = detail;
  }
}

function socketUrl() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/graphql`;
}

function isClose(value) {
  return typeof value === "object" && value !== null && "code" in value && "reason" in value;
}

function retryWait(retries) {
  // Soon at first (a restart takes a second or two), then every 5 s at most.
  const wait = Math.min(500 * 2 ** retries, 5000) + Math.random() * 250;
  return new Promise((resolve) => setTimeout(resolve, wait));
}

/** The refusal an error stands for: a 4403 close, a coded GraphQL error, or anything else. */
export function refusalOf(error) {
  if (error instanceof Refusal) return error;
  if (isClose(error)) {
    if (error.code === FORBIDDEN) return new Refusal("token", error.reason);
    return new Refusal("other", `connection closed (${error.code} ${error.reason})`.trim());
  }
  if (Array.isArray(error)) {
    const codes = error.map((e) => e.extensions?.code);
    if (codes.includes("FORBIDDEN")) return new Refusal("staff", error[0].message);
    if (codes.includes("UNAUTHENTICATED")) return new Refusal("token", error[0].message);
    return new Refusal("other", error.map((e) => e.message).join("; "));
  }
  return new Refusal("other", String(error?.message ?? error));
}

const nodes = (connection) => connection.edges.map((edge) => edge.node);

export class LiveFeed {
  /** `on`: { state(name), start(viewer, payments), event(event), refused(Refusal) }. */
  constructor(token, on) {
    this.token = token;
    this.on = on;
    this.cursor = null; // the last event received (or local midnight's, before any)
    this.open = false;
    this.loading = false;
    this.feed = null; // disposes the current paymentStatusFeed subscription
    this.generation = 0; // callbacks of an older subscription are ignored
    this.stopped = false;
  }

  /** Connect and follow the feed from local `midnight` on. */
  start(midnight) {
    this.midnight = midnight;
    this.on.state("connecting");
    this.client = createClient({
      url: socketUrl(),
      lazy: false,
      retryAttempts: Infinity,
      retryWait,
      // Retry whatever breaks the connection (a browser reports an unreachable server as
      // an error event), except carepay refusing the token.
      shouldRetry: (error) => !(isClose(error) && error.code === FORBIDDEN),
      connectionParams: { authorization: `Bearer ${this.token}` },
      onNonLazyError: (error) => this.fail(error),
      on: {
        connecting: (retrying) => this.stopped || this.on.state(retrying ? "reconnecting" : "connecting"),
        connected: () => this.connected(),
        closed: (event) => this.closed(event),
      },
    });
  }

  /** Disconnect for good. */
  stop() {
    this.stopped = true;
    this.generation += 1;
    this.feed?.();
    this.client?.dispose();
  }

  connected() {
    if (this.stopped) return;
    this.open = true;
    this.on.state("live");
    if (this.cursor !== null) {
      this.follow();
    } else if (!this.loading) {
      this.loading = true;
      this.load().catch((error) => this.fail(error));
    }
  }

  closed(event) {
    this.open = false;
    this.generation += 1;
    this.feed?.();
    this.feed = null;
    if (this.stopped) return;
    if (isClose(event) && event.code === FORBIDDEN) {
      this.fail(event);
      return;
    }
    this.on.state("reconnecting");
  }

  async load() {
    const data = await this.request(START, { midnight: this.midnight.toISOString() });
    if (this.stopped) return;
    if (data.viewer.role !== "STAFF") throw new Refusal("staff");
    const payments = [...nodes(data.recent), ...nodes(data.inFlight)];
    let page = data.inFlight.pageInfo;
    while (page.hasNextPage) {
      const more = await this.request(IN_FLIGHT, { after: page.endCursor });
      if (this.stopped) return;
      payments.push(...nodes(more.inFlight));
      page = more.inFlight.pageInfo;
    }
    this.on.start(data.viewer, payments);
    this.cursor = data.start;
    this.loading = false;
    this.follow();
  }

  /** One query over the socket (graphql-ws sends it again if the socket drops meanwhile). */
  request(query, variables) {
    return new Promise((resolve, reject) => {
      let result = null;
      this.client.subscribe(
        { query, variables },
        {
          next: (value) => {
            result = value;
          },
          error: reject,
          complete: () => {
            if (result?.errors) reject(result.errors);
            else if (result?.data) resolve(result.data);
            else if (!this.stopped) reject(new Error("no answer to the start query"));
          },
        },
      );
    });
  }

  follow() {
    if (!this.open || this.feed !== null || this.stopped) return;
    const generation = ++this.generation;
    const current = () => generation === this.generation && !this.stopped;
    this.feed = this.client.subscribe(
      { query: FEED, variables: { after: this.cursor } },
      {
        next: (result) => {
          if (!current()) return;
          if (result.errors) {
            this.fail(result.errors);
            return;
          }
          const event = result.data.paymentStatusFeed;
          this.cursor = event.cursor;
          this.on.event(event);
        },
        error: (error) => current() && this.fail(error),
        complete: () => {
          // The server ended the stream while the socket stays up: follow again.
          if (!current()) return;
          this.feed = null;
          setTimeout(() => this.follow(), 1000);
        },
      },
    );
  }

  fail(error) {
    if (this.stopped) return;
    this.stop();
    this.on.state("stopped");
    this.on.refused(refusalOf(error));
  }
}
