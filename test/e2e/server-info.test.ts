// What the server says of itself: contact addresses (XEP-0157) as the serverinfo form in its
// disco#info, and its entity capabilities (XEP-0115 §6.3) in the stream features after
// authentication, whose 'ver' is recomputed here from the disco#info reply by an
// implementation of §5 written for this test; NODE#VER is answered, other nodes are not; a
// change of configuration changes the hash. Bad contact_info stops the server at start.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { startServer, TestServer } from "../helpers/server.js";
import { RawClient } from "../helpers/raw-client.js";
import { child, elementsOf, show, type XmlEl } from "../helpers/xml.js";
import { expectStanzaError, waitForElement } from "../helpers/xmpp-assert.js";

const NS_INFO = "http://jabber.org/protocol/disco#info";
const NS_CAPS = "http://jabber.org/protocol/caps";
const CONTACTS = {
  abuse: ["mailto:abuse@example.org", "xmpp:abuse@example.org"],
  admin: ["xmpp:admin@example.org"],
  security: ["mailto:security@example.org"],
  support: ["https://example.org/support", "xmpp:support@conference.example.org?join"],
};

let server: TestServer;
const clients: RawClient[] = [];

before(async () => {
  server = await startServer({ contact_info: CONTACTS });
  await server.addUser("alice", "pw-alice");
});

after(async () => {
  for (const c of clients) c.close();
  await server?.stop();
});

