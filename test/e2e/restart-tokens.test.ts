// FAST tokens and their grants are stored, not kept in memory: they survive a clean restart
// and a kill -9, and so does their revocation and the replay counter.
import { test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { startServer, type TestServer } from "../helpers/server.js";
import type { RawClient } from "../helpers/raw-client.js";
import { show, type XmlEl } from "../helpers/xml.js";
import { assertSasl2Failure, ht2, requestTokenXml, sasl2Stream, scram2, tokenOf } from "../helpers/sasl2-client.js";
import type { ClientRow } from "../../src/clients/admin.js";

let server: TestServer;
const clients: RawClient[] = [];
let userCount = 0;
let clientCount = 0;

before(async () => {
  server = await startServer({ login_failure_window: 1 });
});

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

after(async () => {
  await server?.stop();
});

interface User {
  username: string;
  password: string;
  jid: string;
}

async function newUser(prefix: string): Promise<User> {
  const username = `${prefix}${++userCount}`;
  const password = `pw-${username}`;
  await server.addUser(username, password);
  return { username, password, jid: `${username}@localhost` };
}

function newClientId(): string {
  return `7c0f3a9e-0000-4000-8000-${String(++clientCount).padStart(12, "0")}`;
}

async function stream(): Promise<RawClient> {
  const { c } = await sasl2Stream(server.c2sPort);
  clients.push(c);
  return c;
}

async function issueToken(user: User, clientId: string): Promise<string> {
  const c = await stream();
  const r = await scram2(c, user.username, user.password, { userAgent: { id: clientId, software: "restart-test" }, extra: requestTokenXml() });
  assert.equal(r.name, "success", show(r));
  const t = tokenOf(r);
  assert.ok(t, `no <token/>: ${show(r)}`);
  c.close();
  return t.token;
}

async function fast(user: User, clientId: string, token: string, count?: number): Promise<XmlEl> {
  const c = await stream();
  const r = await ht2(c, user.username, token, { userAgent: { id: clientId }, fast: count === undefined ? {} : { count } });
  c.close();
  return r;
}

async function expectFastOk(user: User, clientId: string, token: string, what: string, count?: number): Promise<void> {
  const r = await fast(user, clientId, token, count);
  assert.equal(r.name, "success", `${what}: expected success, got ${show(r)}`);
}

async function expectFastRefused(user: User, clientId: string, token: string, what: string, count?: number): Promise<void> {
  const r = await fast(user, clientId, token, count);
  assert.equal(r.name, "failure", `${what}: expected not-authorized, got ${show(r)}`);
  assertSasl2Failure(r, "not-authorized");
}

async function clientsOf(user: User): Promise<ClientRow[]> {
  const r = await server.cli(["shell", "user", "clients", user.jid, "--json"]);
  assert.equal(r.code, 0, `shell user clients failed: ${r.stdout} ${r.stderr}`);
  return JSON.parse(r.stdout) as ClientRow[];
}

test("a FAST token and its grant survive a restart: the token logs in after server.restart()", async () => {
  const user = await newUser("restart");
  const used = newClientId();
  const unused = newClientId();
  const tUsed = await issueToken(user, used);
  await expectFastOk(user, used, tUsed, "before the restart");
  const tUnused = await issueToken(user, unused);
  await server.restart();
  await expectFastOk(user, used, tUsed, "a used ('cur') token after the restart");
  await expectFastOk(user, unused, tUnused, "a never-used ('new') token after the restart");
  const rows = await clientsOf(user);
  for (const id of [used, unused]) {
    const row = rows.find((r) => r.id === `client/${id}`);
    assert.ok(row, `client/${id} is listed after the restart: ${JSON.stringify(rows)}`);
    assert.ok(row.auth.includes("fast"), `client/${id} still holds a FAST token: ${JSON.stringify(row)}`);
  }
});

test("a token revoked (shell revoke_client) before a restart stays refused after it", async () => {
  const user = await newUser("revoked");
  const clientId = newClientId();
  const keep = newClientId();
  const token = await issueToken(user, clientId);
  const kept = await issueToken(user, keep);
  await expectFastOk(user, clientId, token, "before revocation");
  const r = await server.cli(["shell", "user", "revoke_client", user.jid, `client/${clientId}`]);
  assert.match(r.stdout, /Client access revoked|Password reset required/, `revoke_client: ${r.stdout} ${r.stderr}`);
  await expectFastRefused(user, clientId, token, "after revocation");
  await server.restart();
  await expectFastRefused(user, clientId, token, "revoked, after the restart");
  await expectFastOk(user, keep, kept, "another client's token, after the restart");
});

test("the replay counter survives a restart", async () => {
  const user = await newUser("count");
  const clientId = newClientId();
  const token = await issueToken(user, clientId);
  await expectFastOk(user, clientId, token, "count=5", 5);
  await server.restart();
  await expectFastRefused(user, clientId, token, "count=5 again after the restart", 5);
  await expectFastOk(user, clientId, token, "count=6 after the restart", 6);
});

test("after kill -9 and a new start: tokens still log in, and a revoked token stays refused", async () => {
  const user = await newUser("killed");
  const live = newClientId();
  const gone = newClientId();
  const tLive = await issueToken(user, live);
  const tGone = await issueToken(user, gone);
  await expectFastOk(user, gone, tGone, "before revocation");
  const r = await server.cli(["shell", "user", "revoke_client", user.jid, `client/${gone}`]);
  assert.match(r.stdout, /Client access revoked|Password reset required/, `revoke_client: ${r.stdout} ${r.stderr}`);
  // A token issued just before the kill: its commit must be durable.
  const tLast = await issueToken(user, live);
  await server.kill();
  await server.start();
  await expectFastRefused(user, gone, tGone, "revoked, after kill -9");
  await expectFastOk(user, live, tLast, "the last token issued before kill -9");
  // tLive was overwritten in the 'new' slot by tLast (never used), so it no longer works.
  await expectFastRefused(user, live, tLive, "an unused token overwritten before kill -9");
});
