// Request deadlines of the HTTP service (src/http/deadline.ts) over real TLS to the real server:
// a slow but steady upload PUT outlives http_request_timeout, an idle one or one slower than
// http_body_min_rate is stopped (408, no partial file, the slot usable again), and an ordinary
// route is still cut at http_request_timeout when its body trickles. The timeouts are made
// short here (2 s, 1 s idle) so the tests take seconds.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import tls from "node:tls";
import { once } from "node:events";
import { startServer, type TestServer } from "../helpers/server.js";
import { Interop } from "../interop/xmppjs-client.js";
import { fetchUrl, requestSlot, type Slot } from "../helpers/upload.js";

const REQUEST_S = 2;
const IDLE_S = 1;
const MIN_RATE = 20;

interface Trickled {
  /** 0 when the server closed the connection without an answer. */
  status: number;
  text: string;
  /** From the first byte sent to the answer (or the close). */
  ms: number;
  /** Pieces written before the answer came. */
  sent: number;
}

/** Writes `pieces` over TLS, one every `everyMs` (the first at once), until the server answers; then reads to the close. */
function trickle(server: TestServer, pieces: Array<string | Buffer>, everyMs: number): Promise<Trickled> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: "127.0.0.1", port: server.httpsPort, servername: "localhost", ca: server.caCert });
    const got: Buffer[] = [];
    let sent = 0;
    let started = 0;
    let answeredAt = 0;
    let timer: NodeJS.Timeout | undefined;
    const next = () => {
      if (answeredAt || sent >= pieces.length) return;
      s.write(pieces[sent++]!);
      timer = setTimeout(next, everyMs);
    };
    s.on("secureConnect", () => {
      started = Date.now();
      next();
    });
    s.on("data", (d: Buffer) => {
      answeredAt ||= Date.now();
      clearTimeout(timer);
      got.push(d);
    });
    s.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code !== "ECONNRESET" && err.code !== "EPIPE") reject(err);
    });
    s.on("close", () => {
      clearTimeout(timer);
      const text = Buffer.concat(got).toString("utf8");
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({ status, text, ms: (answeredAt || Date.now()) - started, sent });
    });
  });
}

/** A PUT's head for a slot, closing the connection after the answer. */
function putHead(server: TestServer, slot: Slot, length: number): string {
  const u = new URL(slot.put);
  return (
    `PUT ${u.pathname} HTTP/1.1\r\nHost: localhost:${server.httpsPort}\r\nAuthorization: ${slot.headers.Authorization}\r\n` +
    `Content-Type: text/plain\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n`
  );
}

/** `body` cut in pieces of `size` bytes. */
function pieces(body: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < body.length; i += size) out.push(body.subarray(i, i + size));
  return out;
}

