// Interop: slixmpp 1.8 (Python, Debian's python3-slixmpp, run with /usr/bin/python3) against
// the real server. The scripts in test/interop/slixmpp/ print JSON lines on stdout, the last
// being {"result": …}; slixmpp's raw XML log goes to stderr and is shown when a test fails.
//
// What slixmpp does with SASL (reference/clients.md §4.1): it tries SCRAM-*-PLUS with
// tls-unique (undefined for TLS 1.3, so the server must refuse it), then SCRAM with the GS2
// flag "y" (the server must refuse it because it advertises -PLUS: RFC 5802 §6), then PLAIN,
// all on the same stream.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, type TestServer } from "../helpers/server.js";
import { Interop, xml } from "./xmppjs-client.js";
import { runSlixmpp as runScript, type SlixmppRun as Run } from "../helpers/slixmpp.js";

interface SaslAttempt {
  mechanism: string | null;
  gs2_header?: string;
  client_first_bare?: string;
  authzid?: string;
  authcid?: string;
  outcome?: "success" | "failure";
  condition?: string;
  text?: string | null;
}

interface LoginReport {
  ok: boolean;
  finished: "done" | "timeout";
  sasl: SaslAttempt[];
  auth_ok: boolean;
  mechanism_used: string | null;
  tls_version: string | null;
  client_channel_binding_len: number | null;
  features: string[][];
  offered_mechanisms: string[][];
  jid: string;
  session_started: boolean;
}

interface ChatReport extends LoginReport {
  failures: string[];
  sm_enabled: { id: string | null; resume: string | null } | null;
  sm_failed: string | null;
  sm_sent: number;
  sm_acked: number;
  sm_handled: number;
  roster: string | null;
  received: Array<{ id: string; from: string; to: string; type: string; body: string }>;
  errors: string[];
}

/** slixmpp's SEND/RECV lines (the wire), then the last lines of the rest, for failure messages. */
function wire(run: Run<unknown>): string {
  const lines = run.stderr.split("\n");
  const xmlLines = lines.filter((l) => / (SEND|RECV): /.test(l)).map((l) => l.replace(/^.* (SEND|RECV): /, "$1: "));
  const rest = lines.filter((l) => !/ (SEND|RECV): /.test(l)).slice(-30);
  return `exit code ${run.code}\n--- wire ---\n${xmlLines.join("\n")}\n--- log tail ---\n${rest.join("\n")}`;
}

function requireResult<R>(run: Run<R>): R {
  assert.ok(run.result, `the script printed no result line\n${wire(run)}`);
  return run.result;
}

const summary = (a: SaslAttempt) => [a.mechanism, a.gs2_header ?? null, a.outcome ?? "no answer", a.condition ?? null];

