// What a polite client never sends, sent over real sockets to the real server: each test
// checks the exact stream error, SASL failure or stanza error, and whether the connection is
// closed (stream errors) or stays usable (SASL failures, stanza errors).
import { test, before, after, afterEach, describe } from "node:test";
import assert from "node:assert/strict";
import { startServer, type TestServer } from "../helpers/server.js";
import { RawClient } from "../helpers/raw-client.js";
import { child, NS_SASL, NS_STREAM, parseServerOutput, show } from "../helpers/xml.js";
import { expectHeaderFirst, expectSaslFailure, expectStanzaError, expectStreamError, ping, waitForElement } from "../helpers/xmpp-assert.js";
import { scramAuth } from "../helpers/scram-client.js";

const HEADER_ATTRS = "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'";
const plain = (user: string, pw: string) => `<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${Buffer.from(`\0${user}\0${pw}`).toString("base64")}</auth>`;

let server: TestServer;
const clients: RawClient[] = [];

async function connect(srv: TestServer = server): Promise<RawClient> {
  const c = await RawClient.connect(srv.c2sPort);
  clients.push(c);
  return c;
}

/** A plain-TCP stream whose header was answered with features. */
async function opened(srv: TestServer = server): Promise<RawClient> {
  const c = await connect(srv);
  c.openStream();
  await c.waitFor(/<\/stream:features>/);
  return c;
}

/** A TLS stream, restarted, whose features (with SASL mechanisms) have arrived. */
async function readyForAuth(srv: TestServer = server): Promise<RawClient> {
  const c = await connect(srv);
  await c.startTls();
  c.openStream();
  await c.waitFor(/<\/stream:features>/);
  c.clear();
  return c;
}

async function loggedIn(user: string, pw: string, resource?: string, srv: TestServer = server): Promise<RawClient> {
  const c = await connect(srv);
  await c.login(user, pw, resource);
  return c;
}

before(async () => {
  server = await startServer({ c2s_stanza_size_limit: 4096 });
  for (const u of ["alice", "bob", "carol", "dave", "erin"]) await server.addUser(u, `${u}-secret`);
});

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

after(async () => {
  await server?.stop();
});

describe("SASL", () => {
  test("PLAIN before TLS: no mechanisms offered, <auth/> gets encryption-required, and STARTTLS still works", async () => {
    const c = await opened();
    const features = parseServerOutput(c.received).find((i) => i.kind === "element" && i.el.name === "features")!;
    assert.ok(features && features.kind === "element");
    assert.equal(child(features.el, "mechanisms", NS_SASL), undefined, `mechanisms offered before TLS: ${show(features.el)}`);
    assert.ok(child(child(features.el, "starttls")!, "required"), `STARTTLS not required: ${show(features.el)}`);
    c.clear();
    c.send(plain("alice", "alice-secret"));
    await expectSaslFailure(c, "encryption-required");
    // The failure leaves the stream open: the client can still do it right.
    await c.upgradeTls();
    c.openStream();
    await c.waitFor(/<\/stream:features>/);
    c.clear();
    c.send(plain("alice", "alice-secret"));
    await c.waitFor(/<success/);
  });

  test("wrong password: <failure><not-authorized/>, then the right password succeeds on the same stream", async () => {
    const c = await readyForAuth();
    c.send(plain("carol", "not-her-password"));
    await expectSaslFailure(c, "not-authorized");
    c.clear();
    c.send(plain("carol", "carol-secret"));
    await c.waitFor(/<success/);
  });

  test("direct TLS: mechanisms at once, no STARTTLS; a wrong password gets <not-authorized/>", async () => {
    const c = await RawClient.connect(server.tlsPort, { directTls: true, ca: server.caCert });
    clients.push(c);
    c.openStream();
    await c.waitFor(/<\/stream:features>/);
    const features = parseServerOutput(c.received).find((i) => i.kind === "element" && i.el.name === "features")!;
    assert.ok(features.kind === "element" && child(features.el, "mechanisms", NS_SASL), `no mechanisms over direct TLS: ${c.received}`);
    assert.equal(child(features.el, "starttls"), undefined, "STARTTLS offered on a TLS connection");
    c.clear();
    c.send(plain("alice", "wrong"));
    await expectSaslFailure(c, "not-authorized");
    c.clear();
    c.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    await c.waitFor(/<failure xmlns=.urn:ietf:params:xml:ns:xmpp-tls./);
    await c.waitClosed();
  });

  test("unknown user: the same <failure><not-authorized/>", async () => {
    const c = await readyForAuth();
    c.send(plain("nobody-here", "whatever"));
    await expectSaslFailure(c, "not-authorized");
  });

  test("SCRAM-SHA-256 with the wrong password: <failure><not-authorized/>; with the right one: success", async () => {
    const c = await readyForAuth();
    await scramAuth(c, "dave", "not-daves-password");
    await expectSaslFailure(c, "not-authorized");
    c.clear();
    await scramAuth(c, "dave", "dave-secret");
    const success = await waitForElement(c, (el) => el.ns === NS_SASL && (el.name === "success" || el.name === "failure"), "the SASL outcome");
    assert.equal(success.name, "success", `right SCRAM password refused: ${show(success)}`);
  });

  test("SCRAM-SHA-256 for an unknown user: <failure><not-authorized/>", async () => {
    const c = await readyForAuth();
    await scramAuth(c, "nobody-here", "whatever");
    await expectSaslFailure(c, "not-authorized");
  });

  test("rate limiter: after login_failure_limit failures the right password gets temporary-auth-failure", async () => {
    const limited = await startServer({ login_failure_limit: 2 });
    try {
      await limited.addUser("frank", "frank-secret");
      await limited.addUser("grace", "grace-secret");
      const c = await readyForAuth(limited);
      for (let i = 0; i < 2; i++) {
        c.clear();
        c.send(plain("frank", `guess-${i}`));
        await expectSaslFailure(c, "not-authorized");
      }
      c.clear();
      c.send(plain("frank", "frank-secret"));
      await expectSaslFailure(c, "temporary-auth-failure");
      // On a fresh connection too: the limit is on the account, not the stream.
      const d = await readyForAuth(limited);
      d.send(plain("frank", "frank-secret"));
      await expectSaslFailure(d, "temporary-auth-failure");
      // Another account from the same address is not locked out by frank's failures.
      d.clear();
      d.send(plain("grace", "grace-secret"));
      await d.waitFor(/<success/);
    } finally {
      await limited.stop();
    }
  });
});

