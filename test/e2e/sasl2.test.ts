// SASL2 (XEP-0388), Bind2 (XEP-0386) and FAST (XEP-0484) over raw sockets against the real
// server: the compatibility checklist items 38–56 of the reference specification, plus the
// reference's defects that Warden fixes (count is enforced, <request-token> only for advertised
// mechanisms, FAST offered without a stream 'from', secrets sealed at rest, revocation closes
// live sessions).
import { test, before, after, afterEach, describe } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type tls from "node:tls";
import Database from "better-sqlite3";
import { startServer, type TestServer } from "../helpers/server.js";
import { RawClient } from "../helpers/raw-client.js";
import { child, NS_SASL, NS_STREAM, show, type XmlEl } from "../helpers/xml.js";
import { expectStreamError, ping, waitForElement } from "../helpers/xmpp-assert.js";
import {
  NS_BIND2,
  NS_CARBONS,
  NS_FAST,
  NS_SASL2,
  assertSasl2Failure,
  authenticateOnce,
  authenticateXml,
  authzIdOf,
  bindXml,
  expectSasl2Failure,
  expectSasl2Success,
  ht2,
  htInitialResponse,
  htResponderProof,
  plain2,
  plainInitialResponse,
  requestTokenXml,
  sasl2Result,
  sasl2Stream,
  scram2,
  tokenOf,
} from "../helpers/sasl2-client.js";

const DAY = 86400_000;

let server: TestServer;
const clients: RawClient[] = [];
let userCount = 0;
let clientCount = 0;

