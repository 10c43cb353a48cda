// Offline messages are taken out of storage in one transaction when the account sends initial
// presence, then written out one by one as the socket drains (c2s_send_buffer_limit). A client
// whose connection ends half-way must not lose what was never written to it: the rest goes back
// to offline storage for the next login. (Found while adding backpressure: before, everything
// not yet written was gone.)
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { join } from "node:path";
import Database from "better-sqlite3";
import { startServer, type TestServer } from "../helpers/server.js";
import { RawClient } from "../helpers/raw-client.js";
import { ping } from "../helpers/xmpp-assert.js";

// 600 × 32 KB = 19 MB: far more than loopback socket buffers hold, so most of it is still
// waiting in the server when the first connection dies.
const COUNT = 600;
const body = "y".repeat(32 * 1024);

describe("offline delivery interrupted by a dropped connection", () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ c2s_send_buffer_limit: 1024 * 1024 });
    await server.addUser("sender", "sender-password-1");
    await server.addUser("away", "away-password-1");
  });
  after(async () => {
    await server?.stop();
  });

  test("a client that drops while its offline messages drain gets the rest at its next login; nothing is lost at the end of the queue", async () => {
    const sender = await RawClient.connect(server.c2sPort);
    await sender.login("sender", "sender-password-1", "s");
    for (let i = 0; i < COUNT; i++) sender.send(`<message to='away@localhost' type='chat' id='o${i}'><body>${body}</body></message>`);
    await ping(sender, undefined, 30_000); // every message handled (stored) before the ping is answered
    sender.close();

    // First login: initial presence starts the delivery; the client reads nothing and vanishes.
    const first = await RawClient.connect(server.c2sPort);
    await first.login("away", "away-password-1", "first");
    first.socket.pause();
    first.send("<presence/>");
    await sleep(1500);
    first.socket.destroy();
    // Until the server has put back what it never wrote: the count in storage stops changing.
    const db = new Database(join(server.dataDir, "data/warden.sqlite"), { readonly: true });
    try {
      const stored = () => (db.prepare("SELECT count(*) AS n FROM offline_messages WHERE username = 'away'").get() as { n: number }).n;
      const until = Date.now() + 20_000;
      for (let last = -1, n = stored(); (n === 0 || n !== last) && Date.now() < until; last = n, n = stored()) await sleep(500);
    } finally {
      db.close();
    }

    const second = await RawClient.connect(server.c2sPort);
    await second.login("away", "away-password-1", "second");
    // Ids are picked out of the stream as it arrives (19 MB: scanning all of it again on every
    // chunk would make the reader, not the server, the slow side).
    const ids: string[] = [];
    let carry = "";
    second.socket.on("data", (d: string) => {
      const text = carry + d;
      let end = 0;
      for (const m of text.matchAll(/<message [^>]*?id='(o\d+)'/g)) {
        ids.push(m[1]!);
        end = m.index + m[0].length;
      }
      carry = text.slice(Math.max(end, text.length - 300));
    });
    second.send("<presence/>");
    try {
      const deadline = Date.now() + 60_000;
      while (ids.at(-1) !== `o${COUNT - 1}` && Date.now() < deadline && !second.closed) await sleep(100);
      second.clear();
      // What the first connection never had written to it is all here, in order, up to the last.
      assert.ok(ids.length > 0, "the second login got offline messages");
      const first = Number(ids[0]!.slice(1));
      assert.ok(first > 0 && first < COUNT - 1, `the second login starts at o${first}`);
      assert.deepEqual(
        ids,
        Array.from({ length: COUNT - first }, (_, i) => `o${first + i}`),
      );
    } finally {
      second.close();
    }
  });
});