describe("restricted XML (RFC 6120 §11.1)", () => {
  test("a DTD before the stream header: header, then <restricted-xml/>", async () => {
    const c = await connect();
    c.send(`<?xml version='1.0'?><!DOCTYPE stream:stream><stream:stream ${HEADER_ATTRS} to='localhost'>`);
    await expectStreamError(c, "restricted-xml");
    expectHeaderFirst(c);
  });

  test("an entity declaration (in an internal DTD subset) before the stream header: <restricted-xml/>", async () => {
    const c = await connect();
    c.send(`<?xml version='1.0'?><!DOCTYPE stream:stream [<!ENTITY boom 'boom'>]><stream:stream ${HEADER_ATTRS} to='localhost'>`);
    await expectStreamError(c, "restricted-xml");
    expectHeaderFirst(c);
  });

  test("<!DOCTYPE inside the stream: <restricted-xml/>", async () => {
    const c = await opened();
    c.send("<!DOCTYPE foo>");
    await expectStreamError(c, "restricted-xml");
  });

  test("an entity declaration inside the stream (in a DTD subset): <restricted-xml/>", async () => {
    const c = await opened();
    c.send("<!DOCTYPE foo [<!ENTITY boom 'boom'>]>");
    await expectStreamError(c, "restricted-xml");
  });

  test("a bare <!ENTITY> declaration inside the stream: <restricted-xml/>", async () => {
    const c = await opened();
    c.send("<!ENTITY boom 'boom'>");
    await expectStreamError(c, "restricted-xml");
  });

  test("a comment inside the stream: <restricted-xml/>", async () => {
    const c = await opened();
    c.send("<!-- hello -->");
    await expectStreamError(c, "restricted-xml");
  });

  test("a comment inside a stanza of an authenticated stream: <restricted-xml/>", async () => {
    const c = await loggedIn("alice", "alice-secret");
    c.send("<message to='bob@localhost' type='chat'><body>hi<!-- sneaky --></body></message>");
    await expectStreamError(c, "restricted-xml");
  });

  test("a processing instruction inside the stream: <restricted-xml/>", async () => {
    const c = await opened();
    c.send("<?evil instruction?>");
    await expectStreamError(c, "restricted-xml");
  });

  test("a processing instruction inside a stanza of an authenticated stream: <restricted-xml/>", async () => {
    const c = await loggedIn("alice", "alice-secret");
    c.send("<message to='bob@localhost' type='chat'><?evil instruction?><body>hi</body></message>");
    await expectStreamError(c, "restricted-xml");
  });
});

