// Interop: FAST (XEP-0484) with the real @xmpp/client 0.14 against the real server. The client
// gets a stable client id (its <user-agent id>) and a token store of the test's own
// (xmpp.fast.fetchToken/saveToken/deleteToken), as an application would wire it.
import { test, before, after, afterEach, describe } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import type { Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { startServer, type TestServer } from "../helpers/server.js";
import { xml } from "./xmppjs-client.js";
import { client, type Client, type Element } from "@xmpp/client"; // typed by test/types/xmpp-client.d.ts

const DAY = 86400_000;

interface StoredToken {
  mechanism: string;
  token: string;
  expiry: string;
}

/** What an application keeps between runs: the current token, plus a log of what the client did with it. */
class TokenStore {
  token: StoredToken | undefined;
  saved: StoredToken[] = [];
  deletes = 0;
  constructor(token?: StoredToken) {
    this.token = token;
  }
}

interface FastOptions {
  username: string;
  /** Undefined: the client has only its token. */
  password?: string;
  clientId: string;
  store: TokenStore;
  resource?: string;
}

let userCount = 0;
let clientCount = 0;
const live: FastClient[] = [];

function newClientId(): string {
  return `3b6f0c1d-0000-4000-8000-${String(++clientCount).padStart(12, "0")}`;
}

class FastClient {
  readonly xmpp: Client;
  readonly wire: string[] = [];
  readonly errors: Error[] = [];

  constructor(
    service: string,
    readonly opts: FastOptions,
  ) {
    const userAgent = xml("user-agent", { id: opts.clientId }, xml("software", {}, "warden-fast-interop"), xml("device", {}, "test"));
    this.xmpp = client({ service, domain: "localhost", username: opts.username, password: opts.password, resource: opts.resource, userAgent, timeout: 20_000 });
    const store = opts.store;
    this.xmpp.fast.fetchToken = async () => store.token;
    this.xmpp.fast.saveToken = async (t: StoredToken) => {
      store.token = t;
      store.saved.push(t);
    };
    this.xmpp.fast.deleteToken = async () => {
      store.token = undefined;
      store.deletes++;
    };
    this.xmpp.on("error", (err: Error) => {
      this.errors.push(err);
    });
    this.xmpp.on("element", (el: Element) => {
      this.wire.push(`IN:  ${el}`);
    });
    this.xmpp.on("send", (el: Element) => {
      this.wire.push(`OUT: ${el}`);
    });
    live.push(this);
  }

  wireLog(): string {
    return "--- wire ---\n" + this.wire.join("\n");
  }

  /** Starts and waits until online; fails (with the wire log) on the first error instead of waiting forever. */
  async start(): Promise<string> {
    const failed = once(this.xmpp, "error").then(([err]) => {
      throw err;
    });
    try {
      const address = await Promise.race([this.xmpp.start(), failed]);
      return String(address);
    } catch (err) {
      throw new Error(
        `login as ${this.opts.username} failed: ${(err as Error).message || (err as Error).name} (${(err as { condition?: string }).condition ?? ""})\n${this.wireLog()}`,
      );
    } finally {
      failed.catch(() => {});
    }
  }

  /** Starts and expects the login to fail; returns the error the client emitted. */
  async startExpectingError(): Promise<Error & { condition?: string; text?: string }> {
    const failed = once(this.xmpp, "error").then(([err]) => err as Error);
    const started = this.xmpp.start().then(
      () => undefined,
      () => undefined,
    );
    const r = await Promise.race([failed, started]);
    if (!r) throw new Error(`login as ${this.opts.username} was expected to fail but went online\n${this.wireLog()}`);
    return r;
  }

  /** The XML lines the client sent that start with this element. */
  sent(name: string): string[] {
    return this.wire.filter((l) => l.startsWith(`OUT: <${name}`));
  }
  received(name: string): string[] {
    return this.wire.filter((l) => l.startsWith(`IN:  <${name}`));
  }

  async stop(): Promise<void> {
    this.xmpp.reconnect.stop();
    if (this.xmpp.status === "offline") return;
    await Promise.race([this.xmpp.stop().catch(() => {}), sleep(5000, undefined, { ref: false })]);
  }
}

async function stopAll(): Promise<void> {
  await Promise.allSettled(live.splice(0).map((c) => c.stop()));
}

async function newUser(srv: TestServer, prefix: string): Promise<{ username: string; password: string; jid: string }> {
  const username = `${prefix}${++userCount}`;
  const password = `pw-${username}-secret`;
  await srv.addUser(username, password);
  return { username, password, jid: `${username}@localhost` };
}

function service(srv: TestServer): string {
  return `xmpp://127.0.0.1:${srv.c2sPort}`;
}

/** Asserts the client logged in with FAST (HT-SHA-256-NONE, <fast/>) and nothing else on this connection. */
function assertFastLogin(c: FastClient): void {
  const auths = c.sent("authenticate");
  assert.equal(auths.length, 1, `one <authenticate/>: ${c.wireLog()}`);
  assert.match(auths[0]!, /mechanism="HT-SHA-256-NONE"/, c.wireLog());
  assert.match(auths[0]!, /<fast xmlns="urn:xmpp:fast:0"\/>/, c.wireLog());
  assert.doesNotMatch(auths[0]!, /<request-token/, "no token requested while one is held");
  assert.equal(c.sent("response").length, 0, "HT is a single round trip: no <response/>");
}

describe("FAST with default token lifetimes", () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ login_failure_window: 1 });
  });
  afterEach(stopAll);
  after(async () => {
    await stopAll();
    await server?.stop();
  });

  test("the first login with the password requests a FAST token, which is saved with a 21-day expiry", async () => {
    const user = await newUser(server, "first");
    const store = new TokenStore();
    const c = new FastClient(service(server), { ...user, clientId: newClientId(), store, resource: "laptop" });
    const before = Date.now();
    const jid = await c.start();
    assert.match(jid, new RegExp(`^${user.jid}/laptop~`), "bound with Bind2");
    const auths = c.sent("authenticate");
    assert.equal(auths.length, 1, c.wireLog());
    assert.match(auths[0]!, /mechanism="SCRAM-SHA-1"/);
    assert.match(auths[0]!, /<request-token xmlns="urn:xmpp:fast:0" mechanism="HT-SHA-256-NONE"\/>/, `the client asks for a token: ${c.wireLog()}`);
    assert.equal(store.saved.length, 1, `one token saved: ${c.wireLog()}`);
    const t = store.saved[0]!;
    assert.equal(t.mechanism, "HT-SHA-256-NONE");
    assert.match(t.token, /^secret-token:fast-[A-Za-z0-9_-]{36}$/);
    const expiry = Date.parse(t.expiry);
    assert.ok(expiry >= before + 21 * DAY - 60_000 && expiry <= Date.now() + 21 * DAY + 60_000, `expiry ${t.expiry} is 21 days after issue`);
    assert.deepEqual(store.token, t);
  });

  test("a second connection with the token and no password logs in with HT-SHA-256-NONE", async () => {
    const user = await newUser(server, "second");
    const clientId = newClientId();
    const store = new TokenStore();
    const first = new FastClient(service(server), { ...user, clientId, store });
    await first.start();
    await first.stop();
    const token = store.token;
    assert.ok(token, "a token after the first login");
    const c = new FastClient(service(server), { username: user.username, password: undefined, clientId, store });
    const jid = await c.start();
    assert.ok(jid.startsWith(user.jid), jid);
    assertFastLogin(c);
    assert.ok(c.received("success").length === 1, c.wireLog());
    assert.deepEqual(store.token, token, "the token is kept (no rotation for a young token)");
    assert.equal(store.saved.length, 1);
    // The session works.
    const pong = await c.xmpp.iqCaller.request(xml("iq", { type: "get", to: "localhost" }, xml("ping", { xmlns: "urn:xmpp:ping" })), 10_000);
    assert.equal(pong.attrs.type, "result");
  });

  test("after a password change the token gets credentials-expired: the client deletes it and logs in with the new password", async () => {
    const user = await newUser(server, "pwchange");
    const clientId = newClientId();
    const store = new TokenStore();
    const first = new FastClient(service(server), { ...user, clientId, store });
    await first.start();
    await first.stop();
    const old = store.token;
    assert.ok(old);
    const r = await server.cli(["user", "passwd", user.jid], "a-new-password\n");
    assert.equal(r.code, 0, r.stderr);
    const deletes = store.deletes;
    const c = new FastClient(service(server), { username: user.username, password: "a-new-password", clientId, store });
    await c.start();
    const auths = c.sent("authenticate");
    assert.equal(auths.length, 2, `FAST, then the password on the same stream: ${c.wireLog()}`);
    assert.match(auths[0]!, /mechanism="HT-SHA-256-NONE"/);
    assert.match(auths[1]!, /mechanism="SCRAM-SHA-1"/);
    assert.match(auths[1]!, /<request-token xmlns="urn:xmpp:fast:0" mechanism="HT-SHA-256-NONE"\/>/);
    const failures = c.received("failure");
    assert.equal(failures.length, 1, c.wireLog());
    assert.match(
      failures[0]!,
      /<credentials-expired xmlns="urn:ietf:params:xml:ns:xmpp-sasl"\/>/,
      `the old token is expired by the password change: ${c.wireLog()}`,
    );
    assert.equal(store.deletes, deletes + 1, "the client deleted the old token");
    assert.ok(store.token && store.token.token !== old.token, "and saved a new one");
    await c.stop();
    // The new token works on its own.
    const again = new FastClient(service(server), { username: user.username, password: undefined, clientId, store });
    await again.start();
    assertFastLogin(again);
  });

  test("a client revoked with shell revoke_client: its token fails with not-authorized, and so does its password until the password changes", async () => {
    const user = await newUser(server, "revoked");
    const clientId = newClientId();
    const store = new TokenStore();
    const first = new FastClient(service(server), { ...user, clientId, store });
    await first.start();
    await first.stop();
    assert.ok(store.token);
    const r = await server.cli(["shell", "user", "revoke_client", user.jid, `client/${clientId}`]);
    assert.match(r.stdout, /Client access revoked|Password reset required/, `${r.stdout} ${r.stderr}`);
    const deletes = store.deletes;
    const c = new FastClient(service(server), { ...user, clientId, store });
    const err = await c.startExpectingError();
    const failures = c.received("failure");
    assert.equal(c.sent("authenticate").length, 2, `FAST, then the password: ${c.wireLog()}`);
    assert.match(failures[0] ?? "", /<not-authorized/, `the revoked token is refused: ${c.wireLog()}`);
    assert.equal(store.deletes, deletes + 1, "the client deleted the refused token");
    assert.equal(err.condition, "not-authorized", `the password login of the revoked client is refused too: ${c.wireLog()}`);
    await c.stop();
    // A password change lifts the revocation for new logins with the new password.
    const pw = await server.cli(["user", "passwd", user.jid], "after-revocation\n");
    assert.equal(pw.code, 0, pw.stderr);
    const back = new FastClient(service(server), { username: user.username, password: "after-revocation", clientId, store });
    await back.start();
    assert.ok(store.token, "a fresh token");
  });

  test("stream resumption after the socket is cut: the client reconnects with FAST and resumes its session", async () => {
    const user = await newUser(server, "resume");
    const clientId = newClientId();
    const store = new TokenStore();
    const c = new FastClient(service(server), { ...user, clientId, store, resource: "phone" });
    const jid = await c.start();
    const sm = c.xmpp.streamManagement;
    assert.ok(sm.enabled && sm.id, `stream management enabled inline with Bind2 (is src/features/stream-management/ registered?): ${c.wireLog()}`);
    assert.ok(store.token, "a token from the first login");
    const resumed = once(sm, "resumed");
    c.wire.length = 0;
    (c.xmpp.socket!.socket as Socket).destroy();
    const outcome = await Promise.race([
      resumed.then(() => "resumed"),
      once(c.xmpp, "error").then(([e]) => `error: ${e}`),
      sleep(20_000, undefined, { ref: false }).then(() => "timeout"),
    ]);
    assert.equal(outcome, "resumed", `the session was resumed after the cut: ${c.wireLog()}`);
    const auths = c.sent("authenticate");
    assert.equal(auths.length, 1, c.wireLog());
    assert.match(auths[0]!, /mechanism="HT-SHA-256-NONE"/, `the reconnection uses the FAST token: ${c.wireLog()}`);
    assert.match(auths[0]!, /<resume xmlns="urn:xmpp:sm:3"/);
    const success = c.received("success")[0] ?? "";
    assert.match(success, /<resumed xmlns="urn:xmpp:sm:3"/, c.wireLog());
    assert.doesNotMatch(success, /<bound/, "no Bind2 result when the session is resumed");
    assert.equal(String(c.xmpp.jid), jid, "same full JID after resumption");
    const pong = await c.xmpp.iqCaller.request(xml("iq", { type: "get", to: "localhost" }, xml("ping", { xmlns: "urn:xmpp:ping" })), 10_000);
    assert.equal(pong.attrs.type, "result");
  });
});

