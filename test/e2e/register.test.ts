// In-band registration (XEP-0077) over real sockets against the real server: the stream
// feature only after TLS, the form, the §3.1 errors (and nothing stored after them), the
// per-IP and global limits, and for signed-in accounts the password change (§3.3, which ends
// every session through the access service) and removal (§3.2).
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { startServer, type TestServer } from "../helpers/server.js";
import { RawClient } from "../helpers/raw-client.js";
import { expectStreamError } from "../helpers/xmpp-assert.js";
import { child, show } from "../helpers/xml.js";
import { canLogin, iq, NS_REGISTER, outcome, preauth, preAuthStream, registerForm, submit } from "../helpers/register.js";

const clients: RawClient[] = [];
let ipCount = 1;
/** A fresh loopback address, so each registration is the first from its IP. */
const nextIp = () => `127.0.0.${++ipCount}`;

after(() => {
  for (const c of clients) c.close();
});

describe("open registration (allow_registration: true)", () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ allow_registration: true, password_min_length: 8 });
  });
  after(() => server?.stop());

  test("the register feature is offered after TLS, not before", async () => {
    const plain = await RawClient.connect(server.c2sPort);
    clients.push(plain);
    plain.openStream();
    const m = await plain.waitFor(/<stream:features>[\s\S]*<\/stream:features>/);
    assert.doesNotMatch(m[0], /iq-register|ibr-token/);
    const { c, features } = await preAuthStream(server.c2sPort);
    clients.push(c);
    assert.match(features, /<register xmlns=['"]http:\/\/jabber.org\/features\/iq-register['"]\/>/);
    assert.match(features, /<register xmlns=['"]urn:xmpp:ibr-token:0['"]\/>/);
  });

  test("the form, then a registration that logs in", async () => {
    const { c } = await preAuthStream(server.c2sPort, nextIp());
    clients.push(c);
    const form = await registerForm(c);
    assert.equal(form.attrs.type, "result", show(form));
    const q = child(form, "query", NS_REGISTER);
    assert.ok(q && child(q, "username") && child(q, "password"), show(form));
    assert.equal(outcome(await submit(c, "Romeo", "montague-1")), "result");
    // Normalised as logins are: "Romeo" is romeo.
    assert.equal(await canLogin(server.c2sPort, "romeo", "montague-1"), true);
    assert.equal(await canLogin(server.c2sPort, "romeo", "wrong-password"), false);
  });

  test("§3.1 errors: taken, bad username, bad or missing password; nothing is stored", async () => {
    await server.addUser("juliet", "capulet-1");
    for (const [user, pw, want] of [
      ["juliet", "another-pw", "cancel/conflict"],
      ["JULIET", "another-pw", "cancel/conflict"],
      ["bad@name", "long-enough", "modify/not-acceptable"],
      ["bad name", "long-enough", "modify/not-acceptable"],
      ["shortpw", "short", "modify/not-acceptable"],
      ["nopw", "", "modify/not-acceptable"],
    ] as const) {
      const { c } = await preAuthStream(server.c2sPort, nextIp());
      clients.push(c);
      assert.equal(outcome(await submit(c, user, pw)), want, `${user}/${pw}`);
      c.close();
    }
    assert.equal(await canLogin(server.c2sPort, "juliet", "capulet-1"), true, "the taken account is untouched");
    const list = await server.cli(["user", "list"]);
    assert.doesNotMatch(list.stdout, /shortpw|nopw|bad/);
  });

  test("min_seconds_between_registrations: a second registration from the same IP waits", async () => {
    const ip = nextIp();
    const first = await preAuthStream(server.c2sPort, ip);
    clients.push(first.c);
    assert.equal(outcome(await submit(first.c, "first-from-ip", "password-1")), "result");
    const second = await preAuthStream(server.c2sPort, ip);
    clients.push(second.c);
    assert.equal(outcome(await submit(second.c, "second-from-ip", "password-2")), "wait/policy-violation");
    assert.equal(await canLogin(server.c2sPort, "second-from-ip", "password-2"), false);
    // Another address is not held back.
    const other = await preAuthStream(server.c2sPort, nextIp());
    clients.push(other.c);
    assert.equal(outcome(await submit(other.c, "second-from-ip", "password-2")), "result");
  });

  test("a stream that keeps trying tokens is closed", async () => {
    const { c } = await preAuthStream(server.c2sPort);
    clients.push(c);
    for (let i = 0; i < 20; i++) assert.equal(outcome(await preauth(c, `guess${String(i).padStart(19, "x")}`)), "cancel/item-not-found");
    c.send("<iq type='set' id='one-more'><preauth xmlns='urn:xmpp:pars:0' token='AAAAAAAAAAAAAAAAAAAAAAAA'/></iq>");
    await expectStreamError(c, "policy-violation");
  });

  test("a stanza other than a registration IQ before authentication still ends the stream", async () => {
    const { c } = await preAuthStream(server.c2sPort);
    clients.push(c);
    c.send("<iq type='get' id='v1'><query xmlns='jabber:iq:version'/></iq>");
    await expectStreamError(c, "not-authorized");
  });

  test("§3.3 password change ends every session; the new password works, the old does not", async () => {
    await server.addUser("changer", "old-password");
    const a = await RawClient.connect(server.c2sPort);
    const b = await RawClient.connect(server.c2sPort);
    clients.push(a, b);
    await a.login("changer", "old-password", "a");
    await b.login("changer", "old-password", "b");
    // Another account's name is refused, and changes nothing.
    assert.equal(
      outcome(await iq(a, "set", `<query xmlns='${NS_REGISTER}'><username>juliet</username><password>hijacked-1</password></query>`)),
      "modify/not-allowed",
    );
    assert.equal(
      outcome(await iq(a, "set", `<query xmlns='${NS_REGISTER}'><username>changer</username><password>short</password></query>`)),
      "modify/not-acceptable",
    );
    assert.equal(await canLogin(server.c2sPort, "changer", "old-password"), true);
    const done = await iq(a, "set", `<query xmlns='${NS_REGISTER}'><username>changer</username><password>new-password</password></query>`);
    assert.equal(done.attrs.type, "result", show(done));
    await expectStreamError(b, "reset");
    await expectStreamError(a, "reset");
    assert.equal(await canLogin(server.c2sPort, "changer", "new-password"), true);
    assert.equal(await canLogin(server.c2sPort, "changer", "old-password"), false);
    assert.equal(await canLogin(server.c2sPort, "juliet", "capulet-1"), true);
  });

  test("§3.2 removal deletes the account and ends its sessions", async () => {
    await server.addUser("leaver", "leaver-pw");
    const a = await RawClient.connect(server.c2sPort);
    const b = await RawClient.connect(server.c2sPort);
    clients.push(a, b);
    await a.login("leaver", "leaver-pw", "a");
    await b.login("leaver", "leaver-pw", "b");
    const form = await iq(a, "get", `<query xmlns='${NS_REGISTER}'/>`);
    assert.ok(child(child(form, "query")!, "registered"), show(form));
    const done = await iq(a, "set", `<query xmlns='${NS_REGISTER}'><remove/></query>`);
    assert.equal(done.attrs.type, "result", show(done));
    await expectStreamError(b, "not-authorized");
    assert.equal(await canLogin(server.c2sPort, "leaver", "leaver-pw"), false);
    const list = await server.cli(["user", "list"]);
    assert.doesNotMatch(list.stdout, /leaver/);
  });
});

describe("registration off (the default)", () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ registration_rate_limit: 3, min_seconds_between_registrations: 0 });
  });
  after(() => server?.stop());

  test("only invitations are offered; the form is refused and nothing is created", async () => {
    const { c, features } = await preAuthStream(server.c2sPort);
    clients.push(c);
    assert.doesNotMatch(features, /iq-register/);
    assert.match(features, /urn:xmpp:ibr-token:0/);
    assert.equal(outcome(await registerForm(c)), "cancel/forbidden");
    assert.equal(outcome(await submit(c, "intruder", "password-1")), "cancel/forbidden");
    assert.equal(await canLogin(server.c2sPort, "intruder", "password-1"), false);
  });

  test("a signed-in account may still change its password", async () => {
    await server.addUser("keeper", "keeper-pw-1");
    const a = await RawClient.connect(server.c2sPort);
    clients.push(a);
    await a.login("keeper", "keeper-pw-1", "a");
    const done = await iq(a, "set", `<query xmlns='${NS_REGISTER}'><username>keeper</username><password>keeper-pw-2</password></query>`);
    assert.equal(done.attrs.type, "result", show(done));
    assert.equal(await canLogin(server.c2sPort, "keeper", "keeper-pw-2"), true);
  });

  /** SIGHUP, then the lines the server logged until it had read the configuration again. */
  async function reload(): Promise<string[]> {
    const seen = server.lines.length;
    server.proc!.kill("SIGHUP");
    for (let i = 0; i < 100; i++) {
      const lines = server.lines.slice(seen);
      if (lines.some((l) => l.includes("reload: configuration read"))) return lines;
      await sleep(50);
    }
    assert.fail("the server did not reload");
  }

  test("allow_registration changes on reload (SIGHUP), without a restart", async () => {
    server.configure({ allow_registration: true });
    const lines = await reload();
    assert.ok(
      lines.some((l) => l.includes('"applied":["allow_registration"]')),
      lines.join("\n"),
    );
    const { c, features } = await preAuthStream(server.c2sPort, nextIp());
    clients.push(c);
    assert.match(features, /iq-register/);
    assert.equal(outcome(await registerForm(c)), "result");
    server.configure({ allow_registration: false });
    await reload();
    const closed = await preAuthStream(server.c2sPort, nextIp());
    clients.push(closed.c);
    assert.doesNotMatch(closed.features, /iq-register/);
  });

  test("registration_rate_limit holds for the whole server, invitations included", async () => {
    const tokens: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await server.cli(["invite", "create", "--json"]);
      assert.equal(r.code, 0, r.stderr);
      tokens.push((JSON.parse(r.stdout) as { url: string }).url.split("/invite/")[1]!);
    }
    const outcomes: string[] = [];
    for (const [i, token] of tokens.entries()) {
      const { c } = await preAuthStream(server.c2sPort, nextIp());
      clients.push(c);
      assert.equal(outcome(await iq(c, "set", `<preauth xmlns='urn:xmpp:pars:0' token='${token}'/>`)), "result");
      outcomes.push(outcome(await submit(c, `limited${i}`, "password-1")));
    }
    assert.deepEqual(outcomes, ["result", "result", "result", "wait/policy-violation"]);
    assert.equal(await canLogin(server.c2sPort, "limited3", "password-1"), false);
  });
});
