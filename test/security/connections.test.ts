// Connection abuse (issue 10, "Slow TLS handshake", "Clients that never read", and the held
// slow-sender and per-IP behaviour), against the real server over real sockets:
// - slow senders before TLS, after STARTTLS and after direct TLS, before login, are closed at
//   c2s_timeout while a login at the same time succeeds;
// - c2s_max_connections_per_ip holds on the STARTTLS port, the direct TLS port and WebSocket;
// - 200 connections dribbling a ClientHello are counted from accept (never more than the
//   per-IP limit held, server file descriptors bounded) and dropped at c2s_tls_handshake_timeout;
// - clients that never read: the server stops reading from a client whose own output is backed
//   up, closes one whose unread output passes c2s_send_buffer_limit (TCP and WebSocket) with
//   <policy-violation/>, and its memory stays bounded while a normal client keeps being served;
// - a hibernating XEP-0198 session queues at most smacks_max_queue_size stanzas; past that it
//   ends and nothing it queued is lost (offline storage).
//
// Time bounds here only separate "closed by the deadline" from "held for ever"; they are generous.
// So is the memory bound (RSS may grow by 200 MB): without backpressure and the send buffer
// limit the same floods grew it by over 350 MB, and kept growing with the flood.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import tls from "node:tls";
import { readdirSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { WebSocket } from "ws";
import { startServer, type TestServer } from "../helpers/server.js";
import { RawClient } from "../helpers/raw-client.js";
import { expectStreamError, expectHeaderFirst, ping, waitForElement } from "../helpers/xmpp-assert.js";

const NS_STREAMS = "urn:ietf:params:xml:ns:xmpp-streams";
/** A second client address: all of 127/8 is loopback on Linux. */
const OTHER_IP = "127.0.0.2";

function rssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m![1]) / 1024;
}

function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Sends one byte of `data` (or a space, for ever, when data is empty) every `ms`, until the socket closes. */
function dribble(socket: net.Socket, data: Buffer, ms: number): NodeJS.Timeout {
  let i = 0;
  const t = setInterval(() => {
    if (socket.destroyed || !socket.writable) {
      clearInterval(t);
      return;
    }
    socket.write(data.length ? data.subarray(i, i + 1) : Buffer.from(" "));
    if (data.length && ++i >= data.length) clearInterval(t);
  }, ms);
  return t;
}

/** The first flight of a real TLS client (its ClientHello), caught by a local TCP server. */
async function clientHello(): Promise<Buffer> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const got = new Promise<Buffer>((res) =>
    srv.once("connection", (s) =>
      s.once("data", (d: Buffer) => {
        res(d);
        s.destroy();
      }),
    ),
  );
  const c = tls.connect({ port: (srv.address() as net.AddressInfo).port, host: "127.0.0.1", servername: "localhost", rejectUnauthorized: false });
  c.on("error", () => {});
  const hello = await got;
  c.destroy();
  srv.close();
  return hello;
}

/** Whether a TLS handshake with the server completes (false: refused or dropped first). */
function handshakeCompletes(port: number, localAddress?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tls.connect({ socket: net.connect({ port, host: "127.0.0.1", localAddress }), servername: "localhost", rejectUnauthorized: false });
    s.once("secureConnect", () => {
      resolve(true);
      s.destroy();
    });
    s.once("error", () => resolve(false));
    s.once("close", () => resolve(false));
  });
}

/** A minimal RFC 7395 client over the `ws` library: frames as strings, waits by pattern. */
class WsClient {
  readonly frames: string[] = [];
  closed = false;
  private wake?: () => void;
  private constructor(readonly ws: WebSocket) {
    ws.on("message", (d) => {
      this.frames.push((d as Buffer).toString());
      this.wake?.();
    });
    ws.on("close", () => {
      this.closed = true;
      this.wake?.();
    });
    ws.on("error", () => {});
  }

  static async connect(port: number): Promise<WsClient> {
    const ws = new WebSocket(`wss://127.0.0.1:${port}/xmpp-websocket`, ["xmpp"], { rejectUnauthorized: false });
    await new Promise<void>((res, rej) => {
      ws.once("open", () => res());
      ws.once("error", rej);
    });
    return new WsClient(ws);
  }

  send(xml: string): void {
    this.ws.send(xml);
  }
  open(): void {
    this.send("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='localhost' version='1.0'/>");
  }

