// The SOCKS5 bytestreams proxy (XEP-0065) end to end: the server lists it, the proxy answers
// disco and the streamhost query, and two accounts move bytes through it with a SOCKS5 client
// written here from RFC 1928 (independent of the server's), checked byte for byte. Then the
// refusals: activation by someone else than the initiator, with one party missing, for a
// target that is not connected, a requester outside proxy65_acl, a third SOCKS5 connection,
// and a server without the component (the domain is then not ours).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { startServer, type TestServer } from "../helpers/server.js";
import { RawClient } from "../helpers/raw-client.js";
import { child, show } from "../helpers/xml.js";
import { expectStanzaError, waitForElement } from "../helpers/xmpp-assert.js";

const NS_BS = "http://jabber.org/protocol/bytestreams";
const PROXY = "proxy.localhost";

let server: TestServer;
let plain: TestServer;
let proxyPort = 0;
const clients: RawClient[] = [];
const sockets: net.Socket[] = [];

before(async () => {
  server = await startServer({
    components: { [PROXY]: "proxy65" },
    proxy65_ports: [0],
    proxy65_interfaces: ["127.0.0.1"],
    proxy65_address: "127.0.0.1",
    proxy65_acl: ["alice@localhost", "bob@localhost"],
  });
  proxyPort = server.logs.find((l) => l.msg === "proxy65 listening")!.port as number;
  for (const u of ["alice", "bob", "eve"]) await server.addUser(u, `pw-${u}`);
  plain = await startServer();
  await plain.addUser("alice", "pw-alice");
});

after(async () => {
  for (const c of clients) c.close();
  for (const s of sockets) s.destroy();
  await server?.stop();
  await plain?.stop();
});

async function login(srv: TestServer, user: string, resource: string): Promise<{ c: RawClient; jid: string }> {
  const c = await RawClient.connect(srv.c2sPort);
  clients.push(c);
  const jid = await c.login(user, `pw-${user}`, resource);
  return { c, jid };
}

let ids = 0;
async function iq(c: RawClient, type: "get" | "set", to: string, payload: string) {
  const id = `q${++ids}`;
  c.send(`<iq type='${type}' id='${id}' to='${to}'>${payload}</iq>`);
  return { id, reply: await waitForElement(c, (el) => el.name === "iq" && el.attrs.id === id, `reply ${id}`) };
}

/** A SOCKS5 CONNECT to the proxy for `hash` (RFC 1928 §3–§6); resolves with the socket and the reply code. */
async function socksConnect(hash: string): Promise<{ socket: net.Socket; code: number; extra: Buffer }> {
  const socket = net.connect({ port: proxyPort, host: "127.0.0.1" });
  sockets.push(socket);
  await once(socket, "connect");
  let buf = Buffer.alloc(0);
  const need = async (n: number) => {
    while (buf.length < n) {
      const [chunk] = (await once(socket, "data")) as [Buffer];
      buf = Buffer.concat([buf, chunk]);
    }
  };
  socket.write(Buffer.from([5, 1, 0]));
  await need(2);
  assert.deepEqual([...buf.subarray(0, 2)], [5, 0], "the proxy takes 'no authentication'");
  buf = buf.subarray(2);
  socket.write(Buffer.concat([Buffer.from([5, 1, 0, 3, hash.length]), Buffer.from(hash), Buffer.from([0, 0])]));
  await need(5);
  const code = buf[1]!;
  if (code !== 0) return { socket, code, extra: Buffer.alloc(0) };
  await need(5 + buf[4]! + 2);
  assert.equal(buf.subarray(5, 5 + buf[4]!).toString(), hash, "BND.ADDR echoes the hash (XEP-0065 §6.3.2)");
  return { socket, code, extra: buf.subarray(5 + buf[4]! + 2) };
}

const sha1 = (s: string) => createHash("sha1").update(s).digest("hex");

/** Everything a socket receives until it has `n` bytes. */
function collect(socket: net.Socket, n: number, already: Buffer = Buffer.alloc(0)): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts = [already];
    let got = already.length;
    if (got >= n) return resolve(Buffer.concat(parts));
    socket.on("data", (d: Buffer) => {
      parts.push(d);
      got += d.length;
      if (got >= n) resolve(Buffer.concat(parts));
    });
    socket.once("close", () => reject(new Error(`closed after ${got} of ${n} bytes`)));
  });
}

test("the server lists the proxy; the proxy answers disco#info and the streamhost query", async () => {
  const { c } = await login(server, "alice", "disco");
  const items = await iq(c, "get", "localhost", "<query xmlns='http://jabber.org/protocol/disco#items'/>");
  assert.ok(
    child(items.reply, "query")!.children.some((i) => i.name === "item" && i.attrs.jid === PROXY),
    `disco#items lists ${PROXY}: ${show(items.reply)}`,
  );
  const info = await iq(c, "get", PROXY, "<query xmlns='http://jabber.org/protocol/disco#info'/>");
  assert.equal(info.reply.attrs.type, "result", show(info.reply));
  assert.equal(info.reply.attrs.from, PROXY);
  const q = child(info.reply, "query")!;
  assert.ok(
    q.children.some((i) => i.name === "identity" && i.attrs.category === "proxy" && i.attrs.type === "bytestreams"),
    show(q),
  );
  assert.ok(
    q.children.some((f) => f.name === "feature" && f.attrs.var === NS_BS),
    show(q),
  );
  const sh = await iq(c, "get", PROXY, `<query xmlns='${NS_BS}'/>`);
  const host = child(child(sh.reply, "query")!, "streamhost")!;
  assert.deepEqual(host.attrs, { jid: PROXY, host: "127.0.0.1", port: String(proxyPort) });
  // Something the proxy does not do: service-unavailable, not silence.
  const other = await iq(c, "get", PROXY, "<query xmlns='jabber:iq:version'/>");
  await expectStanzaError(c, "iq", other.id, "cancel", "service-unavailable");
});

