// Interop: PEP between two independent clients on the real server. slixmpp (Debian's 1.8, its
// xep_0060/0163/0115/0084 plugins, test/interop/slixmpp/pep.py) is alice: it announces its own
// caps, publishes an avatar (XEP-0084), OMEMO device lists and bundles (XEP-0384: both
// namespaces, access model open) and a native bookmark (XEP-0402, whitelist), and waits for
// bob's avatar notification. @xmpp/client 0.14 is bob (alice's contact, +notify in his caps,
// which he answers the server's disco#info for), a second resource of alice, and eve, a
// stranger who may fetch the open OMEMO nodes and nothing else. No OMEMO session is set up:
// slixmpp's OMEMO plugin is not in Debian; what is proven is the PEP side OMEMO relies on.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { startServer, type TestServer } from "../helpers/server.js";
import { runSlixmpp } from "../helpers/slixmpp.js";
import { capsVer } from "../helpers/pep.js";
import { Interop, xml, type XmlElement } from "./xmppjs-client.js";

const NS_PUBSUB = "http://jabber.org/protocol/pubsub";
const NS_EVENT = "http://jabber.org/protocol/pubsub#event";
const NS_INFO = "http://jabber.org/protocol/disco#info";
const AXOLOTL = "eu.siacs.conversations.axolotl";
const NOTIFY = [`${AXOLOTL}.devicelist`, "urn:xmpp:omemo:2:devices", "urn:xmpp:avatar:metadata", "urn:xmpp:bookmarks:1"];

let server: TestServer;
const clients: Interop[] = [];

/** Logs in with @xmpp/client; with `notify`, announces caps for those nodes and answers the server's disco#info. */
async function js(username: string, resource: string, notify?: string[]): Promise<Interop> {
  const c = await Interop.online({ service: `xmpp://127.0.0.1:${server.c2sPort}`, username, password: `${username}-secret`, resource });
  clients.push(c);
  if (!notify) return (await c.send(xml("presence")), c);
  const features = ["http://jabber.org/protocol/caps", NS_INFO, ...notify.map((n) => `${n}+notify`)];
  const ver = capsVer("client/pc//Test", features);
  c.xmpp.iqCallee.get(NS_INFO, "query", () =>
    xml(
      "query",
      { xmlns: NS_INFO, node: `https://test.example#${ver}` },
      xml("identity", { category: "client", type: "pc", name: "Test" }),
      ...features.map((f) => xml("feature", { var: f })),
    ),
  );
  await c.send(xml("presence", {}, xml("c", { xmlns: "http://jabber.org/protocol/caps", hash: "sha-1", node: "https://test.example", ver })));
  return c;
}

const isEvent = (from: string, node: string) => (el: XmlElement) =>
  el.is("message") && el.attrs.from === from && el.getChild("event", NS_EVENT)?.getChild("items")?.attrs.node === node;

function items(c: Interop, owner: string, node: string, id?: string): Promise<XmlElement> {
  return c.iq("get", xml("pubsub", { xmlns: NS_PUBSUB }, id ? xml("items", { node }, xml("item", { id })) : xml("items", { node })), owner);
}

interface Report {
  ok: boolean;
  failures: string[];
  steps: string[];
  peer_avatar_sha1?: string;
}

const runPep = (env: Record<string, string>, onEvent: (ev: Record<string, unknown>) => void) =>
  runSlixmpp<Report>("pep.py", env, { onEvent, guardMs: 60_000, quiet: true });

before(async () => {
  server = await startServer();
  for (const u of ["alice", "bob", "eve"]) await server.addUser(u, `${u}-secret`);
});
after(async () => {
  for (const c of clients) await c.stop().catch(() => undefined);
  await server?.stop();
});

