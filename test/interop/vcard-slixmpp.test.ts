// Interop: slixmpp 1.8's own plugins (xep_0054 vCard, xep_0153 avatar, xep_0049 private XML,
// xep_0048 bookmarks, xep_0060/xep_0084 PEP, xep_0191 blocking; Debian's python3-slixmpp) against the real server,
// with an @xmpp/client peer that checks what reaches the other side: the avatar hash in
// presence, no message while blocked, the message after unblocking.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { startServer, type TestServer } from "../helpers/server.js";
import { runSlixmpp } from "../helpers/slixmpp.js";
import { Interop, xml } from "./xmppjs-client.js";

interface Report {
  ok: boolean;
  finished: string;
  failures: string[];
  steps: Record<string, unknown>;
  blocked_error: { condition: string; type: string; children: string[] } | null;
  pushes: Array<[string, string[]]>;
}

const runScript = (env: Record<string, string>) => runSlixmpp<Report>("vcard.py", env);

const wire = (stderr: string) =>
  stderr
    .split("\n")
    .filter((l) => / (SEND|RECV): /.test(l))
    .map((l) => l.replace(/^.* (SEND|RECV): /, "$1: "))
    .join("\n");

let server: TestServer;
let peer: Interop;
let report: Report;
let stderr = "";
const avatar = randomBytes(512);
const avatar2 = randomBytes(600);

before(async () => {
  server = await startServer();
  await server.addUser("slixv", "slixv-secret");
  await server.addUser("peerv", "peerv-secret");
  const service = `xmpp://127.0.0.1:${server.c2sPort}`;
  peer = await Interop.online({ service, username: "peerv", password: "peerv-secret", resource: "js" });
  await peer.iq("set", xml("vCard", { xmlns: "vcard-temp" }, xml("FN", {}, "Peer Person")));
  await peer.send(xml("presence"));
  // Mutual subscription, made beforehand with another client of the slixmpp account.
  const setup = await Interop.online({ service, username: "slixv", password: "slixv-secret", resource: "setup" });
  await setup.send(xml("presence"));
  for (const [x, y] of [
    [peer, setup],
    [setup, peer],
  ] as const) {
    await x.send(xml("presence", { to: y.bare, type: "subscribe" }));
    await y.waitFor("the request", (el) => el.is("presence") && el.attrs.type === "subscribe");
    await y.send(xml("presence", { to: x.bare, type: "subscribed" }));
    await x.waitFor("the approval", (el) => el.is("presence") && el.attrs.type === "subscribed");
  }
  await setup.stop();
  const run = await runScript({
    WARDEN_HOST: "127.0.0.1",
    WARDEN_PORT: String(server.c2sPort),
    XMPP_JID: "slixv@localhost",
    XMPP_PASSWORD: "slixv-secret",
    PEER_JID: "peerv@localhost",
    AVATAR_B64: avatar.toString("base64"),
    AVATAR2_B64: avatar2.toString("base64"),
    DEADLINE: "40",
  });
  stderr = run.stderr;
  assert.ok(run.result, `no result line (exit ${run.code})\n${wire(stderr)}\n${stderr.slice(-3000)}`);
  report = run.result;
});

after(async () => {
  await peer?.stop().catch(() => {});
  await server?.stop();
});

test("the script ran every step without an error", () => {
  assert.equal(report.ok, true, `${JSON.stringify(report.failures)}\n${wire(stderr)}`);
});

test("xep_0054 / xep_0153: an empty vCard at first, the peer's vCard, the avatar stored and read back", () => {
  assert.equal(report.steps.own_vcard_empty, true);
  assert.equal(report.steps.peer_fn, "Peer Person");
  assert.equal(report.steps.photo_back, true);
  assert.equal(report.steps.photo_type, "image/png");
});

test("xep_0153: the peer sees the avatar's SHA-1 in slixmpp's presence", async () => {
  const hash = createHash("sha1").update(avatar).digest("hex");
  await peer.waitFor("presence with the avatar hash", (el) => el.is("presence") && el.getChild("x", "vcard-temp:x:update")?.getChildText("photo") === hash);
});

test("xep_0049 / xep_0048: private XML and bookmarks stored and read back", () => {
  assert.equal(report.steps.private_nick, "Slix & co");
  assert.deepEqual(report.steps.bookmarks, [["room@conference.example.org", "slix", "The Room", true]]);
});

test("conversions seen by slixmpp: its private XML bookmarks as PEP items (XEP-0411), its XEP-0084 avatar in its vCard (XEP-0398)", async () => {
  assert.deepEqual(report.steps.pep_bookmarks, ["room@conference.example.org"]);
  assert.equal(report.steps.vcard_from_pep, true);
  const hash = createHash("sha1").update(avatar2).digest("hex");
  await peer.waitFor(
    "presence with the second avatar's hash",
    (el) => el.is("presence") && el.getChild("x", "vcard-temp:x:update")?.getChildText("photo") === hash,
  );
});

test("xep_0191: blocklist, block and unblock with pushes; the blocked message comes back as not-acceptable <blocked/>", async () => {
  assert.deepEqual(report.steps.blocklist_before, []);
  assert.deepEqual(report.steps.blocklist_blocked, ["peerv@localhost"]);
  assert.deepEqual(report.steps.blocklist_after, []);
  assert.deepEqual(report.pushes, [
    ["block", ["peerv@localhost"]],
    ["unblock", ["peerv@localhost"]],
  ]);
  assert.equal(report.blocked_error?.condition, "not-acceptable");
  assert.ok(report.blocked_error?.children.includes("{urn:xmpp:blocking:errors}blocked"), JSON.stringify(report.blocked_error));
  await peer.waitFor("the message after unblocking", (el) => el.is("message") && el.attrs.id === "after-unblock");
  assert.ok(!peer.stanzas.some((el) => el.attrs.id === "while-blocked"), "the message sent while blocked never arrived");
});