describe("FAST token rotation (sasl2_fast_token_min_ttl: 1 s)", () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ login_failure_window: 1, sasl2_fast_token_min_ttl: 1, sasl2_fast_token_ttl: 3600 });
  });
  afterEach(stopAll);
  after(async () => {
    await stopAll();
    await server?.stop();
  });

  test("a token older than min_ttl is rotated on use; the old one works until the new one is used, then fails", async () => {
    const user = await newUser(server, "rotate");
    const clientId = newClientId();
    const store = new TokenStore();
    const first = new FastClient(service(server), { ...user, clientId, store });
    await first.start();
    await first.stop();
    const t1 = store.token!;
    assert.ok(t1);
    const e1 = Date.parse(t1.expiry);
    assert.ok(e1 > Date.now() + 3000_000 && e1 <= Date.now() + 3600_000, `expiry follows sasl2_fast_token_ttl (1 h): ${t1.expiry}`);
    await sleep(1500); // older than min_ttl

    // 1. Using t1 brings a new token t2 in <success/>, without <request-token/>.
    const c2 = new FastClient(service(server), { username: user.username, clientId, store });
    await c2.start();
    assertFastLogin(c2);
    await c2.stop();
    assert.equal(store.saved.length, 2, `a new token was saved: ${c2.wireLog()}`);
    const t2 = store.token!;
    assert.notEqual(t2.token, t1.token);
    assert.equal(t2.mechanism, "HT-SHA-256-NONE");

    // 2. The old token still works while the new one is unused (a client that lost t2 is not locked out).
    const oldStore = new TokenStore(t1);
    const c3 = new FastClient(service(server), { username: user.username, clientId, store: oldStore });
    await c3.start();
    assertFastLogin(c3);
    await c3.stop();
    // That use rotated again (t1 is still older than min_ttl): the latest token replaces t2 as the unused one.
    const latest = oldStore.token!;
    assert.ok(latest && latest.token !== t1.token && latest.token !== t2.token, `t1's use issued another token: ${c3.wireLog()}`);

    // 3. The newest token is used once…
    const c4 = new FastClient(service(server), { username: user.username, clientId, store: new TokenStore(latest) });
    await c4.start();
    assertFastLogin(c4);
    await c4.stop();

    // 4. …and from then on the old token t1 fails: the client drops it and falls back to its password.
    const c5Store = new TokenStore(t1);
    const c5 = new FastClient(service(server), { ...user, clientId, store: c5Store });
    await c5.start();
    const auths = c5.sent("authenticate");
    assert.equal(auths.length, 2, `t1 refused, then the password: ${c5.wireLog()}`);
    assert.match(auths[0]!, /mechanism="HT-SHA-256-NONE"/);
    assert.match(c5.received("failure")[0] ?? "", /<not-authorized/, `t1 is refused once its successor was used: ${c5.wireLog()}`);
    assert.equal(c5Store.deletes, 1);
    assert.ok(c5Store.token && c5Store.token.token !== t1.token, "a new token from the password login");
  });
});
