// kill -9 of the server while the `warden` command adds users concurrently and a client keeps
// storing offline messages; after a restart nothing acknowledged may be lost or corrupted.
//
// XMPP has no per-message acknowledgement (without stream management), so the client sends
// messages in batches, each followed by a ping: once the pong arrives, every message sent
// before it has been processed (RFC 6120 §10.1: in-order processing) and so stored. The
// number of messages before the last pong is the acknowledged count.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import Database from "better-sqlite3";
import { startServer, type TestServer } from "../helpers/server.js";
import { RawClient } from "../helpers/raw-client.js";
import { child, elementsOf, show, type XmlEl } from "../helpers/xml.js";
import { ping } from "../helpers/xmpp-assert.js";

const BATCH = 10;
/** Stays under offline_message_limit (default 1000): a full store would refuse messages. */
const MAX_MESSAGES = 900;
/** Kill once at least this many messages are acknowledged and this many users added. */
const KILL_AFTER_ACKED = 300;
const KILL_AFTER_USERS = 4;
/** The sender stays at most this many messages ahead per finished `user add`. */
const MESSAGES_PER_ADD = 80;
const ADD_WORKERS = 2;

let server: TestServer | undefined;
const clients: RawClient[] = [];

after(async () => {
  for (const c of clients) c.close();
  await server?.stop();
});

