// Drive a JMAP server with the unmodified jmap-jam library (MIT) and print what it saw, as
// JSON lines. Install once with `npm ci` (or `npm install`) in this directory, then:
//
//   NODE_EXTRA_CA_CERTS=cert.pem node tests/jmap_clients/jam_driver.mjs \
//     --session-url https://127.0.0.1:8443/.well-known/jmap --token TOKEN
//
// jmap-jam only authenticates with a bearer token (`Authorization: Bearer …`). Node reads
// NODE_EXTRA_CA_CERTS when it starts, so a test certificate is trusted through that variable.
//
// Steps (--steps, comma-separated, run in order):
//   session    the Session resource and jmap-jam's primary account (primaryAccounts[mail])
//   mailboxes  Mailbox/get with ids null
//   query      Email/query (newest first, in the inbox), then Email/get of those ids
//   refs       the same as one request: Email/query + Email/get with a #ids result reference
//              to /ids (jmap-jam's requestMany and $ref)
//
// Each step prints one {"step", "ok", ...} line. The whole run is bounded by --timeout-ms;
// every request is also aborted after that long. Exit status: 0 when every step succeeded,
// 1 when one failed (the run stops there), 2 on a timeout or bad arguments.

import { parseArgs } from "node:util";
import { JamClient } from "jmap-jam";

const STEPS = ["session", "mailboxes", "query", "refs"];
const EMAIL_PROPERTIES = ["id", "threadId", "mailboxIds", "keywords", "subject", "from",
  "receivedAt", "size", "preview"];

function emit(step, ok, fields) {
  process.stdout.write(JSON.stringify({ step, ok, ...fields }) + "\n");
}

function describe(error) {
  // jmap-jam throws the problem details or method error object itself, not an Error.
  if (error instanceof Error) {
    const cause = error.cause ? `: ${describe(error.cause)}` : "";
    return `${error.name}: ${error.message}${cause}`;
  }
  return JSON.stringify(error);
}

let options;
try {
  ({ values: options } = parseArgs({
    options: {
      "session-url": { type: "string" },
      token: { type: "string" },
      steps: { type: "string", default: STEPS.join(",") },
      limit: { type: "string", default: "10" },
      "timeout-ms": { type: "string", default: "60000" },
    },
  }));
} catch (error) {
  process.stderr.write(`${error.message}\n`);
  process.exit(2);
}
const steps = options.steps.split(",");
const unknown = steps.filter((step) => !STEPS.includes(step));
if (!options["session-url"] || !options.token || unknown.length) {
  process.stderr.write("usage: jam_driver.mjs --session-url URL --token TOKEN "
    + `[--steps ${STEPS.join(",")}] [--limit N] [--timeout-ms MS]\n`);
  process.exit(2);
}
const timeoutMs = Number(options["timeout-ms"]);
const limit = Number(options.limit);

let current = "start";
const watchdog = setTimeout(() => {
  emit(current, false, { error: `timed out after ${timeoutMs} ms` });
  process.exit(2);
}, timeoutMs);
watchdog.unref();

// The constructor starts fetching the Session at once (without a timeout of its own: the
// watchdog above bounds it).
const jam = new JamClient({ sessionUrl: options["session-url"], bearerToken: options.token });
const requestOptions = () => ({ fetchInit: { signal: AbortSignal.timeout(timeoutMs) } });
const state = { accountId: null, inbox: null };

const run = {
  async session() {
    const session = await jam.session;
    state.accountId = await jam.getPrimaryAccount();
    return { session, accountId: state.accountId };
  },
  async mailboxes() {
    const [response, meta] = await jam.api.Mailbox.get(
      { accountId: state.accountId, ids: null }, requestOptions());
    const inbox = response.list.find((m) => m.role === "inbox")
      ?? response.list.find((m) => (m.name ?? "").toUpperCase() === "INBOX");
    state.inbox = inbox ? inbox.id : null;
    return { response, sessionState: meta.sessionState, inbox: state.inbox };
  },
  async query() {
    const filter = state.inbox ? { inMailbox: state.inbox } : null;
    const [query] = await jam.api.Email.query({
      accountId: state.accountId, filter,
      sort: [{ property: "receivedAt", isAscending: false }], limit, calculateTotal: true,
    }, requestOptions());
    const [emails] = await jam.api.Email.get(
      { accountId: state.accountId, ids: query.ids, properties: EMAIL_PROPERTIES },
      requestOptions());
    return { query, emails };
  },
  async refs() {
    const filter = state.inbox ? { inMailbox: state.inbox } : null;
    const [results] = await jam.requestMany((b) => {
      const query = b.Email.query({
        accountId: state.accountId, filter,
        sort: [{ property: "receivedAt", isAscending: false }], limit,
      });
      const emails = b.Email.get({
        accountId: state.accountId, ids: query.$ref("/ids"), properties: EMAIL_PROPERTIES,
      });
      return { query, emails };
    }, requestOptions());
    return { results };
  },
};

let status = 0;
try {
  for (const step of steps) {
    current = step;
    emit(step, true, await run[step]());
  }
} catch (error) {
  emit(current, false, { error: describe(error) });
  status = 1;
}
process.exit(status);