before(async () => {
  // A 1-second failure window keeps the growing failure delay of the login throttle short:
  // these tests fail many logins on purpose.
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

async function newUser(prefix: string, srv: TestServer = server): Promise<User> {
  const username = `${prefix}${++userCount}`;
  const password = `pw-${username}`;
  await srv.addUser(username, password);
  return { username, password, jid: `${username}@localhost` };
}

/** A client id unique to the run, so tests never share FAST grants. */
function newClientId(): string {
  return `0d1f5c2e-0000-4000-8000-${String(++clientCount).padStart(12, "0")}`;
}

async function stream(opts: { from?: string; srv?: TestServer } = {}): Promise<{ c: RawClient; features: XmlEl }> {
  const r = await sasl2Stream((opts.srv ?? server).c2sPort, { from: opts.from });
  clients.push(r.c);
  return r;
}

function authentication(features: XmlEl): XmlEl | undefined {
  return child(features, "authentication", NS_SASL2);
}

function fastMechanismsOf(features: XmlEl): string[] | undefined {
  const fast = child(child(authentication(features) ?? features, "inline", NS_SASL2) ?? features, "fast", NS_FAST);
  return fast?.children.filter((ch) => ch.name === "mechanism").map((ch) => ch.text);
}

/** A password login (SCRAM-SHA-256) with <request-token/>; returns the token and closes the stream. */
async function issueToken(user: User, clientId: string, mechanism = "HT-SHA-256-NONE"): Promise<{ token: string; expiry: string }> {
  const { c } = await stream();
  const result = await scram2(c, user.username, user.password, { userAgent: { id: clientId, software: "warden-test" }, extra: requestTokenXml(mechanism) });
  assert.equal(result.name, "success", `password login with <request-token/> failed: ${show(result)}`);
  const t = tokenOf(result);
  assert.ok(t, `no <token/> in ${show(result)}`);
  c.close();
  return t;
}

/** A FAST login on a fresh stream; returns the final element (and the stream, still open). */
async function fastLogin(user: User, clientId: string, token: string, opts: Parameters<typeof ht2>[3] = {}): Promise<{ c: RawClient; result: XmlEl }> {
  const { c } = await stream();
  const result = await ht2(c, user.username, token, { userAgent: { id: clientId }, ...opts });
  return { c, result };
}

async function expectFastOk(user: User, clientId: string, token: string, opts: Parameters<typeof ht2>[3] = {}, what = "FAST login"): Promise<XmlEl> {
  const { c, result } = await fastLogin(user, clientId, token, opts);
  assert.equal(result.name, "success", `${what}: expected success, got ${show(result)}`);
  c.close();
  return result;
}

async function expectFastFails(
  user: User,
  clientId: string,
  token: string,
  condition: string,
  opts: Parameters<typeof ht2>[3] = {},
  what = "FAST login",
): Promise<XmlEl> {
  const { c, result } = await fastLogin(user, clientId, token, opts);
  assert.equal(result.name, "failure", `${what}: expected <${condition}/>, got ${show(result)}`);
  assertSasl2Failure(result, condition);
  c.close();
  return result;
}

async function revokeClient(user: User, clientId: string): Promise<string> {
  const r = await server.cli(["shell", "user", "revoke_client", user.jid, `client/${clientId}`]);
  assert.equal(r.code, 0, `revoke_client failed: ${r.stdout} ${r.stderr}`);
  assert.match(r.stdout, /Client access revoked/, `revoke_client failed: ${r.stdout} ${r.stderr}`);
  // What the revocation could not do (the client knows the password) is a warning on stderr.
  return r.stdout + r.stderr;
}

async function changePassword(user: User, password: string, srv: TestServer = server): Promise<void> {
  const r = await srv.cli(["user", "passwd", user.jid], password + "\n");
  assert.equal(r.code, 0, `user passwd failed: ${r.stderr}`);
  user.password = password;
}

describe("SASL2 (XEP-0388)", () => {
  test("SASL2 is not offered before TLS, and <authenticate> on an insecure stream fails with encryption-required (item 38)", async () => {
    const user = await newUser("insecure");
    const c = await RawClient.connect(server.c2sPort);
    clients.push(c);
    c.openStream();
    const features = await waitForElement(c, (el) => el.name === "features" && el.ns === NS_STREAM, "the stream features");
    assert.equal(authentication(features), undefined, `<authentication/> offered before TLS: ${show(features)}`);
    assert.ok(child(features, "starttls", "urn:ietf:params:xml:ns:xmpp-tls"), "STARTTLS is offered");
    c.clear();
    c.send(authenticateXml("PLAIN", plainInitialResponse(user.username, user.password), { userAgent: { id: newClientId() } }));
    await expectSasl2Failure(c, "encryption-required");
  });

  test("SASL2 is offered after TLS, with Bind2 and FAST inline", async () => {
    const { features } = await stream();
    const auth = authentication(features);
    assert.ok(auth, `no <authentication xmlns='${NS_SASL2}'/>: ${show(features)}`);
    const mechs = auth.children.filter((ch) => ch.name === "mechanism").map((ch) => ch.text);
    assert.ok(mechs.includes("SCRAM-SHA-256") && mechs.includes("PLAIN"), `mechanisms: ${mechs}`);
    const inline = child(auth, "inline", NS_SASL2);
    assert.ok(inline, `no <inline/>: ${show(auth)}`);
    assert.ok(child(inline, "bind", NS_BIND2), `no Bind2 in <inline/>: ${show(inline)}`);
    assert.ok(child(inline, "fast", NS_FAST), `no FAST in <inline/>: ${show(inline)}`);
  });

  test("success with Bind2: last child is <authorization-identifier/> = the full JID, then <stream:features/> without a restart (item 39)", async () => {
    const user = await newUser("bound");
    const { c } = await stream();
    const clientId = newClientId();
    const result = await scram2(c, user.username, user.password, { userAgent: { id: clientId }, extra: bindXml("desk") });
    assert.equal(result.name, "success", show(result));
    const { success, features } = await expectSasl2Success(c);
    const bound = child(success, "bound", NS_BIND2);
    assert.ok(bound, `no <bound/> in ${show(success)}`);
    const resource = `desk~${createHash("sha1").update(clientId).digest().subarray(0, 9).toString("base64")}`;
    assert.equal(authzIdOf(success), `${user.jid}/${resource}`);
    assert.equal(authentication(features), undefined, `the features after success must not offer SASL2 again: ${show(features)}`);
    assert.equal(child(features, "mechanisms", NS_SASL), undefined, `no SASL mechanisms after success: ${show(features)}`);
    await ping(c);
  });

  test("success without Bind2: <authorization-identifier/> = the bare JID, then <stream:features/> offering resource binding (item 39)", async () => {
    const user = await newUser("bare");
    const { c } = await stream();
    const result = await plain2(c, user.username, user.password, { userAgent: { id: newClientId() } });
    assert.equal(result.name, "success", show(result));
    const { success, features } = await expectSasl2Success(c);
    assert.equal(authzIdOf(success), user.jid);
    assert.equal(child(success, "bound", NS_BIND2), undefined);
    assert.ok(child(features, "bind", "urn:ietf:params:xml:ns:xmpp-bind"), `legacy bind offered after SASL2 without Bind2: ${show(features)}`);
    c.send("<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>r1</resource></bind></iq>");
    await c.waitFor(new RegExp(`<jid>${user.jid}/r1</jid>`));
  });

  test("Bind2 <tag/> with a client id gives the stable resource tag~base64(SHA-1(client id)[0..9]) (item 40)", async () => {
    const user = await newUser("stable");
    const clientId = "d4565fa7-4d72-4749-b3d3-740edbf87770";
    const jids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const { c } = await stream();
      const result = await scram2(c, user.username, user.password, { userAgent: { id: clientId, software: "AwesomeXMPP" }, extra: bindXml("AwesomeXMPP") });
      assert.equal(result.name, "success", show(result));
      const { success } = await expectSasl2Success(c);
      jids.push(authzIdOf(success));
      c.close();
    }
    assert.deepEqual(jids, [`${user.jid}/AwesomeXMPP~Uk5h3wclxrRq`, `${user.jid}/AwesomeXMPP~Uk5h3wclxrRq`]);
  });

  test("Bind2 inline carbons enable gives <enabled xmlns='urn:xmpp:carbons:2'/> in <bound/> (item 43)", async () => {
    const user = await newUser("carbons");
    const { c } = await stream();
    const result = await scram2(c, user.username, user.password, {
      userAgent: { id: newClientId() },
      extra: bindXml("phone", `<enable xmlns='${NS_CARBONS}'/>`),
    });
    assert.equal(result.name, "success", show(result));
    const bound = child(result, "bound", NS_BIND2);
    assert.ok(bound, `no <bound/>: ${show(result)}`);
    assert.ok(child(bound, "enabled", NS_CARBONS), `no carbons <enabled/> in <bound/>: ${show(result)}`);
  });

  test("a failed SASL2 login has its condition in the xmpp-sasl namespace, and the stream stays open (item 44)", async () => {
    const user = await newUser("failed");
    const { c } = await stream();
    const r1 = await scram2(c, user.username, "wrong-password", { userAgent: { id: newClientId() } });
    assertSasl2Failure(r1, "not-authorized");
    const r2 = await plain2(c, user.username, "wrong-password");
    assertSasl2Failure(r2, "not-authorized");
    const r3 = await plain2(c, "nosuchuser", "x");
    assertSasl2Failure(r3, "not-authorized");
    assert.equal(c.closed, false);
  });

  test("after a failure, another mechanism can be tried on the same stream", async () => {
    const user = await newUser("retry");
    const { c } = await stream();
    assertSasl2Failure(await plain2(c, user.username, "wrong"), "not-authorized");
    const ok = await scram2(c, user.username, user.password, { userAgent: { id: newClientId() }, extra: bindXml("r") });
    assert.equal(ok.name, "success", show(ok));
    const { success } = await expectSasl2Success(c);
    assert.match(authzIdOf(success), new RegExp(`^${user.jid}/r~`));
  });

  test("malformed <authenticate/>: missing mechanism, bad base64, unknown mechanism, initial-response not first", async () => {
    const user = await newUser("malformed");
    const { c } = await stream();
    const ua = { userAgent: { id: newClientId() } };
    assertSasl2Failure(await authenticateOnce(c, undefined, plainInitialResponse(user.username, user.password), ua), "malformed-request");
    assertSasl2Failure(await authenticateOnce(c, "PLAIN", { raw: "not*base64!" }, ua), "incorrect-encoding");
    assertSasl2Failure(await authenticateOnce(c, "X-NO-SUCH-MECH", plainInitialResponse(user.username, user.password), ua), "invalid-mechanism");
    c.clear();
    c.send(
      `<authenticate xmlns='${NS_SASL2}' mechanism='PLAIN'><user-agent id='${newClientId()}'/><initial-response>${plainInitialResponse(user.username, user.password).toString("base64")}</initial-response></authenticate>`,
    );
    assertSasl2Failure(await sasl2Result(c), "malformed-request");
    // None of these closed the stream, which still accepts a proper login.
    const ok = await plain2(c, user.username, user.password, ua);
    assert.equal(ok.name, "success", show(ok));
  });
});

describe("FAST (XEP-0484)", () => {
  test("FAST is advertised without a stream 'from' (fixed reference defect), with HT-SHA-256-NONE and never tls-0rtt (items 45, 55)", async () => {
    const { features } = await stream();
    const mechs = fastMechanismsOf(features);
    assert.ok(mechs, `no <fast/> in the SASL2 inline features of a stream without 'from': ${show(features)}`);
    assert.ok(mechs.includes("HT-SHA-256-NONE"), `FAST mechanisms: ${mechs}`);
    const fast = child(child(authentication(features)!, "inline", NS_SASL2)!, "fast", NS_FAST)!;
    assert.equal(fast.attrs["tls-0rtt"], undefined, "tls-0rtt is never advertised");
    const withFrom = await stream({ from: "someone@localhost" });
    assert.deepEqual(fastMechanismsOf(withFrom.features), mechs, "the same FAST mechanisms with a 'from'");
  });

  test("<request-token/> with a password login and a client id yields <token token='secret-token:fast-…' expiry/> expiring in 21 days (item 46)", async () => {
    const user = await newUser("reqtok");
    const { c } = await stream();
    const before = Date.now();
    const result = await scram2(c, user.username, user.password, { userAgent: { id: newClientId() }, extra: bindXml("t") + requestTokenXml() });
    assert.equal(result.name, "success", show(result));
    const t = tokenOf(result);
    assert.ok(t, `no <token/>: ${show(result)}`);
    assert.match(t.token, /^secret-token:fast-[A-Za-z0-9_-]{36}$/);
    const expiry = Date.parse(t.expiry);
    assert.ok(!Number.isNaN(expiry), `expiry is a date: ${t.expiry}`);
    assert.match(t.expiry, /Z$/, "expiry is in UTC");
    assert.ok(expiry >= before + 21 * DAY - 60_000 && expiry <= Date.now() + 21 * DAY + 60_000, `expiry ${t.expiry} is 21 days after issue`);
    // Order: additional-data, bound, token, authorization-identifier (last).
    const names = result.children.map((ch) => ch.name);
    assert.deepEqual(names, ["additional-data", "bound", "token", "authorization-identifier"], `children of <success/>: ${show(result)}`);
  });

  test("<request-token/> without a client id yields no token, and the login succeeds (item 47)", async () => {
    const user = await newUser("noid");
    const { c } = await stream();
    const result = await scram2(c, user.username, user.password, { extra: requestTokenXml() });
    assert.equal(result.name, "success", show(result));
    assert.equal(tokenOf(result), undefined, `no token without a client id: ${show(result)}`);
    const { success } = await expectSasl2Success(c);
    assert.equal(authzIdOf(success), user.jid);
  });

  test("<request-token/> for a mechanism this stream does not advertise yields no token (fixed reference defect)", async () => {
    const user = await newUser("unadv");
    const { c, features } = await stream();
    assert.ok(!fastMechanismsOf(features)!.includes("HT-SHA-256-FOO"));
    const result = await scram2(c, user.username, user.password, { userAgent: { id: newClientId() }, extra: requestTokenXml("HT-SHA-256-FOO") });
    assert.equal(result.name, "success", show(result));
    assert.equal(tokenOf(result), undefined, `a token for an unadvertised mechanism: ${show(result)}`);
    const { c: c2 } = await stream();
    const r2 = await scram2(c2, user.username, user.password, { userAgent: { id: newClientId() }, extra: requestTokenXml("SCRAM-SHA-256") });
    assert.equal(r2.name, "success", show(r2));
    assert.equal(tokenOf(r2), undefined, `a token bound to a password mechanism: ${show(r2)}`);
  });

  test("HT-SHA-256-NONE with the right HMAC succeeds, and <additional-data/> is HMAC(token, 'Responder') (item 48)", async () => {
    const user = await newUser("htok");
    const clientId = newClientId();
    const { token } = await issueToken(user, clientId);
    const { c, result } = await fastLogin(user, clientId, token, { extra: bindXml("fast") });
    assert.equal(result.name, "success", show(result));
    const ad = child(result, "additional-data", NS_SASL2);
    assert.ok(ad, `no <additional-data/>: ${show(result)}`);
    assert.equal(ad.text, htResponderProof(token).toString("base64"));
    assert.equal(tokenOf(result), undefined, "a young token is not rotated");
    const { success } = await expectSasl2Success(c);
    assert.match(authzIdOf(success), new RegExp(`^${user.jid}/fast~`));
    await ping(c);
    // The token keeps working.
    await expectFastOk(user, clientId, token, {}, "second use of the token");
  });

  test("HT-SHA-256-EXPR binds the token to the TLS connection (tls-exporter); a token is bound to its mechanism (item 51)", async (t) => {
    const { features } = await stream();
    if (!fastMechanismsOf(features)!.includes("HT-SHA-256-EXPR")) {
      t.skip("tls-exporter is not available on this TLS connection");
      return;
    }
    const user = await newUser("expr");
    const clientId = newClientId();
    const { token } = await issueToken(user, clientId, "HT-SHA-256-EXPR");
    const { c } = await stream();
    const cb = (c.socket as tls.TLSSocket).exportKeyingMaterial(32, "EXPORTER-Channel-Binding", Buffer.alloc(0));
    const ok = await ht2(c, user.username, token, { mechanism: "HT-SHA-256-EXPR", cb, userAgent: { id: clientId } });
    assert.equal(ok.name, "success", show(ok));
    assert.equal(child(ok, "additional-data", NS_SASL2)?.text, htResponderProof(token, cb).toString("base64"));
    // Channel binding data of another connection does not verify.
    await expectFastFails(user, clientId, token, "not-authorized", { mechanism: "HT-SHA-256-EXPR", cb }, "EXPR proof computed for another connection");
    // The token was issued for EXPR: used with NONE, it fails.
    await expectFastFails(user, clientId, token, "not-authorized", {}, "an EXPR token used with HT-SHA-256-NONE");
  });

  test("an HT mechanism without <fast/> fails with invalid-mechanism (item 49)", async () => {
    const user = await newUser("nofast");
    const clientId = newClientId();
    const { token } = await issueToken(user, clientId);
    const { c } = await stream();
    assertSasl2Failure(
      await authenticateOnce(c, "HT-SHA-256-NONE", htInitialResponse(user.username, token), { userAgent: { id: clientId } }),
      "invalid-mechanism",
    );
    // The same stream may then use FAST properly.
    const ok = await ht2(c, user.username, token, { userAgent: { id: clientId } });
    assert.equal(ok.name, "success", show(ok));
  });

  test("<fast/> without a client id fails with malformed-request 'FAST is not available on this stream' (item 50)", async () => {
    const user = await newUser("fastnoid");
    const clientId = newClientId();
    const { token } = await issueToken(user, clientId);
    const { c } = await stream();
    const r = await ht2(c, user.username, token, {});
    assertSasl2Failure(r, "malformed-request", "FAST is not available on this stream");
  });

  test("a wrong HMAC, an unknown client id, or a token of another account fails with not-authorized (item 51)", async () => {
    const user = await newUser("wrong");
    const other = await newUser("other");
    const clientId = newClientId();
    const { token } = await issueToken(user, clientId);
    await expectFastFails(user, clientId, token.slice(0, -1) + (token.endsWith("A") ? "B" : "A"), "not-authorized", {}, "wrong HMAC (wrong token)");
    await expectFastFails(user, newClientId(), token, "not-authorized", {}, "unknown client id");
    await expectFastFails(other, clientId, token, "not-authorized", {}, "the token of another account");
    await expectFastFails({ ...user, username: "nosuchuser" }, clientId, token, "not-authorized", {}, "unknown user");
    await expectFastOk(user, clientId, token, {}, "the right token still works");
  });

  test("the 'count' replay counter is enforced: 5 works, 5 again or 4 fails with not-authorized, 6 works (fixed reference defect)", async () => {
    const user = await newUser("count");
    const clientId = newClientId();
    const { token } = await issueToken(user, clientId);
    await expectFastOk(user, clientId, token, { fast: { count: 5 } }, "count=5");
    const { c } = await stream();
    const again = await ht2(c, user.username, token, { userAgent: { id: clientId }, fast: { count: 5 } });
    assertSasl2Failure(again, "not-authorized", "Replayed or non-increasing count");
    const lower = await ht2(c, user.username, token, { userAgent: { id: clientId }, fast: { count: 4 } });
    assertSasl2Failure(lower, "not-authorized", "Replayed or non-increasing count");
    const bad = await ht2(c, user.username, token, { userAgent: { id: clientId }, fast: { count: "x" } });
    assertSasl2Failure(bad, "not-authorized");
    const next = await ht2(c, user.username, token, { userAgent: { id: clientId }, fast: { count: 6 } });
    assert.equal(next.name, "success", `count=6 after 5: ${show(next)}`);
  });

  test("<fast invalidate='true'/> succeeds without a new token, and that token then fails with not-authorized (item 54)", async () => {
    const user = await newUser("inval");
    const clientId = newClientId();
    const { token } = await issueToken(user, clientId);
    const r = await expectFastOk(user, clientId, token, { fast: { invalidate: "true" } }, "invalidate='true'");
    assert.equal(tokenOf(r), undefined, `no new token on invalidation: ${show(r)}`);
    await expectFastFails(user, clientId, token, "not-authorized", {}, "the invalidated token");
  });

  test("<fast invalidate='true'/> with <request-token/> returns a new token that works", async () => {
    const user = await newUser("invalreq");
    const clientId = newClientId();
    const { token } = await issueToken(user, clientId);
    const r = await expectFastOk(user, clientId, token, { fast: { invalidate: "true" }, extra: requestTokenXml() }, "invalidate with request-token");
    const fresh = tokenOf(r);
    assert.ok(fresh, `a new token was requested: ${show(r)}`);
    assert.notEqual(fresh.token, token);
    await expectFastFails(user, clientId, token, "not-authorized", {}, "the invalidated token");
    await expectFastOk(user, clientId, fresh.token, {}, "the new token");
  });

  test("at most two tokens per client are valid: the 'cur' one and the last unused 'new' one (items 53, 56)", async () => {
    const user = await newUser("slots");
    const clientId = newClientId();
    const t0 = (await issueToken(user, clientId)).token;
    await expectFastOk(user, clientId, t0, {}, "t0, first use (becomes 'cur')");
    const t1 = (await issueToken(user, clientId)).token;
    const t2 = (await issueToken(user, clientId)).token;
    const t3 = (await issueToken(user, clientId)).token;
    assert.equal(new Set([t0, t1, t2, t3]).size, 4, "every request gives a new token");
    await expectFastOk(user, clientId, t0, {}, "t0, the 'cur' token");
    await expectFastFails(user, clientId, t1, "not-authorized", {}, "t1, overwritten by t2");
    await expectFastFails(user, clientId, t2, "not-authorized", {}, "t2, overwritten by t3");
    await expectFastOk(user, clientId, t3, {}, "t3, the last 'new' token (becomes 'cur')");
    await expectFastFails(user, clientId, t0, "not-authorized", {}, "t0, replaced as 'cur' by t3");
    await expectFastOk(user, clientId, t3, {}, "t3 again");
  });

  test("a token issued before a password change fails with credentials-expired (item 51)", async () => {
    const user = await newUser("pwchange");
    const clientId = newClientId();
    const { token } = await issueToken(user, clientId);
    await expectFastOk(user, clientId, token, {}, "before the password change");
    await changePassword(user, "a-new-password");
    await expectFastFails(user, clientId, token, "credentials-expired", {}, "a token from before the password change");
    await expectFastFails(user, newClientId(), token, "not-authorized", {}, "an unknown client id after the password change");
    // The client then logs in with the new password and may get a new token.
    const fresh = await issueToken(user, clientId);
    await expectFastOk(user, clientId, fresh.token, {}, "a token issued after the password change");
  });

  test("tokens are not stored in clear: neither the database columns nor the database files contain them", async () => {
    const user = await newUser("sealed");
    const clientId = newClientId();
    const a = (await issueToken(user, clientId)).token;
    await expectFastOk(user, clientId, a, {}, "first use");
    const b = (await issueToken(user, clientId)).token;
    const needles = [a, b].flatMap((t) => {
      const secret = t.slice("secret-token:fast-".length);
      return [
        Buffer.from(t),
        Buffer.from(secret),
        Buffer.from(secret, "base64url"),
        Buffer.from(Buffer.from(secret, "base64url").toString("base64")),
        Buffer.from(Buffer.from(secret, "base64url").toString("hex")),
      ];
    });
    const dataDir = join(server.dataDir, "data");
    const db = new Database(join(dataDir, "warden.sqlite"), { readonly: true, fileMustExist: true });
    try {
      const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((r) => r.name);
      assert.ok(tables.includes("tokens"), `tables: ${tables}`);
      const tokenRows = db.prepare("SELECT * FROM tokens WHERE username = ?").all(user.username) as Array<Record<string, unknown>>;
      assert.equal(tokenRows.length, 2, "both tokens of the client are stored ('cur' and 'new')");
      let cells = 0;
      for (const table of tables) {
        for (const row of db.prepare(`SELECT * FROM "${table}"`).all() as Array<Record<string, unknown>>) {
          for (const [col, v] of Object.entries(row)) {
            const bytes = typeof v === "string" ? Buffer.from(v) : Buffer.isBuffer(v) ? v : undefined;
            if (!bytes) continue;
            cells++;
            for (const n of needles) assert.ok(!bytes.includes(n), `${table}.${col} contains a token secret in clear`);
          }
        }
      }
      assert.ok(cells > 0);
    } finally {
      db.close();
    }
    // The raw files too (database, WAL), apart from the key that seals the secrets.
    for (const name of readdirSync(dataDir)) {
      const p = join(dataDir, name);
      if (!statSync(p).isFile() || name === "secret.key") continue;
      const bytes = readFileSync(p);
      for (const n of needles) assert.ok(!bytes.includes(n), `${p} contains a token secret in clear`);
    }
  });
});

describe("revocation reaches live FAST sessions", () => {
  test("revoking the client (shell revoke_client) closes its live token session with <not-authorized/>; the token then fails", async () => {
    const user = await newUser("revlive");
    const clientId = newClientId();
    const { token } = await issueToken(user, clientId);
    const { c, result } = await fastLogin(user, clientId, token, { extra: bindXml("live") });
    assert.equal(result.name, "success", show(result));
    await expectSasl2Success(c);
    await ping(c);
    await revokeClient(user, clientId);
    const err = await expectStreamError(c, "not-authorized");
    assert.ok(err);
    await expectFastFails(user, clientId, token, "not-authorized", {}, "the revoked client's token");
  });

  test("revoking a disconnected FAST client makes its token fail with not-authorized (item 22/23)", async () => {
    const user = await newUser("revoff");
    const clientId = newClientId();
    const { token } = await issueToken(user, clientId);
    await expectFastOk(user, clientId, token, {}, "before revocation");
    const out = await revokeClient(user, clientId);
    assert.match(out, /Password reset required/, "the client also used a password");
    await expectFastFails(user, clientId, token, "not-authorized", {}, "after revocation");
  });

  test("a password change closes a live token session with <reset/>", async () => {
    const user = await newUser("pwlive");
    const clientId = newClientId();
    const { token } = await issueToken(user, clientId);
    const { c, result } = await fastLogin(user, clientId, token, { extra: bindXml("live") });
    assert.equal(result.name, "success", show(result));
    await expectSasl2Success(c);
    await ping(c);
    await changePassword(user, "changed-password");
    await expectStreamError(c, "reset");
  });
});

describe("request-token for a channel-binding mechanism that is not offered", () => {
  let plainServer: TestServer;
  before(async () => {
    plainServer = await startServer({ login_failure_window: 1, sasl_channel_binding: false });
  });
  after(async () => {
    await plainServer?.stop();
  });

  test("without channel binding only HT-SHA-256-NONE is offered; <request-token mechanism='HT-SHA-256-ENDP'/> yields no token, and ENDP fails", async () => {
    const user = await newUser("endp", plainServer);
    const { c, features } = await stream({ srv: plainServer });
    assert.deepEqual(fastMechanismsOf(features), ["HT-SHA-256-NONE"]);
    const clientId = newClientId();
    const r = await scram2(c, user.username, user.password, { userAgent: { id: clientId }, extra: requestTokenXml("HT-SHA-256-ENDP") });
    assert.equal(r.name, "success", show(r));
    assert.equal(tokenOf(r), undefined, `a token for an unadvertised mechanism: ${show(r)}`);
    const { c: c2 } = await stream({ srv: plainServer });
    const r2 = await scram2(c2, user.username, user.password, { userAgent: { id: clientId }, extra: requestTokenXml() });
    const t = tokenOf(r2);
    assert.ok(t, `a token for HT-SHA-256-NONE: ${show(r2)}`);
    const { c: c3 } = await stream({ srv: plainServer });
    const r3 = await ht2(c3, user.username, t.token, { userAgent: { id: clientId }, mechanism: "HT-SHA-256-ENDP" });
    assertSasl2Failure(r3, "malformed-request");
    const r4 = await ht2(c3, user.username, t.token, { userAgent: { id: clientId } });
    assert.equal(r4.name, "success", show(r4));
  });
});

describe("token rotation (sasl2_fast_token_min_ttl: 1 s)", () => {
  let rotServer: TestServer;
  before(async () => {
    rotServer = await startServer({ login_failure_window: 1, sasl2_fast_token_min_ttl: 1, sasl2_fast_token_ttl: 3600 });
  });
  after(async () => {
    await rotServer?.stop();
  });

  test("a token older than min_ttl brings a new <token/> for the mechanism used, without <request-token/> (item 52)", async () => {
    const user = await newUser("rot", rotServer);
    const clientId = newClientId();
    const { c: c0, features } = await stream({ srv: rotServer });
    const mechanism = fastMechanismsOf(features)!.includes("HT-SHA-256-EXPR") ? "HT-SHA-256-EXPR" : "HT-SHA-256-NONE";
    const cbOf = (c: RawClient) =>
      mechanism === "HT-SHA-256-EXPR" ? (c.socket as tls.TLSSocket).exportKeyingMaterial(32, "EXPORTER-Channel-Binding", Buffer.alloc(0)) : undefined;
    const r0 = await scram2(c0, user.username, user.password, { userAgent: { id: clientId }, extra: requestTokenXml(mechanism) });
    const old = tokenOf(r0);
    assert.ok(old, show(r0));
    const fresh = await stream({ srv: rotServer });
    const first = await ht2(fresh.c, user.username, old.token, { mechanism, cb: cbOf(fresh.c), userAgent: { id: clientId } });
    assert.equal(first.name, "success", show(first));
    await new Promise((r) => setTimeout(r, 1500)); // now older than min_ttl
    const { c } = await stream({ srv: rotServer });
    const r1 = await ht2(c, user.username, old.token, { mechanism, cb: cbOf(c), userAgent: { id: clientId } });
    assert.equal(r1.name, "success", show(r1));
    const next = tokenOf(r1);
    assert.ok(next, `a rotated token in <success/>: ${show(r1)}`);
    assert.notEqual(next.token, old.token);
    const e = Date.parse(next.expiry);
    assert.ok(e > Date.now() + 3000_000 && e <= Date.now() + 3600_000, `the new token lives sasl2_fast_token_ttl: ${next.expiry}`);
    // The new token is bound to the mechanism used, and works with it.
    if (mechanism !== "HT-SHA-256-NONE") {
      const { c: cn } = await stream({ srv: rotServer });
      assertSasl2Failure(await ht2(cn, user.username, next.token, { userAgent: { id: clientId } }), "not-authorized");
    }
    const { c: c2 } = await stream({ srv: rotServer });
    const r2 = await ht2(c2, user.username, next.token, { mechanism, cb: cbOf(c2), userAgent: { id: clientId } });
    assert.equal(r2.name, "success", `the rotated token works: ${show(r2)}`);
    // Once the new token was used, the old one is gone.
    const { c: c3 } = await stream({ srv: rotServer });
    assertSasl2Failure(await ht2(c3, user.username, old.token, { mechanism, cb: cbOf(c3), userAgent: { id: clientId } }), "not-authorized");
  });
});