  async waitFor(re: RegExp, timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = this.frames.find((x) => re.test(x));
      if (f !== undefined) return f;
      if (this.closed) throw new Error(`closed before ${re}; frames: ${this.frames.join("\n").slice(-2000)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${re}; frames: ${this.frames.join("\n").slice(-2000)}`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        this.wake = () => {
          clearTimeout(t);
          res();
        };
      });
    }
  }

  async login(user: string, password: string, resource: string): Promise<void> {
    this.open();
    await this.waitFor(/<mechanism>PLAIN<\/mechanism>/);
    this.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${Buffer.from(`\0${user}\0${password}`).toString("base64")}</auth>`);
    await this.waitFor(/<success/);
    this.frames.length = 0;
    this.open();
    await this.waitFor(/<bind/);
    this.send(`<iq type='set' id='b1' xmlns='jabber:client'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>${resource}</resource></bind></iq>`);
    await this.waitFor(/<jid>/);
    this.frames.length = 0;
  }
}

/** Waits until the server logged a line that `pred` accepts. */
async function waitForLog(
  server: TestServer,
  pred: (rec: Record<string, unknown>) => boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rec = server.logs.find(pred);
    if (rec) return rec;
    if (Date.now() > deadline) throw new Error(`no server log line: ${what}`);
    await sleep(50);
  }
}

const body8k = "x".repeat(8 * 1024);

describe("slow senders before login", () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ c2s_timeout: 3 });
    await server.addUser("alice", "alice-password-1");
  });
  after(async () => {
    await server?.stop();
  });

  test("before TLS, after STARTTLS, after direct TLS, and dribbling the stream header: all closed with <connection-timeout/> at c2s_timeout; a login meanwhile succeeds", async () => {
    const timers: NodeJS.Timeout[] = [];
    const slow: Array<{ name: string; c: RawClient; start: number }> = [];
    try {
      let start = Date.now();
      const pre = await RawClient.connect(server.c2sPort);
      pre.openStream();
      timers.push(dribble(pre.socket, Buffer.alloc(0), 300));
      slow.push({ name: "before TLS", c: pre, start });

      start = Date.now();
      const starttls = await RawClient.connect(server.c2sPort);
      await starttls.startTls();
      starttls.openStream();
      timers.push(dribble(starttls.socket, Buffer.alloc(0), 300));
      slow.push({ name: "after STARTTLS", c: starttls, start });

      start = Date.now();
      const direct = await RawClient.connect(server.tlsPort, { directTls: true });
      direct.openStream();
      timers.push(dribble(direct.socket, Buffer.alloc(0), 300));
      slow.push({ name: "after direct TLS", c: direct, start });

      start = Date.now();
      const header = await RawClient.connect(server.c2sPort);
      timers.push(
        dribble(
          header.socket,
          Buffer.from(
            "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>",
          ),
          300,
        ),
      );
      slow.push({ name: "header dribbled", c: header, start });

      // A legitimate client logs in while they hold their connections.
      const legit = await RawClient.connect(server.c2sPort);
      await legit.login("alice", "alice-password-1", "legit");
      await ping(legit);

      for (const { name, c, start: t0 } of slow) {
        await expectStreamError(c, "connection-timeout", 15_000).catch((e: Error) => {
          throw new Error(`${name}: ${e.message}`);
        });
        expectHeaderFirst(c);
        const held = c.closedAt - t0;
        assert.ok(held >= 2500, `${name}: closed after ${held} ms, before c2s_timeout (3 s)`);
        assert.ok(held < 10_000, `${name}: held ${held} ms, far past c2s_timeout (3 s)`);
      }
      // The logged-in client is not subject to c2s_timeout.
      await ping(legit);
      assert.equal(legit.closed, false);
      legit.close();
    } finally {
      for (const t of timers) clearInterval(t);
      for (const { c } of slow) c.close();
    }
  });
});

describe("c2s_max_connections_per_ip", () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ c2s_max_connections_per_ip: 3 });
    await server.addUser("bob", "bob-password-12");
  });
  after(async () => {
    await server?.stop();
  });

  test("holds on the STARTTLS port, the direct TLS port and WebSocket together; another address is not affected; a place is given back on close", async () => {
    // Three connections from 127.0.0.1, one on each way in.
    const plain = await RawClient.connect(server.c2sPort);
    plain.openStream();
    await plain.waitFor(/<\/stream:features>/);
    const direct = await RawClient.connect(server.tlsPort, { directTls: true });
    direct.openStream();
    await direct.waitFor(/<\/stream:features>/);
    const ws = await WsClient.connect(server.httpsPort);
    ws.open();
    await ws.waitFor(/<stream:features/);

    // A fourth on the STARTTLS port: the catalogue's stream error.
    const over = await RawClient.connect(server.c2sPort);
    const err = await expectStreamError(over, "resource-constraint");
    assert.match(JSON.stringify(err), /Too many connections/);
    // On the direct TLS port: refused before any TLS work (no stream exists to carry an error).
    assert.equal(await handshakeCompletes(server.tlsPort), false, "a direct TLS handshake over the limit must not complete");
    // Over WebSocket: <open/>, the stream error, <close/>.
    const wsOver = await WsClient.connect(server.httpsPort);
    const wsErr = await wsOver.waitFor(/<stream:error/);
    assert.match(wsErr, new RegExp(`<resource-constraint xmlns='${NS_STREAMS}'/>`));
    await wsOver.waitFor(/<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'\/>/);

    // Another address logs in meanwhile.
    const other = await RawClient.connect(server.tlsPort, { directTls: true, localAddress: OTHER_IP });
    await other.login("bob", "bob-password-12", "other");
    await ping(other);
    other.close();

    // Once one closes, its place is given back (the server sees the close a moment later).
    direct.close();
    let admitted = false;
    for (let i = 0; i < 50 && !admitted; i++) {
      admitted = await handshakeCompletes(server.tlsPort);
      if (!admitted) await sleep(100);
    }
    assert.ok(admitted, "a direct TLS connection is admitted again after one of the three closed");
    plain.close();
    ws.ws.terminate();
  });
});

describe("slow TLS handshakes", () => {
  let server: TestServer;
  const LIMIT = 50;
  before(async () => {
    server = await startServer({ c2s_max_connections_per_ip: LIMIT, c2s_tls_handshake_timeout: 2 });
    await server.addUser("carol", "carol-password-1");
  });
  after(async () => {
    await server?.stop();
  });

  test("200 connections dribbling a ClientHello (direct TLS and HTTPS ports): at most the per-IP limit held, each dropped at c2s_tls_handshake_timeout; logins from elsewhere meanwhile and from the same address after", async (t) => {
    const pid = server.proc!.pid!;
    const hello = await clientHello();
    const fdBase = fdCount(pid);
    const conns: Array<{ s: net.Socket; start: number; closedAt: number; timer?: NodeJS.Timeout }> = [];
    let fdPeak = fdBase;
    const sampler = setInterval(() => {
      fdPeak = Math.max(fdPeak, fdCount(pid));
    }, 100);
    try {
      for (let i = 0; i < 200; i++) {
        const port = i % 4 === 3 ? server.httpsPort : server.tlsPort;
        const s = net.connect(port, "127.0.0.1");
        const rec = { s, start: Date.now(), closedAt: 0, timer: undefined as NodeJS.Timeout | undefined };
        s.on("error", () => {});
        s.on("close", () => {
          rec.closedAt = Date.now();
        });
        s.once("connect", () => {
          rec.timer = dribble(s, hello, 500);
        });
        conns.push(rec);
      }
      await sleep(1000);
      // Before the deadline: the refused ones are gone, at most LIMIT are held.
      const open = conns.filter((c) => c.closedAt === 0).length;
      assert.ok(open <= LIMIT, `${open} handshakes held from one address; the limit is ${LIMIT}`);
      assert.ok(open > 0, "the connections within the limit are held until the deadline");

      // A client from another address logs in over direct TLS meanwhile.
      const other = await RawClient.connect(server.tlsPort, { directTls: true, localAddress: OTHER_IP });
      await other.login("carol", "carol-password-1", "other");
      await ping(other);
      other.close();

      // All gone shortly after the deadline, however they trickle.
      const deadline = Date.now() + 8000;
      while (conns.some((c) => c.closedAt === 0) && Date.now() < deadline) await sleep(100);
      const stillOpen = conns.filter((c) => c.closedAt === 0).length;
      assert.equal(stillOpen, 0, `${stillOpen} dribbled handshakes still open 9 s after they began (deadline 2 s)`);
      const held = conns.map((c) => c.closedAt - c.start).sort((a, b) => a - b);
      assert.ok(held[held.length - 1]! < 7000, `a handshake was held ${held[held.length - 1]} ms (deadline 2 s)`);
      assert.ok(held[held.length - 1]! >= 1500, "the held handshakes lasted until the deadline");
      t.diagnostic(`held before the deadline: ${open}; longest held ${held[held.length - 1]} ms; server fds ${fdBase} -> peak ${fdPeak}`);
      assert.ok(fdPeak - fdBase <= LIMIT + 10, `server file descriptors grew by ${fdPeak - fdBase} (limit ${LIMIT} per address)`);

      // The address's count was given back: a login from it succeeds.
      const again = await RawClient.connect(server.tlsPort, { directTls: true });
      await again.login("carol", "carol-password-1", "again");
      await ping(again);
      again.close();
    } finally {
      clearInterval(sampler);
      for (const c of conns) {
        clearInterval(c.timer);
        c.s.destroy();
      }
    }
  });
});

describe("slow STARTTLS handshake", () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ c2s_tls_handshake_timeout: 2 });
  });
  after(async () => {
    await server?.stop();
  });

  test("a ClientHello dribbled after <proceed/> is dropped at c2s_tls_handshake_timeout, long before c2s_timeout (60 s)", async () => {
    const hello = await clientHello();
    const c = await RawClient.connect(server.c2sPort);
    c.openStream();
    await c.waitFor(/<starttls/);
    c.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    await c.waitFor(/<proceed/);
    const t0 = Date.now();
    const timer = dribble(c.socket, hello, 300);
    try {
      await c.waitClosed(10_000);
      const held = c.closedAt - t0;
      assert.ok(held >= 1500 && held < 8000, `the trickled STARTTLS handshake was held ${held} ms (deadline 2 s)`);
    } finally {
      clearInterval(timer);
      c.close();
    }
  });
});

describe("clients that never read", () => {
  let server: TestServer;
  const LIMIT = 1024 * 1024;
  before(async () => {
    server = await startServer({ c2s_send_buffer_limit: LIMIT });
    for (const u of ["flood", "r1", "r2", "r3", "r4", "s1", "s2", "normal", "wsr", "offl"]) await server.addUser(u, `${u}-password-123`);
  });
  after(async () => {
    await server?.stop();
  });

  /** Writes while the socket takes it; false once it has not drained for `stallMs`. */
  async function writeOrStall(s: net.Socket, data: string, stallMs = 3000): Promise<boolean> {
    if (s.write(data)) return true;
    return new Promise((res) => {
      const t = setTimeout(() => {
        s.off("drain", ok);
        res(false);
      }, stallMs);
      const ok = () => {
        clearTimeout(t);
        res(true);
      };
      s.once("drain", ok);
    });
  }

  test("recipients that never read are closed with <policy-violation/> past c2s_send_buffer_limit; server memory stays bounded; the sender and a normal client are served", async (t) => {
    const pid = server.proc!.pid!;
    const normal = await RawClient.connect(server.c2sPort);
    await normal.login("normal", "normal-password-123", "n");
    const recipients: RawClient[] = [];
    for (const u of ["r1", "r2", "r3", "r4"]) {
      const r = await RawClient.connect(server.c2sPort);
      await r.login(u, `${u}-password-123`, "deaf");
      r.socket.pause(); // never reads from now on
      recipients.push(r);
    }
    const flood = await RawClient.connect(server.c2sPort);
    await flood.login("flood", "flood-password-123", "f");
    const rssBase = rssMb(pid);
    let rssPeak = rssBase;
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, rssMb(pid));
    }, 100);
    const closedLog = (u: string) => (rec: Record<string, unknown>) => rec.user === u && /c2s_send_buffer_limit/.test(String(rec.msg));
    // Once the server says it closes a recipient, the recipient reads again, to see how its stream
    // ended (the server keeps a closed socket for only 2 s: it must read promptly).
    const watcher = setInterval(() => {
      recipients.forEach((r, i) => {
        if (r.socket.isPaused() && server.logs.some(closedLog(`r${i + 1}`))) r.socket.resume();
      });
    }, 50);
    try {
      // 24,000 messages of 8 KB (~200 MB) round robin, all of them: once the recipients are
      // closed the rest go to offline storage and, when that is full, bounce to the sender.
      let sent = 0;
      for (; sent < 24_000; sent++) {
        const to = `r${(sent % 4) + 1}@localhost/deaf`;
        if (!(await writeOrStall(flood.socket, `<message to='${to}' type='chat' id='m${sent}'><body>${body8k}</body></message>`, 10_000))) break;
        if (sent % 500 === 0) flood.clear(); // it reads the bounces, but need not keep them
      }
      for (const u of ["r1", "r2", "r3", "r4"]) await waitForLog(server, closedLog(u), `${u} closed for unread output`);
      // The stream error is there, after everything that was queued before it.
      for (const r of recipients) {
        await r.waitClosed(10_000);
        const tail = r.received.slice(-400);
        assert.match(tail, new RegExp(`<stream:error><policy-violation xmlns='${NS_STREAMS}'/><text xmlns='${NS_STREAMS}'>Too much unread output`), tail);
      }
      t.diagnostic(`RSS ${Math.round(rssBase)} -> peak ${Math.round(rssPeak)} MB; ${sent} messages of 8 KB sent`);
      assert.ok(
        rssPeak - rssBase < 200,
        `server RSS grew by ${Math.round(rssPeak - rssBase)} MB (from ${Math.round(rssBase)} MB) while ${sent} messages of 8 KB went to clients that do not read`,
      );
      // The sender and a bystander are served all along. (The sender first reads its way
      // through the bounces, without keeping them: this client parses all it keeps on each arrival.)
      for (let i = 0; i < 100; i++) {
        flood.clear();
        await sleep(200);
        if (flood.received.length === 0) break;
      }
      await ping(flood, undefined, 10_000);
      await ping(normal, undefined, 10_000);
    } finally {
      clearInterval(sampler);
      clearInterval(watcher);
      for (const c of [flood, normal, ...recipients]) c.close();
    }
  });

  test("clients that send to themselves and never read: the server stops reading from them; memory stays bounded; a normal client is served", async (t) => {
    const pid = server.proc!.pid!;
    const normal = await RawClient.connect(server.c2sPort);
    await normal.login("normal", "normal-password-123", "n2");
    const selfish: RawClient[] = [];
    for (const u of ["s1", "s2"]) {
      const c = await RawClient.connect(server.c2sPort);
      await c.login(u, `${u}-password-123`, "me");
      c.socket.pause();
      selfish.push(c);
    }
    const rssBase = rssMb(pid);
    let rssPeak = rssBase;
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, rssMb(pid));
    }, 100);
    try {
      // Each would send 20,000 × 8 KB (~160 MB) to itself; the server must stop taking it.
      const written = await Promise.all(
        selfish.map(async (c, i) => {
          let bytes = 0;
          for (let n = 0; n < 20_000; n++) {
            const m = `<message to='s${i + 1}@localhost/me' type='chat' id='x${n}'><body>${body8k}</body></message>`;
            bytes += m.length;
            if (!(await writeOrStall(c.socket, m))) return { bytes, stalled: true };
          }
          return { bytes, stalled: false };
        }),
      );
      t.diagnostic(
        `taken before the server stopped reading: ${written.map((w) => `${Math.round(w.bytes / 1e6)} MB`).join(", ")}; RSS ${Math.round(rssBase)} -> peak ${Math.round(rssPeak)} MB`,
      );
      for (const [i, w] of written.entries()) {
        assert.ok(w.stalled, `s${i + 1}: the server kept reading (${Math.round(w.bytes / 1e6)} MB) from a client that never reads its own output`);
        assert.ok(w.bytes < 60e6, `s${i + 1}: the server took ${Math.round(w.bytes / 1e6)} MB before it stopped reading`);
      }
      await ping(normal, undefined, 10_000);
      assert.ok(rssPeak - rssBase < 200, `server RSS grew by ${Math.round(rssPeak - rssBase)} MB (from ${Math.round(rssBase)} MB)`);
    } finally {
      clearInterval(sampler);
      for (const c of [normal, ...selfish]) c.close();
    }
  });

  test("a reading client whose offline messages (2.4 MB) exceed c2s_send_buffer_limit gets them all, and is not closed", async () => {
    const sender = await RawClient.connect(server.c2sPort);
    await sender.login("normal", "normal-password-123", "offline-sender");
    for (let i = 0; i < 300; i++) sender.send(`<message to='offl@localhost' type='chat' id='o${i}'><body>${body8k}</body></message>`);
    await ping(sender, undefined, 10_000); // all 300 handled (stored) before the ping is answered
    sender.close();
    const c = await RawClient.connect(server.c2sPort);
    await c.login("offl", "offl-password-123", "back");
    c.send("<presence/>");
    try {
      let count = 0;
      await c
        .waitUntil(
          (text) => {
            count = text.split("</message>").length - 1;
            return count >= 300 ? true : undefined;
          },
          "300 offline messages",
          20_000,
        )
        .catch((e: Error) => {
          throw new Error(`got ${count} of 300 offline messages: ${e.message.slice(0, 300)}`);
        });
      assert.equal(c.closed, false);
      c.clear();
      await ping(c);
    } finally {
      c.close();
    }
  });

  test("over WebSocket too: a client that never reads is closed with <policy-violation/> past c2s_send_buffer_limit", async () => {
    const deaf = await WsClient.connect(server.httpsPort);
    await deaf.login("wsr", "wsr-password-123", "deaf");
    deaf.ws.pause();
    const flood = await RawClient.connect(server.c2sPort);
    await flood.login("flood", "flood-password-123", "f2");
    const closedLog = (rec: Record<string, unknown>) => rec.user === "wsr" && /c2s_send_buffer_limit/.test(String(rec.msg));
    try {
      for (let n = 0; n < 6000 && !server.logs.some(closedLog); n++) {
        if (!(await writeOrStall(flood.socket, `<message to='wsr@localhost/deaf' type='chat' id='w${n}'><body>${body8k}</body></message>`, 10_000))) break;
        if (n % 500 === 0) flood.clear();
      }
      await waitForLog(server, closedLog, "the WebSocket client closed for unread output");
      deaf.ws.resume();
      const err = await deaf.waitFor(/<stream:error/, 10_000);
      assert.match(err, new RegExp(`<policy-violation xmlns='${NS_STREAMS}'/>`));
      await ping(flood, undefined, 10_000);
    } finally {
      deaf.ws.terminate();
      flood.close();
    }
  });
});

describe("stream management queue of a hibernating session", () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ smacks_max_queue_size: 20 });
    await server.addUser("hib", "hib-password-123");
    await server.addUser("sender", "sender-password-12");
  });
  after(async () => {
    await server?.stop();
  });

  test("past smacks_max_queue_size the hibernation ends and every queued stanza reaches offline storage", async () => {
    const h = await RawClient.connect(server.c2sPort);
    await h.login("hib", "hib-password-123", "phone");
    h.send("<enable xmlns='urn:xmpp:sm:3' resume='true'/>");
    await h.waitFor(/<enabled/);
    h.send("<presence/>");
    await sleep(200);
    h.close(); // dropped without a stream close: the session hibernates
    await waitForLog(server, (r) => r.msg === "connection lost; session hibernating", "hibernation");

    const s = await RawClient.connect(server.c2sPort);
    await s.login("sender", "sender-password-12", "pc");
    for (let i = 0; i < 30; i++) s.send(`<message to='hib@localhost' type='chat' id='q${i}'><body>queued ${i}</body></message>`);
    await waitForLog(server, (r) => r.msg === "too many unacknowledged stanzas; ending the session", "the queue cap");
    await ping(s);

    // All 30 are there at the next login: none was dropped.
    const back = await RawClient.connect(server.c2sPort);
    await back.login("hib", "hib-password-123", "laptop");
    back.send("<presence/>");
    const ids = new Set<string>();
    await back
      .waitUntil(
        (text) => {
          for (const m of text.matchAll(/<message [^>]*id='(q\d+)'/g)) ids.add(m[1]!);
          return ids.size === 30 ? true : undefined;
        },
        "30 offline messages",
        10_000,
      )
      .catch(() => {
        throw new Error(`got ${ids.size} of 30 messages: ${[...ids].join(",")}`);
      });
    await waitForElement(back, (el) => el.name === "message" && el.attrs.id === "q29");
    back.close();
    s.close();
  });
});