describe("HTTP request deadlines", () => {
  let server: TestServer;
  let client: Interop;
  const partials = () => readdirSync(join(server.dataDir, "data/uploads/.partial"));
  const slot = async (name: string, size: number): Promise<Slot> => {
    const r = await requestSlot(client, name, size, "text/plain");
    assert.ok(!("error" in r), `slot refused: ${"error" in r ? String(r.error) : ""}`);
    return r;
  };

  before(async () => {
    server = await startServer({ http_request_timeout: REQUEST_S, http_body_idle_timeout: IDLE_S, http_body_min_rate: MIN_RATE });
    await server.addUser("phone", "phone-secret");
    client = await Interop.online({ service: `xmpp://127.0.0.1:${server.c2sPort}`, username: "phone", password: "phone-secret", resource: "r" });
  });
  after(async () => {
    await client.stop().catch(() => {});
    await server.stop();
  });

  test("a slow but steady upload PUT takes longer than http_request_timeout and is stored", async () => {
    const body = Buffer.from("0123456789abcdefghijklmnopqrstuvwxyzABCD");
    const s = await slot("slow.txt", body.length);
    // 4 bytes every 300 ms: about 3 s in all, never a second without a byte.
    const r = await trickle(server, [putHead(server, s, body.length), ...pieces(body, 4)], 300);
    assert.equal(r.status, 201, r.text);
    assert.ok(r.ms > REQUEST_S * 1000, `took only ${r.ms} ms: the test proves nothing`);
    const got = await fetchUrl(server, "GET", s.get);
    assert.equal(got.status, 200);
    assert.deepEqual(got.body, body);
    assert.deepEqual(partials(), []);
  });

  test("an idle upload PUT is stopped (408), its partial file deleted, and the slot can be used again", async () => {
    const body = Buffer.from("0123456789abcdefghij");
    const s = await slot("idle.txt", body.length);
    // The head and half the body, then nothing.
    const r = await trickle(server, [Buffer.concat([Buffer.from(putHead(server, s, body.length)), body.subarray(0, 10)])], 100);
    assert.equal(r.status, 408, r.text);
    assert.match(r.text, /No data came for 1 s/);
    assert.match(r.text, /connection: close/i);
    assert.ok(r.ms >= IDLE_S * 1000 && r.ms < (IDLE_S + 2) * 1000, `stopped after ${r.ms} ms`);
    assert.deepEqual(partials(), [], "the partial file is deleted");
    assert.equal((await fetchUrl(server, "GET", s.get)).status, 404, "nothing stored");
    const again = await fetchUrl(server, "PUT", s.put, { body, headers: { ...s.headers, "Content-Type": "text/plain" } });
    assert.equal(again.status, 201, `the slot is released for a retry: ${again.text}`);
    assert.deepEqual((await fetchUrl(server, "GET", s.get)).body, body);
  });

  test("an upload PUT slower than http_body_min_rate on average is stopped at request timeout + size / rate", async () => {
    const body = Buffer.from("0123456789abcdefghijklmnopqrstuvwxyzABCD");
    const s = await slot("crawl.txt", body.length);
    // One byte every 400 ms (2.5 bytes/s) is never idle, but would take 16 s; the cap is 2 + 40/20 = 4 s.
    const cap = (REQUEST_S + body.length / MIN_RATE) * 1000;
    const r = await trickle(server, [putHead(server, s, body.length), ...pieces(body, 1)], 400);
    assert.equal(r.status, 408, r.text);
    assert.match(r.text, /slower than 20 bytes\/s/);
    assert.ok(r.ms >= cap - 100 && r.ms < cap + 2000, `stopped after ${r.ms} ms, the cap is ${cap} ms`);
    assert.ok(r.sent < body.length, "stopped before the whole body came");
    assert.deepEqual(partials(), []);
    const again = await fetchUrl(server, "PUT", s.put, { body, headers: { ...s.headers, "Content-Type": "text/plain" } });
    assert.equal(again.status, 201, again.text);
  });

  test("an ordinary route is still cut at http_request_timeout when its body trickles, or when its headers did", async () => {
    const head = `POST /oauth2/token HTTP/1.1\r\nHost: localhost:${server.httpsPort}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n`;
    // One byte every 200 ms: never idle, but 100 bytes would take 20 s.
    const slowBody = await trickle(server, [head, ...pieces(Buffer.from("x".repeat(100)), 1)], 200);
    assert.equal(slowBody.status, 408, slowBody.text);
    assert.match(slowBody.text, /took too long to arrive/);
    assert.ok(slowBody.ms >= REQUEST_S * 1000 - 100 && slowBody.ms < (REQUEST_S + 1) * 1000, `cut after ${slowBody.ms} ms`);

    // The headers themselves, a line every 500 ms, use up the time: the body is refused as soon as they end.
    const lines = head.split(/(?<=\r\n)/);
    const slowHead = await trickle(server, [...lines, ...pieces(Buffer.from("x".repeat(100)), 10)], 500);
    assert.equal(slowHead.status, 408, slowHead.text);
    assert.ok(slowHead.ms < (REQUEST_S + 2) * 1000, `cut after ${slowHead.ms} ms`); // Node checks the headers timeout once a second
    assert.ok(slowHead.sent <= lines.length, "no body piece was needed to be refused");
  });

  test("each request on a kept-alive connection has its own deadline: the connection outlives http_request_timeout", async () => {
    const s = tls.connect({ host: "127.0.0.1", port: server.httpsPort, servername: "localhost", ca: server.caCert });
    await once(s, "secureConnect");
    let text = "";
    s.on("data", (d: Buffer) => (text += d.toString("utf8")));
    const answers = () => [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
    const post = `POST /nothing-here HTTP/1.1\r\nHost: localhost:${server.httpsPort}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 3\r\n\r\na=b`;
    const started = Date.now();
    for (let i = 1; i <= 5; i++) {
      // The body's last bytes come 300 ms later: a deadline counted from the connection's start would close it during the 4th.
      s.write(post.slice(0, -2));
      await new Promise((r) => setTimeout(r, 300));
      s.write(post.slice(-2));
      for (let w = 0; w < 50 && answers().length < i; w++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(answers().length, i, `request ${i} answered: ${text}`);
      await new Promise((r) => setTimeout(r, 400));
    }
    s.destroy();
    assert.ok(Date.now() - started > REQUEST_S * 1000 + 1000);
    assert.deepEqual(answers(), [404, 404, 404, 404, 404], "every request answered, none cut");
  });

  test("headers that never end are cut at the headers timeout (at most http_request_timeout), on the upload route too", async () => {
    const u = new URL((await slot("never.txt", 10)).put);
    const endless = Array.from({ length: 40 }, (_, i) => `X-Filler-${i}: ${"a".repeat(10)}\r\n`);
    const r = await trickle(server, [`PUT ${u.pathname} HTTP/1.1\r\nHost: localhost\r\n`, ...endless], 250);
    assert.equal(r.status, 408, r.text);
    // Node checks the headers' deadline once a second.
    assert.ok(r.ms >= REQUEST_S * 1000 - 100 && r.ms < (REQUEST_S + 1.5) * 1000, `cut after ${r.ms} ms`);
    assert.ok(r.sent < endless.length, "cut before the pieces ran out");
  });
});