describe("slixmpp, default settings, channel binding advertised: SASL fallback, stream management, chat with @xmpp/client", () => {
  let server: TestServer;
  let peer: Interop;
  let run: Run<ChatReport>;
  let report: ChatReport;
  const slixBare = "slix@localhost";

  before(async () => {
    server = await startServer();
    await server.addUser("slix", "slix-secret");
    await server.addUser("jsuser", "jsuser-secret");
    peer = await Interop.online({ service: `xmpp://127.0.0.1:${server.c2sPort}`, username: "jsuser", password: "jsuser-secret", resource: "js" });
    await peer.send(xml("presence"));

    const scriptRun = runScript<ChatReport>("chat.py", {
      WARDEN_HOST: "127.0.0.1",
      WARDEN_PORT: String(server.c2sPort),
      XMPP_JID: slixBare,
      XMPP_PASSWORD: "slix-secret",
      PEER_JID: peer.jid,
      DEADLINE: "40",
    });
    // When slixmpp's message arrives, answer it at its full JID and at its bare JID.
    const first = await Promise.race([
      peer.waitFor("slixmpp's message", (el) => el.is("message") && el.attrs.id === "slix-1", 60_000).catch(() => undefined),
      scriptRun.then(() => undefined),
    ]);
    if (first) {
      const from = first.attrs.from!;
      await peer.send(xml("message", { to: from, type: "chat", id: "js-full" }, xml("body", {}, "Hello slixmpp (full JID)")));
      await peer.send(xml("message", { to: from.split("/")[0], type: "chat", id: "js-bare" }, xml("body", {}, "Hello slixmpp (bare JID)")));
    }
    run = await scriptRun;
  });

  after(async () => {
    await peer?.stop().catch(() => {});
    await server?.stop();
  });

  test("the script ran to its end and logged in", () => {
    report = requireResult(run);
    assert.equal(report.auth_ok, true, `SASL did not succeed\n${wire(run)}`);
    assert.equal(report.session_started, true, `no session\n${wire(run)}`);
    assert.equal(report.jid, `${slixBare}/slix`);
  });

  test("SASL: -PLUS with tls-unique is refused with malformed-request and a text (tls-unique is undefined on TLS 1.3)", () => {
    report = requireResult(run);
    assert.equal(report.tls_version, "TLSv1.3");
    assert.ok(report.client_channel_binding_len, "slixmpp had tls-unique data, so it tries -PLUS");
    assert.deepEqual(
      report.offered_mechanisms,
      [["SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN", "OAUTHBEARER"]],
      "one SASL offer (so every attempt was on the same stream), with -PLUS advertised",
    );
    const plus = report.sasl.filter((a) => a.mechanism?.endsWith("-PLUS"));
    assert.ok(plus.length > 0, `slixmpp tried no -PLUS mechanism: ${JSON.stringify(report.sasl)}\n${wire(run)}`);
    for (const a of plus) {
      assert.equal(a.gs2_header, "p=tls-unique,,", `${a.mechanism} binds with tls-unique`);
      assert.equal(a.outcome, "failure", `${a.mechanism} with tls-unique must fail\n${wire(run)}`);
      assert.equal(a.condition, "malformed-request");
      assert.equal(a.text, "Proposed channel binding type isn't supported.");
    }
  });

  test("SASL: SCRAM with the GS2 flag 'y' is refused because the server advertises -PLUS (RFC 5802 §6)", () => {
    report = requireResult(run);
    const y = report.sasl.filter((a) => a.mechanism?.startsWith("SCRAM-") && !a.mechanism.endsWith("-PLUS"));
    assert.ok(y.length > 0, `slixmpp tried no SCRAM without -PLUS: ${JSON.stringify(report.sasl)}\n${wire(run)}`);
    for (const a of y) {
      assert.equal(a.gs2_header, "y,,", `${a.mechanism}: slixmpp could bind, so it says 'y'`);
      assert.equal(a.outcome, "failure", `${a.mechanism} with 'y' must be refused (downgrade protection)\n${wire(run)}`);
      assert.equal(a.condition, "malformed-request");
    }
  });

  test("SASL: the login ends in success with PLAIN, on the same stream, after the refusals", () => {
    report = requireResult(run);
    const last = report.sasl.at(-1);
    assert.ok(last, `no SASL attempt recorded\n${wire(run)}`);
    assert.equal(last.outcome, "success", `the last attempt succeeds\n${wire(run)}`);
    assert.equal(last.mechanism, "PLAIN");
    assert.equal(last.authcid, "slix");
    assert.equal(report.mechanism_used, "PLAIN");
    assert.equal(report.sasl.filter((a) => a.outcome === "success").length, 1);
    // The exact sequence slixmpp 1.8.3 performs against the server (its own preference order).
    assert.deepEqual(report.sasl.map(summary), [
      ["SCRAM-SHA-256-PLUS", "p=tls-unique,,", "failure", "malformed-request"],
      ["SCRAM-SHA-1-PLUS", "p=tls-unique,,", "failure", "malformed-request"],
      ["SCRAM-SHA-256", "y,,", "failure", "malformed-request"],
      ["SCRAM-SHA-1", "y,,", "failure", "malformed-request"],
      ["PLAIN", null, "success", null],
    ]);
  });

  test("stream management (XEP-0198) is enabled", () => {
    report = requireResult(run);
    const advertised = report.features.some((f) => f.includes("{urn:xmpp:sm:3}sm"));
    assert.ok(advertised, `the server did not advertise <sm xmlns='urn:xmpp:sm:3'/> after authentication; features seen: ${JSON.stringify(report.features)}`);
    assert.equal(report.sm_failed, null, `the server answered <enable/> with <failed/>: ${report.sm_failed}`);
    assert.ok(report.sm_enabled, `slixmpp got no <enabled/>\n${wire(run)}`);
    assert.ok(report.sm_enabled.id, "an SM id, since slixmpp asked for resumption");
    assert.ok(report.sm_enabled.resume === "true" || report.sm_enabled.resume === "1", `resumption granted: ${JSON.stringify(report.sm_enabled)}`);
    // slixmpp sent initial presence, a roster get and a message after <enable/>, then <r/>.
    assert.ok(report.sm_sent >= 3, `stanzas slixmpp counted as sent: ${report.sm_sent}`);
    assert.equal(report.sm_acked, report.sm_sent, `the server's <a h/> covers every stanza slixmpp sent\n${wire(run)}`);
  });

  test("a message from slixmpp reaches the @xmpp/client user", () => {
    const msg = peer.stanzas.find((el) => el.is("message") && el.attrs.id === "slix-1");
    assert.ok(msg, `the @xmpp/client user did not receive slixmpp's message; it received:\n${peer.stanzas.map(String).join("\n")}\n${wire(run)}`);
    assert.equal(msg.attrs.from, `${slixBare}/slix`);
    assert.equal(msg.attrs.type, "chat");
    assert.equal(msg.getChildText("body"), "Hello from slixmpp, ünïcödé & <xml>");
  });

  test("a message from the @xmpp/client user reaches slixmpp at its full JID", () => {
    report = requireResult(run);
    const m = report.received.find((r) => r.id === "js-full");
    assert.ok(
      m,
      `slixmpp did not receive the message to its full JID; received ${JSON.stringify(report.received)}, errors ${JSON.stringify(report.errors)}\n${wire(run)}`,
    );
    assert.equal(m.from, peer.jid);
    assert.equal(m.to, `${slixBare}/slix`);
    assert.equal(m.type, "chat");
    assert.equal(m.body, "Hello slixmpp (full JID)");
  });

  test("a message from the @xmpp/client user reaches slixmpp at its bare JID (slixmpp sent initial presence)", () => {
    report = requireResult(run);
    const m = report.received.find((r) => r.id === "js-bare");
    assert.ok(
      m,
      `slixmpp did not receive the message to its bare JID (it is available: it sent initial presence); received ${JSON.stringify(report.received)}, errors ${JSON.stringify(report.errors)}\n${wire(run)}`,
    );
    assert.equal(m.from, peer.jid);
    assert.equal(m.body, "Hello slixmpp (bare JID)");
  });

  test("the script reports overall success", () => {
    report = requireResult(run);
    assert.deepEqual(report.failures, [], "what the script found missing (each is also a test above)");
    assert.equal(report.finished, "done", `the script hit its deadline\n${wire(run)}`);
    assert.equal(run.code, 0, wire(run));
  });
});

