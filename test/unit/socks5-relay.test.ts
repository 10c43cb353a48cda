// The SOCKS5 relay's limits (src/features/proxy65/socks5.ts) over real sockets, with short
// timeouts: a silent connection is closed at the handshake deadline, a party whose peer never
// comes at the pending deadline, an activated pair that goes quiet at the idle deadline; past
// the pending limits new connections are closed at once; activation needs both parties.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { once } from "node:events";
import { Socks5Relay } from "../../src/features/proxy65/socks5.js";

const limits = { maxPending: 4, maxPendingPerIp: 3, maxActive: 8, handshakeTimeoutMs: 300, pendingTimeoutMs: 500, idleTimeoutMs: 400 };
let relay: Socks5Relay;
let srv: net.Server;
let port = 0;
const open: net.Socket[] = [];

before(async () => {
  relay = new Socks5Relay(limits);
  srv = net.createServer((s) => relay.accept(s));
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  port = (srv.address() as net.AddressInfo).port;
});

after(async () => {
  for (const s of open) s.destroy();
  relay.close();
  await new Promise((r) => srv.close(r));
});

async function connect(): Promise<net.Socket> {
  const s = net.connect({ port, host: "127.0.0.1" });
  open.push(s);
  s.on("error", () => {});
  await once(s, "connect");
  return s;
}

/** Greets and CONNECTs to `hash`; resolves once the proxy's two replies arrived. */
async function socks(hash: string): Promise<net.Socket> {
  const s = await connect();
  let got = 0;
  const done = new Promise<void>((resolve) => {
    s.on("data", (d: Buffer) => {
      got += d.length;
      if (got >= 2 + 5 + hash.length + 2) resolve();
    });
  });
  s.write(Buffer.from([5, 1, 0]));
  s.write(Buffer.concat([Buffer.from([5, 1, 0, 3, hash.length]), Buffer.from(hash), Buffer.from([0, 0])]));
  await done;
  s.removeAllListeners("data");
  return s;
}

/** Milliseconds until the socket closes. */
async function closesIn(s: net.Socket): Promise<number> {
  const t0 = Date.now();
  if (!s.closed) await once(s, "close");
  return Date.now() - t0;
}

const hash = (c: string) => c.repeat(40);

test("a connection that never finishes the handshake is closed at the handshake deadline", async () => {
  const s = await connect();
  s.write(Buffer.from([5, 1])); // half a greeting
  const ms = await closesIn(s);
  assert.ok(ms >= limits.handshakeTimeoutMs - 50 && ms < limits.handshakeTimeoutMs + 1000, `closed after ${ms} ms`);
});

test("a party whose peer never connects is closed at the pending deadline; activation then finds nothing", async () => {
  const s = await socks(hash("a"));
  assert.equal(relay.activate(hash("a")), "one-party");
  const ms = await closesIn(s);
  assert.ok(ms >= limits.pendingTimeoutMs - 100 && ms < limits.pendingTimeoutMs + 1000, `closed after ${ms} ms`);
  assert.equal(relay.activate(hash("a")), "unknown");
});

test("an activated pair relays, and is closed when idle for the idle deadline", async () => {
  const target = await socks(hash("b"));
  const initiator = await socks(hash("b"));
  assert.equal(relay.activate(hash("b")), "activated");
  const got = once(target, "data");
  initiator.write("hello");
  assert.equal(String((await got)[0]), "hello");
  const ms = await closesIn(target);
  assert.ok(ms >= limits.idleTimeoutMs - 50 && ms < limits.idleTimeoutMs + 6000, `closed after ${ms} ms`);
  await closesIn(initiator);
});

test("past the pending limit for one address, new connections are closed at once", async () => {
  const waiting = [await socks(hash("c")), await socks(hash("d")), await socks(hash("e"))];
  const extra = await connect();
  const ms = await closesIn(extra);
  assert.ok(ms < 200, `refused after ${ms} ms`);
  // Once they leave, there is room again.
  for (const s of waiting) s.destroy();
  await Promise.all(waiting.map(closesIn));
  await new Promise((r) => setTimeout(r, 50));
  const again = await socks(hash("f"));
  assert.equal(again.closed, false);
  again.destroy();
});