test("two accounts transfer bytes both ways through the proxy, including bytes sent before activation", async () => {
  const a = await login(server, "alice", "send");
  const b = await login(server, "bob", "recv");
  const sid = "s5b-" + randomBytes(6).toString("hex");
  const hash = sha1(sid + a.jid + b.jid);
  // The target connects first (XEP-0065 §6.3.2), then the initiator (§6.3.3).
  const target = await socksConnect(hash);
  assert.equal(target.code, 0);
  const initiator = await socksConnect(hash);
  assert.equal(initiator.code, 0);
  const early = Buffer.from("sent before activation ");
  initiator.socket.write(early);
  const payload = randomBytes(1024 * 1024 + 7);
  const back = randomBytes(4096);
  const atTarget = collect(target.socket, early.length + payload.length, target.extra);
  const atInitiator = collect(initiator.socket, back.length, initiator.extra);
  const act = await iq(a.c, "set", PROXY, `<query xmlns='${NS_BS}' sid='${sid}'><activate>${b.jid}</activate></query>`);
  assert.equal(act.reply.attrs.type, "result", show(act.reply));
  initiator.socket.write(payload);
  target.socket.write(back);
  const got = await atTarget;
  assert.equal(
    createHash("sha256").update(got).digest("hex"),
    createHash("sha256")
      .update(Buffer.concat([early, payload]))
      .digest("hex"),
  );
  assert.ok((await atInitiator).equals(back));
  // One side ends: the other is ended too.
  initiator.socket.end();
  await once(target.socket, "close");
});

test("activation: only the initiator, both parties connected, the target online; a third connection is refused", async () => {
  const a = await login(server, "alice", "i2");
  const b = await login(server, "bob", "t2");
  const e = await login(server, "eve", "x");
  const sid = "sid-" + randomBytes(4).toString("hex");
  const hash = sha1(sid + a.jid + b.jid);
  const activate = (c: RawClient, target: string, s = sid) => iq(c, "set", PROXY, `<query xmlns='${NS_BS}' sid='${s}'><activate>${target}</activate></query>`);

  const target = await socksConnect(hash);
  // Only one party connected: not-allowed (§6.3.4).
  await expectStanzaError(a.c, "iq", (await activate(a.c, b.jid)).id, "cancel", "not-allowed");
  const initiator = await socksConnect(hash);
  // A third connection for the same stream: refused (no multicast, §9.1).
  const third = await socksConnect(hash);
  assert.equal(third.code, 2, "connection not allowed by ruleset");
  // Bob (allowed by the ACL, but not the initiator) cannot activate: his JID makes another hash.
  await expectStanzaError(b.c, "iq", (await activate(b.c, b.jid)).id, "cancel", "item-not-found");
  // Eve is outside proxy65_acl: forbidden, for the query as for activation.
  await expectStanzaError(e.c, "iq", (await iq(e.c, "get", PROXY, `<query xmlns='${NS_BS}'/>`)).id, "auth", "forbidden");
  await expectStanzaError(e.c, "iq", (await activate(e.c, b.jid)).id, "auth", "forbidden");
  // Missing sid or target: bad-request.
  await expectStanzaError(
    a.c,
    "iq",
    (await iq(a.c, "set", PROXY, `<query xmlns='${NS_BS}'><activate>${b.jid}</activate></query>`)).id,
    "modify",
    "bad-request",
  );
  // The target is not connected to the server: not-allowed.
  await expectStanzaError(a.c, "iq", (await activate(a.c, "bob@localhost/gone")).id, "cancel", "not-allowed");
  // None of that activated anything: the stream still activates for its initiator, once.
  const ok = await activate(a.c, b.jid);
  assert.equal(ok.reply.attrs.type, "result", show(ok.reply));
  await expectStanzaError(a.c, "iq", (await activate(a.c, b.jid)).id, "cancel", "item-not-found");
  const got = collect(target.socket, 3, target.extra);
  initiator.socket.write("abc");
  assert.equal((await got).toString(), "abc");
});

test("SOCKS5 refusals: a command other than CONNECT, an address that is not a hash", async () => {
  const s = net.connect({ port: proxyPort, host: "127.0.0.1" });
  sockets.push(s);
  await once(s, "connect");
  const replies = collect(s, 2 + 10);
  s.write(Buffer.from([5, 1, 0]));
  s.write(Buffer.from([5, 2, 0, 3, 4, 0x61, 0x62, 0x63, 0x64, 0, 80])); // BIND
  const r = await replies;
  assert.deepEqual([...r.subarray(0, 4)], [5, 0, 5, 7], "command not supported");
  const bad = await socksConnect("example.org");
  assert.equal(bad.code, 8, "address type not supported: the proxy connects nowhere but to its peer");
});

test("without the component, the proxy's domain is not ours and nothing is listed", async () => {
  const { c } = await login(plain, "alice", "p");
  await expectStanzaError(c, "iq", (await iq(c, "get", PROXY, `<query xmlns='${NS_BS}'/>`)).id, "cancel", "remote-server-not-found");
  const items = await iq(c, "get", "localhost", "<query xmlns='http://jabber.org/protocol/disco#items'/>");
  assert.equal(child(items.reply, "query")!.children.length, 0, show(items.reply));
  assert.equal(
    plain.logs.some((l) => l.msg === "proxy65 listening"),
    false,
  );
});