describe("slixmpp with channel binding switched off on the server", () => {
  let server: TestServer;

  before(async () => {
    server = await startServer();
    await server.addUser("nocb", "nocb-secret");
    server.configure({ sasl_channel_binding: false });
    await server.restart();
  });

  after(async () => {
    await server?.stop();
  });

  test("logs in with SCRAM-SHA-256 on the first attempt (GS2 flag 'y' is accepted when no -PLUS is advertised)", async () => {
    const run = await runScript<LoginReport>("login.py", {
      WARDEN_HOST: "127.0.0.1",
      WARDEN_PORT: String(server.c2sPort),
      XMPP_JID: "nocb@localhost",
      XMPP_PASSWORD: "nocb-secret",
      DEADLINE: "20",
    });
    const report = requireResult(run);
    assert.deepEqual(report.offered_mechanisms, [["SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN", "OAUTHBEARER"]], "no -PLUS offered");
    assert.ok(!report.features.some((f) => f.includes("{urn:xmpp:sasl-cb:0}sasl-channel-binding")), "no XEP-0440 channel binding list");
    assert.equal(report.auth_ok, true, wire(run));
    assert.equal(report.session_started, true, wire(run));
    assert.equal(report.mechanism_used, "SCRAM-SHA-256");
    assert.deepEqual(report.sasl.map(summary), [["SCRAM-SHA-256", "y,,", "success", null]], wire(run));
    assert.equal(report.jid, "nocb@localhost/slix-login");
    assert.equal(run.code, 0, wire(run));
  });
});
