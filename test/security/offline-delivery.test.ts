// Offline messages are taken out of storage in one transaction when the account sends initial
// presence, then written out one by one as the socket drains (c2s_send_buffer_limit). A client
// whose connection ends half-way must not lose what was never written to it: the rest goes back
// to offline storage for the next login. (Found while adding backpressure: before, everything
// not yet written was gone.)
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
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
  after(async () => { await server?.stop(); });

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
    await sleep(500);

    const second = await RawClient.connect(server.c2sPort);
    await second.login("away", "away-password-1", "second");
    second.send("<presence/>");
    try {
      let all = "";
      await second.waitUntil((text) => {
        all = text;
        const tail = text.slice(-2 * body.length); // the last message arrives last: look only there
        return tail.includes(`id='o${COUNT - 1}'`) && tail.lastIndexOf("</message>") > tail.lastIndexOf(`id='o${COUNT - 1}'`) ? true : undefined;
      }, "the last offline message", 30_000).catch((e: Error) => {
        throw new Error(`the second login got ${all.split("</message>").length - 1} offline messages, not the last one: ${e.message.slice(0, 200)}`);
      });
      const ids = [...all.matchAll(/<message [^>]*id='(o\d+)'/g)].map((m) => m[1]!);
      // What the first connection never had written to it is all here, in order, up to the last.
      const first = Number(ids[0]!.slice(1));
      assert.ok(first > 0 && first < COUNT - 1, `the second login starts at o${first}`);
      assert.deepEqual(ids, Array.from({ length: COUNT - first }, (_, i) => `o${first + i}`));
    } finally {
      second.close();
    }
  });
});