test("slixmpp and @xmpp/client: avatars, OMEMO device lists and bundles, bookmarks through PEP", async () => {
  // alice and bob subscribe to each other (with a temporary @xmpp/client session for alice).
  const aliceJs = await js("alice", "setup");
  const bob = await js("bob", "js", NOTIFY);
  await aliceJs.send(xml("presence", { to: "bob@localhost", type: "subscribe" }));
  await bob.waitFor("alice's request", (el) => el.is("presence") && el.attrs.type === "subscribe");
  await bob.send(xml("presence", { to: "alice@localhost", type: "subscribed" }));
  await bob.send(xml("presence", { to: "alice@localhost", type: "subscribe" }));
  await aliceJs.waitFor("bob's request", (el) => el.is("presence") && el.attrs.type === "subscribe");
  await aliceJs.send(xml("presence", { to: "bob@localhost", type: "subscribed" }));
  await bob.waitFor("alice's approval", (el) => el.is("presence") && el.attrs.type === "subscribed");
  const alice2 = await js("alice", "second", ["urn:xmpp:bookmarks:1"]);
  const eve = await js("eve", "js");

  const avatar = Buffer.from("bob's avatar, not really a PNG".repeat(10));
  const avatarId = createHash("sha1").update(avatar).digest("hex");
  const run = await runPep(
    { WARDEN_PORT: String(server.c2sPort), XMPP_JID: "alice@localhost", XMPP_PASSWORD: "alice-secret", PEER_JID: "bob@localhost", DEADLINE: "30" },
    (ev) => {
      if (ev.event !== "ready") return;
      // bob publishes his avatar (XEP-0084 §4.1, §4.2) while slixmpp is online.
      const pub = (node: string, id: string, payload: XmlElement) =>
        bob.iq("set", xml("pubsub", { xmlns: NS_PUBSUB }, xml("publish", { node }, xml("item", { id }, payload))));
      void pub("urn:xmpp:avatar:data", avatarId, xml("data", { xmlns: "urn:xmpp:avatar:data" }, avatar.toString("base64"))).then(() =>
        pub(
          "urn:xmpp:avatar:metadata",
          avatarId,
          xml("metadata", { xmlns: "urn:xmpp:avatar:metadata" }, xml("info", { id: avatarId, type: "image/png", bytes: String(avatar.length) })),
        ),
      );
    },
  );
  const wire = run.stderr
    .split("\n")
    .filter((l) => / (SEND|RECV): /.test(l))
    .join("\n");
  assert.ok(run.result?.ok, `slixmpp: ${JSON.stringify(run.result)}\n${wire.slice(-20000)}`);
  assert.equal(run.result.peer_avatar_sha1, avatarId, "slixmpp fetched bob's avatar data by the notified id");

  // bob, a contact with +notify, heard of alice's OMEMO device lists and avatar.
  for (const node of [`${AXOLOTL}.devicelist`, "urn:xmpp:omemo:2:devices", "urn:xmpp:avatar:metadata"])
    await bob.waitFor(`${node} from alice`, isEvent("alice@localhost", node));
  const list = (await bob.waitFor("devicelist", isEvent("alice@localhost", `${AXOLOTL}.devicelist`)))
    .getChild("event", NS_EVENT)!
    .getChild("items")!
    .getChild("item")!;
  assert.equal(list.getChild("list", AXOLOTL)?.getChild("device")?.attrs.id, "1234");
  // alice's other resource heard of the bookmark; bob (also +notify) did not, and may not read it.
  await alice2.waitFor("the bookmark", isEvent("alice@localhost", "urn:xmpp:bookmarks:1"));
  assert.equal(bob.stanzas.some(isEvent("alice@localhost", "urn:xmpp:bookmarks:1")), false);
  await assert.rejects(items(bob, "alice@localhost", "urn:xmpp:bookmarks:1"), /not-allowed/);

  // eve, a stranger, fetches the open OMEMO nodes, but not the avatar (presence access).
  const bundle = await items(eve, "alice@localhost", `${AXOLOTL}.bundles:1234`);
  assert.ok(bundle.getChild("pubsub", NS_PUBSUB)?.getChild("items")?.getChild("item")?.getChild("bundle", AXOLOTL), bundle.toString());
  for (const node of [`${AXOLOTL}.devicelist`, "urn:xmpp:omemo:2:devices"])
    assert.ok((await items(eve, "alice@localhost", node)).toString().includes("1234"), node);
  const b2 = await items(eve, "alice@localhost", "urn:xmpp:omemo:2:bundles", "1234");
  assert.ok(b2.getChild("pubsub", NS_PUBSUB)?.getChild("items")?.getChild("item")?.getChild("bundle", "urn:xmpp:omemo:2"), b2.toString());
  await assert.rejects(items(eve, "alice@localhost", "urn:xmpp:avatar:data"), /not-authorized/);
  // bob reads alice's avatar data by its id, and it is the avatar slixmpp published.
  const data = await items(
    bob,
    "alice@localhost",
    "urn:xmpp:avatar:data",
    createHash("sha1")
      .update(Buffer.from(Array.from({ length: 1024 }, (_, i) => i % 256)))
      .digest("hex"),
  );
  const bytes = Buffer.from(
    data.getChild("pubsub", NS_PUBSUB)!.getChild("items")!.getChild("item")!.getChild("data", "urn:xmpp:avatar:data")!.getText(),
    "base64",
  );
  assert.equal(bytes.length, 1024);
});
