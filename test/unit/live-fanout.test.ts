// The account page's live updates split in two (src/http/account/live.ts): this node's open
// event streams (LiveHub) and the fan-out between nodes (src/state/fanout.ts). Two hubs on one
// fan-out stand for two nodes: a change or a sign-out announced on one reaches the page open on
// the other, and a sign-in is known by its handle, not by one node's object for it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { LiveHub, sessionAnnouncements, type AccountUpdate } from "../../src/http/account/live.js";
import { LocalFanout } from "../../src/state/fanout.js";
import type { BrowserSession } from "../../src/http/account/sessions.js";
import type { HttpRequest } from "../../src/http/server.js";

/** A signed-in page's event-stream request: what it was sent, and whether it was ended. */
function page() {
  const res = Object.assign(new EventEmitter(), {
    sent: "",
    ended: false,
    setHeader: () => {},
    writeHead: () => {},
    write(chunk: string) {
      res.sent += chunk;
      return true;
    },
    end() {
      res.ended = true;
    },
  });
  const req = { res, raw: { socket: { setTimeout: () => {} } } } as unknown as HttpRequest;
  return { req, res };
}

const session = (handle: string): BrowserSession => ({
  id: `id-${handle}`,
  handle,
  username: "alice",
  csrf: "c",
  createdAt: 0,
  authAt: 0,
  lastSeen: 0,
  ip: "192.0.2.1",
  browser: "Firefox",
});

test("live updates: a change or a sign-out announced on one node reaches the page open on another", async () => {
  const fanout = new LocalFanout<AccountUpdate>();
  const here = new LiveHub(fanout),
    there = new LiveHub(fanout);
  const announce = sessionAnnouncements(fanout);
  try {
    const a = page(),
      b = page();
    here.open(a.req, session("h1"));
    here.open(b.req, session("h2"));
    assert.equal(here.connected(session("h1")), true, "known by handle");
    assert.equal(there.connected(session("h1")), false, "the streams are the node's own");

    there.changed("alice");
    announce.changed("alice");
    await new Promise((r) => setTimeout(r, 250));
    assert.equal(a.res.sent.split("event: changed").length - 1, 1, "debounced into one");
    assert.equal(b.res.sent.split("event: changed").length - 1, 1);

    announce.ended(session("h1"), "revoked");
    assert.match(a.res.sent, /event: signed-out\ndata: \{"reason":"revoked"\}/);
    assert.equal(a.res.ended, true);
    assert.equal(b.res.ended, false, "another sign-in of the account stays");

    announce.ended(session("h2"), "replaced");
    assert.equal(b.res.ended, true);
    assert.doesNotMatch(b.res.sent, /signed-out/, "a replaced sign-in's page is closed without a word");
  } finally {
    here.stop();
    there.stop();
  }
});