describe("stream-level errors", () => {
  test("a connection over c2s_max_connections_per_ip: <resource-constraint/>, and one more is let in once another closes", async () => {
    const capped = await startServer({ c2s_max_connections_per_ip: 2 });
    try {
      const a = await RawClient.connect(capped.c2sPort);
      const b = await RawClient.connect(capped.c2sPort);
      a.openStream();
      b.openStream();
      await a.waitFor(/<\/stream:features>/);
      await b.waitFor(/<\/stream:features>/);
      const over = await RawClient.connect(capped.c2sPort);
      await expectStreamError(over, "resource-constraint");
      a.close();
      // Once the server has seen that close, a new connection is let in (the count is released).
      let admitted = false;
      for (let i = 0; i < 50 && !admitted; i++) {
        const again = await RawClient.connect(capped.c2sPort);
        again.openStream();
        admitted = await again.waitFor(/<\/stream:features>|resource-constraint/).then((m) => m[0] !== "resource-constraint");
        again.close();
        if (!admitted) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(admitted, "a connection is admitted again after one of the two closed");
      b.close();
    } finally {
      await capped.stop();
    }
  });

  test("a 10 KB stanza over c2s_stanza_size_limit (4096), sent in one piece: <policy-violation/>", async () => {
    const c = await loggedIn("alice", "alice-secret");
    c.send(`<message to='bob@localhost' type='chat' id='big1'><body>${"x".repeat(10 * 1024)}</body></message>`);
    await expectStreamError(c, "policy-violation");
  });

  test("a 10 KB stanza over c2s_stanza_size_limit, trickled in pieces: <policy-violation/>", async () => {
    const c = await loggedIn("alice", "alice-secret");
    c.send("<message to='bob@localhost' type='chat' id='big2'><body>");
    for (let i = 0; i < 10 && !c.closed; i++) {
      c.send("y".repeat(1024));
      await new Promise((r) => setImmediate(r));
    }
    await expectStreamError(c, "policy-violation");
  });

  test("a stanza just under the limit is accepted", async () => {
    const c = await loggedIn("alice", "alice-secret");
    c.send(`<iq type='get' id='near' to='localhost'><ping xmlns='urn:xmpp:ping'>${" ".repeat(3000)}</ping></iq>`);
    const reply = await waitForElement(c, (el) => el.name === "iq" && el.attrs.id === "near", "the pong");
    assert.equal(reply.attrs.type, "result");
  });

  test("malformed XML (<message><body></message>): <not-well-formed/>", async () => {
    const c = await loggedIn("alice", "alice-secret");
    c.send("<message><body></message>");
    await expectStreamError(c, "not-well-formed");
  });

  test("a second stream header mid-stream (authenticated, bound): <invalid-xml/>", async () => {
    const c = await loggedIn("alice", "alice-secret");
    c.send(`<stream:stream ${HEADER_ATTRS} to='localhost'>`);
    await expectStreamError(c, "invalid-xml");
  });

  test("a second stream header mid-stream (before authentication): <invalid-xml/>", async () => {
    const c = await opened();
    c.clear();
    c.send(`<stream:stream ${HEADER_ATTRS} to='localhost'>`);
    await expectStreamError(c, "invalid-xml");
  });

  test("a second stream header with an XML declaration mid-stream: <not-well-formed/> (misplaced declaration)", async () => {
    const c = await loggedIn("alice", "alice-secret");
    c.send(`<?xml version='1.0'?><stream:stream ${HEADER_ATTRS} to='localhost'>`);
    await expectStreamError(c, "not-well-formed");
  });

  test("wrong 'to' domain: header, then <host-unknown/>", async () => {
    const c = await connect();
    c.openStream("example.org");
    await expectStreamError(c, "host-unknown");
    const h = expectHeaderFirst(c);
    assert.equal(h.attrs.from, "localhost");
  });

  test("no 'to' at all: <host-unknown/>", async () => {
    const c = await connect();
    c.send(`<?xml version='1.0'?><stream:stream ${HEADER_ATTRS}>`);
    await expectStreamError(c, "host-unknown");
    expectHeaderFirst(c);
  });

  test("wrong stream namespace: header, then <invalid-namespace/>", async () => {
    const c = await connect();
    c.send("<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://example.org/not-streams' to='localhost' version='1.0'>");
    await expectStreamError(c, "invalid-namespace");
    expectHeaderFirst(c);
  });

  test("wrong default namespace (jabber:server on a c2s port): <invalid-namespace/>", async () => {
    const c = await connect();
    c.send(`<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='${NS_STREAM}' to='localhost' version='1.0'>`);
    await expectStreamError(c, "invalid-namespace");
  });

  test("an undeclared namespace prefix: <bad-namespace-prefix/>", async () => {
    const c = await loggedIn("alice", "alice-secret");
    c.send("<foo:message to='bob@localhost'><body>hi</body></foo:message>");
    await expectStreamError(c, "bad-namespace-prefix");
  });

  test("stream version 2.0: header, then <unsupported-version/>", async () => {
    const c = await connect();
    c.send(`<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='${NS_STREAM}' to='localhost' version='2.0'>`);
    await expectStreamError(c, "unsupported-version");
    expectHeaderFirst(c);
  });

  test("an unknown top-level element after authentication: <unsupported-stanza-type/>", async () => {
    const c = await loggedIn("alice", "alice-secret");
    c.send("<frob xmlns='urn:example:not-a-stanza'/>");
    await expectStreamError(c, "unsupported-stanza-type");
  });

  test("the client closing its stream is answered with </stream:stream> and no error", async () => {
    const c = await loggedIn("alice", "alice-secret");
    c.send("</stream:stream>");
    await c.waitClosed();
    const items = parseServerOutput(c.received);
    assert.deepEqual(
      items.map((i) => i.kind),
      ["close"],
      `unexpected output: ${c.received}`,
    );
  });

  test("a message before authentication: <not-authorized/>", async () => {
    const c = await opened();
    c.send("<message to='alice@localhost' type='chat'><body>let me in</body></message>");
    await expectStreamError(c, "not-authorized");
  });

  test("an IQ after TLS but before authentication: <not-authorized/>", async () => {
    const c = await readyForAuth();
    c.send("<iq type='get' id='early' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
    await expectStreamError(c, "not-authorized");
  });

  test("bind conflict: the first session gets <conflict/> and is closed, the second gets the JID", async () => {
    const first = await loggedIn("bob", "bob-secret", "desk");
    const second = await connect();
    const jid = await second.login("bob", "bob-secret", "desk");
    assert.equal(jid, "bob@localhost/desk");
    await expectStreamError(first, "conflict");
    await ping(second);
  });

  test("unauthenticated connections time out after c2s_timeout: <connection-timeout/>", async () => {
    const slow = await startServer({ c2s_timeout: 1 });
    try {
      const c = await opened(slow);
      await expectStreamError(c, "connection-timeout", 15_000);
    } finally {
      await slow.stop();
    }
  });
});

describe("whitespace keepalives", () => {
  test("whitespace between stanzas is accepted and a ping still works", async () => {
    const c = await loggedIn("erin", "erin-secret");
    for (let i = 0; i < 5; i++) c.send(" \n\t \r\n ");
    await ping(c);
    c.send("   ");
    await ping(c);
    assert.equal(c.closed, false);
  });
});

describe("stanza errors (the stream stays open)", () => {
  test("an IQ with an unknown payload to the server: <service-unavailable/> type cancel", async () => {
    const c = await loggedIn("alice", "alice-secret");
    c.send("<iq type='get' id='u1' to='localhost'><query xmlns='urn:example:unknown'/></iq>");
    await expectStanzaError(c, "iq", "u1", "cancel", "service-unavailable");
    c.send("<iq type='set' id='u2'><frobnicate xmlns='urn:example:unknown'/></iq>");
    await expectStanzaError(c, "iq", "u2", "cancel", "service-unavailable");
    await ping(c);
  });

  test("an IQ without an id: <bad-request/> type modify", async () => {
    const c = await loggedIn("alice", "alice-secret");
    c.send("<iq type='get' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
    await expectStanzaError(c, "iq", undefined, "modify", "bad-request");
    await ping(c);
  });

  test("an IQ get without a payload, or of an unknown type: <bad-request/> type modify", async () => {
    const c = await loggedIn("alice", "alice-secret");
    c.send("<iq type='get' id='empty' to='localhost'/>");
    await expectStanzaError(c, "iq", "empty", "modify", "bad-request");
    c.send("<iq type='fetch' id='bogus' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
    await expectStanzaError(c, "iq", "bogus", "modify", "bad-request");
    c.send("<iq type='get' id='two' to='localhost'><ping xmlns='urn:xmpp:ping'/><ping xmlns='urn:xmpp:ping'/></iq>");
    await expectStanzaError(c, "iq", "two", "modify", "bad-request");
    await ping(c);
  });

  test("a malformed 'to' JID: <jid-malformed/> type modify", async () => {
    const c = await loggedIn("alice", "alice-secret");
    c.send("<message id='bad-to' to='a@b@c' type='chat'><body>hi</body></message>");
    await expectStanzaError(c, "message", "bad-to", "modify", "jid-malformed");
    await ping(c);
  });

  test("a message to another domain: <remote-server-not-found/> type cancel", async () => {
    const c = await loggedIn("alice", "alice-secret");
    c.send("<message id='m1' to='someone@example.org' type='chat'><body>hello</body></message>");
    const reply = await expectStanzaError(c, "message", "m1", "cancel", "remote-server-not-found");
    assert.equal(reply.attrs.from, "someone@example.org");
    await ping(c);
  });

  test("a message to a non-existent local user: <service-unavailable/> type cancel", async () => {
    const c = await loggedIn("alice", "alice-secret");
    c.send("<message id='m2' to='ghost@localhost' type='chat'><body>anyone?</body></message>");
    await expectStanzaError(c, "message", "m2", "cancel", "service-unavailable");
    await ping(c);
  });
});
