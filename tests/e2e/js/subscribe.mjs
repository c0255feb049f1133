// Subscribe with the reference graphql-ws client and print one JSON line per message.
//   node subscribe.mjs <ws-url> <token|-> <query> [variables-json] [count]
// Lines: {"ready":true} once acknowledged, {"next":payload} per result, then
// {"complete":true} after `count` results, {"error":...} or {"closed":code}.
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [url, token, query, variables = "{}", count = "1"] = process.argv.slice(2);
const wanted = Number(count);
const print = (line) => process.stdout.write(JSON.stringify(line) + "\n");

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  lazy: false,
  retryAttempts: 0,
  connectionParams: token === "-" ? {} : { authorization: `Bearer ${token}` },
  on: {
    connected: () => print({ ready: true }),
    closed: (event) => print({ closed: event.code, reason: event.reason }),
  },
});

let received = 0;
const finish = async (code) => {
  await client.dispose();
  process.exit(code);
};
client.subscribe(
  { query, variables: JSON.parse(variables) },
  {
    next: (payload) => {
      print({ next: payload });
      received += 1;
      if (received >= wanted) {
        print({ complete: true });
        finish(0);
      }
    },
    error: (error) => {
      const detail = Array.isArray(error)
        ? error
        : { code: error.code, reason: error.reason, message: String(error.message ?? error) };
      print({ error: detail });
      finish(1);
    },
    complete: () => finish(0),
  },
);
