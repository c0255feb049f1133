// What the page tells a person when the server will not let it follow the feed.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Refusal, refusalOf } from "../src/live.js";

test("a socket closed with 4403 is a refused token", () => {
  assert.equal(refusalOf({ code: 4403, reason: "Forbidden" }).kind, "token");
});

test("a FORBIDDEN GraphQL error on the staff feed means the token is not staff's", () => {
  const errors = [{ message: "paymentStatusFeed is for billing-office staff", extensions: { code: "FORBIDDEN" } }];
  const refusal = refusalOf(errors);
  assert.equal(refusal.kind, "staff");
  assert.equal(refusal.detail, "paymentStatusFeed is for billing-office staff");
});

test("an UNAUTHENTICATED GraphQL error is a refused token", () => {
  assert.equal(refusalOf([{ message: "sign in", extensions: { code: "UNAUTHENTICATED" } }]).kind, "token");
});

test("anything else says what happened", () => {
  const other = refusalOf([{ message: "`after` is not a valid event cursor", extensions: { code: "BAD_USER_INPUT" } }]);
  assert.equal(other.kind, "other");
  assert.equal(other.detail, "`after` is not a valid event cursor");
  assert.equal(refusalOf({ code: 4400, reason: "Bad request" }).kind, "other");
  assert.equal(refusalOf(new Refusal("staff")).kind, "staff");
});