/** Logs in with PLAIN and returns the client and the <c/> of the stream features after authentication. */
async function loginWithCaps(srv: TestServer): Promise<{ c: RawClient; caps: XmlEl | undefined; preAuthCaps: boolean }> {
  const c = await RawClient.connect(srv.c2sPort);
  clients.push(c);
  await c.startTls();
  c.openStream();
  await c.waitFor(/<\/stream:features>/);
  const preAuthCaps = elementsOf(c.received).some((f) => f.name === "features" && f.children.some((x) => x.ns === NS_CAPS));
  c.clear();
  c.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${Buffer.from("\0alice\0pw-alice").toString("base64")}</auth>`);
  await c.waitFor(/<success/);
  c.clear();
  c.openStream();
  await c.waitFor(/<\/stream:features>/);
  const features = elementsOf(c.received).find((e) => e.name === "features")!;
  c.clear();
  c.send(`<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>`);
  await c.waitFor(/<\/iq>/);
  c.clear();
  return { c, caps: child(features, "c", NS_CAPS), preAuthCaps };
}

async function discoInfo(c: RawClient, node?: string): Promise<{ id: string; reply: XmlEl }> {
  const id = "d" + Math.random().toString(36).slice(2);
  c.send(`<iq type='get' id='${id}' to='localhost'><query xmlns='${NS_INFO}'${node ? ` node='${node}'` : ""}/></iq>`);
  return { id, reply: await waitForElement(c, (el) => el.name === "iq" && el.attrs.id === id, "disco#info") };
}

/** XEP-0115 §5.1 over a parsed disco#info <query/>, written from the XEP's text for this test. */
function verOf(query: XmlEl): string {
  const cmp = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
  const ids = query.children
    .filter((e) => e.name === "identity")
    .map((e) => [e.attrs.category, e.attrs.type, e.attrs["xml:lang"] ?? "", e.attrs.name ?? ""].join("/"))
    .sort(cmp);
  const feats = query.children
    .filter((e) => e.name === "feature")
    .map((e) => e.attrs.var!)
    .sort(cmp);
  const forms = query.children
    .filter((e) => e.name === "x" && e.ns === "jabber:x:data")
    .map((x) => {
      const fields = x.children.filter((f) => f.name === "field");
      const type = fields.find((f) => f.attrs.var === "FORM_TYPE")!.children[0]!.text;
      const rest = fields
        .filter((f) => f.attrs.var !== "FORM_TYPE")
        .sort((a, b) => cmp(a.attrs.var!, b.attrs.var!))
        .map((f) => [f.attrs.var!, ...f.children.map((v) => v.text).sort(cmp)].join("<"));
      return { type, s: [type, ...rest].join("<") };
    })
    .sort((a, b) => cmp(a.type, b.type));
  const s = [...ids, ...feats, ...forms.map((f) => f.s)].map((p) => p + "<").join("");
  return createHash("sha1").update(s).digest("base64");
}

test("contact_info is the serverinfo form of the server's disco#info, one field per kind (XEP-0157)", async () => {
  const { c } = await loginWithCaps(server);
  const { reply } = await discoInfo(c);
  const serverinfo = (e: (typeof reply.children)[number]) =>
    e.children.some((f) => f.attrs.var === "FORM_TYPE" && f.children.some((v) => v.text === "http://jabber.org/network/serverinfo"));
  // Other features have forms of their own (XEP-0363's max-file-size): exactly one is the serverinfo form.
  const forms = child(reply, "query")!.children.filter((e) => e.name === "x" && e.ns === "jabber:x:data" && serverinfo(e));
  assert.equal(forms.length, 1, show(reply));
  const form = forms[0]!;
  assert.equal(form.attrs.type, "result");
  const fields = Object.fromEntries(form.children.map((f) => [f.attrs.var!, { type: f.attrs.type, values: f.children.map((v) => v.text) }]));
  assert.deepEqual(fields, {
    FORM_TYPE: { type: "hidden", values: ["http://jabber.org/network/serverinfo"] },
    "abuse-addresses": { type: undefined, values: CONTACTS.abuse },
    "admin-addresses": { type: undefined, values: CONTACTS.admin },
    "security-addresses": { type: undefined, values: CONTACTS.security },
    "support-addresses": { type: undefined, values: CONTACTS.support },
  });
});

test("the stream features after authentication carry the server's caps; ver is XEP-0115 §5 over disco#info; NODE#VER is answered", async () => {
  const { c, caps, preAuthCaps } = await loginWithCaps(server);
  assert.equal(preAuthCaps, false, "offered after authentication only");
  assert.ok(caps, "a <c/> in the stream features");
  assert.equal(caps.attrs.hash, "sha-1");
  assert.ok(caps.attrs.node && /^https:\/\//.test(caps.attrs.node), `node names the software: ${caps.attrs.node}`);
  const { reply } = await discoInfo(c);
  const query = child(reply, "query")!;
  assert.ok(query.children.some((e) => e.name === "identity" && e.attrs.category === "server" && e.attrs.type === "im"));
  assert.equal(caps.attrs.ver, verOf(query), `ver over ${show(query)}`);

  const node = `${caps.attrs.node}#${caps.attrs.ver}`;
  const byNode = await discoInfo(c, node);
  assert.equal(byNode.reply.attrs.type, "result", show(byNode.reply));
  const nodeQuery = child(byNode.reply, "query")!;
  assert.equal(nodeQuery.attrs.node, node);
  assert.equal(verOf(nodeQuery), caps.attrs.ver, "the same identities, features and forms");
  // A stale or made-up node is not ours.
  const stale = await discoInfo(c, `${caps.attrs.node}#AAAAAAAAAAAAAAAAAAAAAAAAAAA=`);
  await expectStanzaError(c, "iq", stale.id, "cancel", "item-not-found");
});

test("changing the configuration changes the hash: it follows what disco#info says", async () => {
  const other = await startServer({ contact_info: { abuse: ["mailto:other@example.org"] } });
  try {
    await other.addUser("alice", "pw-alice");
    const a = await loginWithCaps(server);
    const b = await loginWithCaps(other);
    assert.notEqual(a.caps!.attrs.ver, b.caps!.attrs.ver);
    assert.equal(b.caps!.attrs.ver, verOf(child((await discoInfo(b.c)).reply, "query")!));
  } finally {
    await other.stop();
  }
});

test("bad contact_info stops the server at start, naming the key", async () => {
  for (const [bad, says] of [
    [{ abuse: ["not a uri"] }, /contact_info\.abuse/],
    [{ abuse: ["mailto:a@b"], complaints: ["mailto:c@d"] }, /unknown kind 'complaints'/],
    [{ admin: "xmpp:admin@example.org\nxmpp:x@y" }, /contact_info\.admin/],
  ] as const) {
    const s = new TestServer({ contact_info: bad });
    await assert.rejects(s.start(), says);
  }
});
