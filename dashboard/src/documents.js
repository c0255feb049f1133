// The GraphQL documents the dashboard sends, all over the one WebSocket.

const PAYMENT = `
  id status createdAt settledAt
  amount { amount currency formatted }
  account { accountNumber }
  member { name }
  method { kind brand last4 bankName }
`;

// Where events stood at local midnight, plus the payments to show before any event arrives:
// the newest ones, and every one still in flight (for the "Processing" counter).
export const START = `
query DashboardStart($midnight: DateTime!) {
  viewer { name role }
  start: paymentEventCursor(occurredBefore: $midnight)
  recent: payments(first: 30) { edges { node { ${PAYMENT} } } }
  inFlight: payments(first: 100, filter: { status: [PENDING, PROCESSING] }) {
    pageInfo { hasNextPage endCursor }
    edges { node { ${PAYMENT} } }
  }
}`;

export const IN_FLIGHT = `
query DashboardInFlight($after: String!) {
  inFlight: payments(first: 100, after: $after, filter: { status: [PENDING, PROCESSING] }) {
    pageInfo { hasNextPage endCursor }
    edges { node { ${PAYMENT} } }
  }
}`;

// Every account's payment events after a cursor: first the stored ones, then live.
export const FEED = `
subscription DashboardFeed($after: String!) {
  paymentStatusFeed(after: $after) {
    cursor type occurredAt
    payment { ${PAYMENT} }
  }
}`;