test("kill -9 during concurrent `user add` and offline storage: every acknowledged write survives, uncorrupted", async (t) => {
  server = await startServer();
  const srv = server;
  await srv.addUser("writer", "writer-secret");
  await srv.addUser("sleeper", "sleeper-secret");

  // --- load: a client storing offline messages for sleeper (who never logs in) -------
  const writer = await RawClient.connect(srv.c2sPort);
  clients.push(writer);
  await writer.login("writer", "writer-secret", "pen");
  let sent = 0;
  let acked = 0;
  const bounced: string[] = [];
  let stop = false;
  let killed = false;
  let reachedKillPoint: () => void = () => {};
  const killPoint = new Promise<void>((res) => {
    reachedKillPoint = res;
  });
  const addsOk: string[] = [];
  const addsFailed: Array<{ user: string; code: number; stderr: string }> = [];
  const addsDone = () => addsOk.length + addsFailed.length;
  let wakeSender: (() => void) | undefined;

  const sender = (async () => {
    while (!stop && sent < MAX_MESSAGES) {
      // Keep pace with the user adds, so that both loads are still running at the kill.
      while (sent >= MESSAGES_PER_ADD * (addsDone() + 1) && !stop)
        await new Promise<void>((r) => {
          wakeSender = r;
        });
      if (stop) return;
      let xml = "";
      for (let k = 0; k < BATCH; k++, sent++) {
        xml += `<message to='sleeper@localhost' type='chat' id='m${sent}'><body>msg-${sent}</body></message>`;
      }
      const id = `ack-${sent}`;
      const n = sent;
      writer.send(xml + `<iq type='get' id='${id}' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`);
      // Kill with this batch in flight (sent but not acknowledged).
      if (acked >= KILL_AFTER_ACKED && addsDone() >= KILL_AFTER_USERS) reachedKillPoint();
      try {
        await writer.waitFor(new RegExp(`id='${id}'|id="${id}"`), 20_000);
      } catch (err) {
        if (killed) return; // the connection died with the server: expected
        throw err;
      }
      // Anything but pongs coming back is a refused message.
      for (const el of elementsOf(writer.received)) if (el.attrs.type === "error") bounced.push(show(el));
      writer.clear();
      acked = n;
    }
    reachedKillPoint(); // ran out of messages: kill anyway
  })();
  let senderError: Error | undefined;
  const senderDone = sender.catch((err: unknown) => {
    senderError = err as Error;
    reachedKillPoint();
  });

  // --- load: `warden user add` in a loop, several at once -----------------------------
  let nextUser = 0;
  const adders = Array.from({ length: ADD_WORKERS }, async () => {
    while (!stop) {
      const user = `crash${nextUser++}`;
      const r = await srv.cli(["user", "add", user], `${user}-secret\n`);
      if (r.code === 0) addsOk.push(user);
      else addsFailed.push({ user, code: r.code, stderr: r.stderr });
      wakeSender?.();
    }
  });

  await killPoint;
  killed = true;
  await srv.kill();
  stop = true;
  wakeSender?.();
  // Commands already running finish against the database with no server alive.
  await Promise.all([senderDone, ...adders]);
  writer.close();
  if (senderError) throw senderError;
  assert.ok(acked >= Math.min(KILL_AFTER_ACKED, MAX_MESSAGES), `only ${acked} messages were acknowledged before the kill`);
  assert.deepEqual(bounced, [], "the server refused messages to an offline account");

  // --- restart ------------------------------------------------------------------------
  await srv.start();

  // The database is intact.
  const dbPath = join(srv.dataDir, "data", "warden.sqlite");
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  let stored: number;
  try {
    assert.equal(db.pragma("integrity_check", { simple: true }), "ok", "integrity_check failed after kill -9");
    stored = db.prepare("SELECT count(*) FROM offline_messages WHERE username = ?").pluck().get("sleeper") as number;
  } finally {
    db.close();
  }

  // Every account whose `user add` exited 0 exists.
  const list = await srv.cli(["user", "list"]);
  assert.equal(list.code, 0, `user list after restart: ${list.stderr}`);
  const users = new Set(list.stdout.split("\n").filter(Boolean));
  const missing = addsOk.filter((u) => !users.has(`${u}@localhost`));
  assert.deepEqual(missing, [], `accounts created (exit 0) but missing after kill -9 and restart (${addsOk.length} created)`);
  assert.ok(users.has("writer@localhost") && users.has("sleeper@localhost"));
  // `user add` has no reason to fail here: the database waits (busy_timeout) for the lock.
  assert.deepEqual(addsFailed, [], "`warden user add` failed while the server was running or being killed");

  t.diagnostic(`sent ${sent}, acknowledged ${acked}, stored ${stored}; users added ${addsOk.length}, failed ${addsFailed.length}`);
  assert.ok(stored >= acked, `the database holds ${stored} offline messages for sleeper, but ${acked} were acknowledged before the kill`);
  assert.ok(stored <= sent, `the database holds ${stored} offline messages, more than the ${sent} sent`);

  // --- sleeper logs in: the offline messages arrive on initial presence ------------------
  const sleeper = await RawClient.connect(srv.c2sPort);
  clients.push(sleeper);
  await sleeper.login("sleeper", "sleeper-secret", "bed");
  sleeper.send("<presence/>");
  const messagesIn = (text: string) => elementsOf(text).filter((el) => el.name === "message");
  await sleeper
    .waitUntil((text) => (messagesIn(text).length >= stored ? true : undefined), `${stored} offline messages after initial presence`, 30_000)
    .catch((err: Error) => {
      throw new Error(
        `${stored} offline messages are stored, but only ${messagesIn(sleeper.received).length} were delivered after <presence/> ` +
          `(is initial presence handled? offline.ts delivers on the 'initial-presence' event): ${err.message.slice(0, 300)}`,
      );
    });
  await ping(sleeper); // anything still on its way has arrived by now
  const delivered: XmlEl[] = messagesIn(sleeper.received);

  const seen = new Set<number>();
  for (const m of delivered) {
    const body = child(m, "body");
    assert.ok(body, `a delivered message has no body: ${show(m)}`);
    const match = /^msg-(\d+)$/.exec(body.text);
    assert.ok(match, `corrupted body: ${show(m)}`);
    const n = Number(match[1]);
    assert.ok(n < sent, `a message that was never sent: ${show(m)}`);
    assert.equal(seen.has(n), false, `delivered twice: ${show(m)}`);
    seen.add(n);
    assert.equal(m.attrs.id, `m${n}`, `id and body do not match: ${show(m)}`);
    assert.match(m.attrs.from ?? "", /^writer@localhost\/pen$/, `wrong sender: ${show(m)}`);
    assert.ok(child(m, "delay", "urn:xmpp:delay"), `no <delay/> on an offline message: ${show(m)}`);
  }
  assert.equal(delivered.length, stored, "delivered a different number of messages than were stored");
  assert.ok(delivered.length >= acked, `${delivered.length} offline messages delivered, but ${acked} were acknowledged before the kill`);
  const lost = [];
  for (let i = 0; i < acked; i++) if (!seen.has(i)) lost.push(i);
  assert.deepEqual(lost, [], "acknowledged messages lost in the crash");

  // Delivered means gone from storage: a second login gets nothing.
  sleeper.close();
  const again = await RawClient.connect(srv.c2sPort);
  clients.push(again);
  await again.login("sleeper", "sleeper-secret", "bed2");
  again.send("<presence/>");
  await ping(again);
  assert.deepEqual(messagesIn(again.received).map(show), [], "offline messages delivered twice");
});
