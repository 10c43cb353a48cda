// Interop of the message archive (XEP-0313) with two independent clients: @xmpp/client 0.14
// devices exchange messages live (each delivered message carries a XEP-0359 stanza-id), then
// slixmpp's xep_0313 plugin logs in later as a second device of the same account and pages
// forward through the whole history with RSM; the ids it gets are the stanza-ids the first
// device saw. @xmpp/client queries its own archive the same way.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, type TestServer } from "../helpers/server.js";
import { runSlixmpp } from "../helpers/slixmpp.js";
import { Interop, xml, type XmlElement } from "./xmppjs-client.js";

const NS_MAM = "urn:xmpp:mam:2";
const NS_SID = "urn:xmpp:sid:0";
const SENT = 30;
const REPLIES = 5;

interface SyncReport {
  ok: boolean;
  finished: string;
  error: string | null;
  features: string[];
  fields: string[];
  messages: Array<{ archive_id: string; id: string; from: string; body: string; stamp: string | null }>;
}

describe("a second device syncs the whole history", () => {
  let server: TestServer;
  let alice: Interop;
  let bob: Interop;
  /** The stanza-id (by bob) of each message bob's first device received, by message id. */
  const seenByBob = new Map<string, string>();

  before(async () => {
    server = await startServer();
    await server.addUser("alice", "alice-secret");
    await server.addUser("bob", "bob-secret");
    const service = `xmpp://127.0.0.1:${server.c2sPort}`;
    alice = await Interop.online({ service, username: "alice", password: "alice-secret", resource: "laptop" });
    bob = await Interop.online({ service, username: "bob", password: "bob-secret", resource: "phone" });
    await alice.send(xml("presence"));
    await bob.send(xml("presence"));
    for (let i = 0; i < SENT; i++) await alice.send(xml("message", { to: "bob@localhost", type: "chat", id: `a${i}` }, xml("body", {}, `from alice ${i}`)));
    for (let i = 0; i < SENT; i++) {
      const m = await bob.waitFor(`message a${i}`, (el) => el.is("message") && el.attrs.id === `a${i}`);
      const sid = m.getChildren("stanza-id", NS_SID).find((s: XmlElement) => s.attrs.by === "bob@localhost");
      assert.ok(sid, `a stanza-id by bob on ${m.toString()}`);
      seenByBob.set(`a${i}`, sid.attrs.id as string);
    }
    for (let i = 0; i < REPLIES; i++) await bob.send(xml("message", { to: alice.jid, type: "chat", id: `b${i}` }, xml("body", {}, `from bob ${i}`)));
    await alice.waitFor("bob's last reply", (el) => el.is("message") && el.attrs.id === `b${REPLIES - 1}`);
  });
  after(async () => {
    await alice?.stop();
    await bob?.stop();
    await server?.stop();
  });

  test("slixmpp (xep_0313 iterate, pages of 7) gets all 35 messages in order, with the ids the first device saw", async () => {
    const run = await runSlixmpp<SyncReport>("mam.py", {
      WARDEN_HOST: "127.0.0.1",
      WARDEN_PORT: String(server.c2sPort),
      XMPP_JID: "bob@localhost",
      XMPP_PASSWORD: "bob-secret",
      PAGE: "7",
    });
    const tail = run.stderr.split("\n").slice(-60).join("\n");
    assert.ok(run.result, `no result from the script (exit ${run.code})\n${tail}`);
    const r = run.result;
    assert.equal(r.ok, true, `the sync failed: ${r.error} (${r.finished})\n${tail}`);
    for (const f of [NS_MAM, `${NS_MAM}#extended`, NS_SID]) assert.ok(r.features.includes(f), `${f} in ${r.features.join(" ")}`);
    for (const f of ["with", "start", "end", "before-id", "after-id", "ids"]) assert.ok(r.fields.includes(f), `field ${f} in ${r.fields.join(" ")}`);
    assert.deepEqual(
      r.messages.map((m) => m.id),
      [...Array.from({ length: SENT }, (_, i) => `a${i}`), ...Array.from({ length: REPLIES }, (_, i) => `b${i}`)],
    );
    assert.deepEqual(
      r.messages.slice(0, SENT).map((m) => m.archive_id),
      Array.from({ length: SENT }, (_, i) => seenByBob.get(`a${i}`)),
      "the archive ids are the stanza-ids delivered live",
    );
    assert.equal(r.messages[0]!.body, "from alice 0");
    assert.equal(r.messages[0]!.from, alice.jid);
    assert.equal(r.messages[SENT]!.from, bob.jid, "bob's own messages, sent from his first device");
    assert.ok(r.messages.every((m) => m.stamp !== null));
    assert.equal(new Set(r.messages.map((m) => m.archive_id)).size, SENT + REPLIES, "every archive id is unique");
  });

  test("@xmpp/client queries its own archive: the last page, then the page before it", async () => {
    const results: XmlElement[] = [];
    const onStanza = (el: XmlElement) => {
      const res = el.getChild("result", NS_MAM);
      if (el.is("message") && res?.attrs.queryid === "js1") results.push(res);
    };
    alice.xmpp.on("stanza", onStanza);
    try {
      const rsm = (inner: XmlElement) => xml("set", { xmlns: "http://jabber.org/protocol/rsm" }, xml("max", {}, "10"), inner);
      const fin1 = await alice.iq("set", xml("query", { xmlns: NS_MAM, queryid: "js1" }, rsm(xml("before"))));
      const last = fin1.getChild("fin", NS_MAM) ?? fin1;
      assert.equal(results.length, 10);
      const bodies = results.map((r) => r.getChild("forwarded")?.getChild("message")?.getChildText("body"));
      assert.deepEqual(bodies, [...Array.from({ length: 5 }, (_, i) => `from alice ${25 + i}`), ...Array.from({ length: REPLIES }, (_, i) => `from bob ${i}`)]);
      const first = last.getChild("set")?.getChildText("first");
      assert.ok(first, `a <first/> in ${fin1.toString()}`);
      assert.equal(first, results[0]!.attrs.id);
      results.length = 0;
      const fin2 = await alice.iq("set", xml("query", { xmlns: NS_MAM, queryid: "js1" }, rsm(xml("before", {}, first))));
      assert.equal(results.length, 10);
      assert.equal(results[9]!.getChild("forwarded")?.getChild("message")?.getChildText("body"), "from alice 24");
      assert.notEqual((fin2.getChild("fin", NS_MAM) ?? fin2).attrs.complete, "true");
    } finally {
      alice.xmpp.removeListener("stanza", onStanza);
    }
  });
});
