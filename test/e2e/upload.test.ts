// HTTP file upload (XEP-0363) end to end: slot requests from a real @xmpp/client over XMPP,
// PUT and GET over real HTTPS (node:https, checking the server's certificate), the server's
// real SQLite database read (and, to travel in time, written) beside it.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { startServer, type TestServer } from "../helpers/server.js";
import { Interop, xml } from "../interop/xmppjs-client.js";
import { fetchUrl, requestSlot, type Slot, type SlotRefusal } from "../helpers/upload.js";

const NS_UPLOAD = "urn:xmpp:http:upload:0";
const LIMIT = 1000;

function expectRefusal(r: Slot | SlotRefusal, condition: string, what: string): SlotRefusal {
  assert.ok("error" in r, `${what}: expected a refusal, got a slot`);
  assert.equal(r.condition, condition, `${what}: ${String(r.error)}`);
  return r;
}

function expectSlot(r: Slot | SlotRefusal, what: string): Slot {
  assert.ok(!("error" in r), `${what}: refused: ${"error" in r ? String(r.error) : ""}`);
  return r;
}

describe("HTTP file upload (XEP-0363)", () => {
  let server: TestServer;
  let db: Database.Database;
  const clients: Interop[] = [];

  const online = async (username: string): Promise<Interop> => {
    await server.addUser(username, `${username}-secret`);
    const c = await Interop.online({ service: `xmpp://127.0.0.1:${server.c2sPort}`, username, password: `${username}-secret`, resource: "r" });
    clients.push(c);
    return c;
  };
  const put = (slot: Slot, body: Buffer | string, headers: Record<string, string> = {}) =>
    fetchUrl(server, "PUT", slot.put, { body, headers: { ...slot.headers, ...headers } });
  const rows = (username: string) =>
    db.prepare<[string], { id: string; uploaded_at: number | null }>("SELECT id, uploaded_at FROM uploads WHERE username = ?").all(username);

  before(async () => {
    server = await startServer({ http_file_share_size_limit: LIMIT, http_file_share_daily_quota: 2500, http_file_share_slot_rate_limit: 25 });
    db = new Database(join(server.dataDir, "data/warden.sqlite"));
    db.pragma("busy_timeout = 5000");
  });
  after(async () => {
    for (const c of clients) await c.stop().catch(() => {});
    db.close();
    await server.stop();
  });

  test("the domain advertises the service: feature, store/file identity and max-file-size in a data form (§3, §6)", async () => {
    const c = await online("disco");
    const info = await c.iq("get", xml("query", { xmlns: "http://jabber.org/protocol/disco#info" }), "localhost");
    const q = info.getChild("query")!;
    assert.ok(
      q.getChildren("feature").some((f) => f.attrs.var === NS_UPLOAD),
      `no upload feature: ${String(info)}`,
    );
    assert.ok(q.getChildren("identity").some((i) => i.attrs.category === "store" && i.attrs.type === "file"));
    const form = q
      .getChildren("x", "jabber:x:data")
      .find((x) => x.getChildren("field").some((f) => f.attrs.var === "FORM_TYPE" && f.getChildText("value") === NS_UPLOAD));
    assert.ok(form, `no upload form: ${String(info)}`);
    assert.equal(
      form
        .getChildren("field")
        .find((f) => f.attrs.var === "max-file-size")
        ?.getChildText("value"),
      String(LIMIT),
    );
  });

  test("slot, PUT 201, GET the same bytes with safe headers, HEAD, ranges (206, 416), conditional GET (304); a second PUT is 409", async () => {
    const c = await online("alice");
    const body = Buffer.from(Array.from({ length: 300 }, (_, i) => i % 256));
    const slot = expectSlot(await requestSlot(c, "holiday photo é.png", body.length, "image/png"), "slot");
    assert.match(slot.put, /^https:\/\/localhost:\d+\/upload\/[A-Za-z0-9_-]{22}\/holiday%20photo%20%C3%A9\.png$/);
    assert.equal(slot.get, slot.put);
    assert.match(slot.headers.Authorization ?? "", /^Bearer [A-Za-z0-9_-]{43}$/);
    assert.equal(slot.headerNames.join(","), "Authorization", "only the Authorization header (§4 allows it)");
    // The token is stored only as its hash.
    const stored = db.prepare<[], { token_hash: string }>("SELECT token_hash FROM uploads").all();
    assert.ok(!stored.some((r) => slot.headers.Authorization!.includes(r.token_hash)));

    const before = await fetchUrl(server, "GET", slot.get);
    assert.equal(before.status, 404, "nothing to GET before the PUT");
    const r = await put(slot, body, { "Content-Type": "image/png" });
    assert.equal(r.status, 201, r.text);
    const again = await put(slot, body, { "Content-Type": "image/png" });
    assert.equal(again.status, 409, again.text);

    const got = await fetchUrl(server, "GET", slot.get);
    assert.equal(got.status, 200);
    assert.deepEqual(got.body, body);
    assert.equal(got.headers["content-type"], "image/png");
    assert.equal(got.headers["content-security-policy"], "default-src 'none'; sandbox");
    assert.equal(got.headers["x-content-type-options"], "nosniff");
    assert.equal(got.headers["cross-origin-resource-policy"], "cross-origin");
    assert.equal(got.headers["content-disposition"], `inline; filename="holiday photo _.png"; filename*=UTF-8''holiday%20photo%20%C3%A9.png`);
    assert.equal(got.headers["accept-ranges"], "bytes");
    const etag = got.headers.etag!;
    assert.match(etag, /^"[A-Za-z0-9_-]{22}"$/);
    assert.ok(got.headers["last-modified"]);

    const head = await fetchUrl(server, "HEAD", slot.get);
    assert.equal(head.status, 200);
    assert.equal(head.headers["content-length"], "300");
    assert.equal(head.body.length, 0);

    const mid = await fetchUrl(server, "GET", slot.get, { headers: { Range: "bytes=10-19" } });
    assert.equal(mid.status, 206);
    assert.equal(mid.headers["content-range"], "bytes 10-19/300");
    assert.deepEqual(mid.body, body.subarray(10, 20));
    const tail = await fetchUrl(server, "GET", slot.get, { headers: { Range: "bytes=-5" } });
    assert.equal(tail.status, 206);
    assert.deepEqual(tail.body, body.subarray(295));
    const open = await fetchUrl(server, "GET", slot.get, { headers: { Range: "bytes=290-" } });
    assert.deepEqual([open.status, open.headers["content-range"]], [206, "bytes 290-299/300"]);
    assert.deepEqual(open.body, body.subarray(290));
    const outside = await fetchUrl(server, "GET", slot.get, { headers: { Range: "bytes=300-400" } });
    assert.equal(outside.status, 416);
    assert.equal(outside.headers["content-range"], "bytes */300");
    const staleRange = await fetchUrl(server, "GET", slot.get, { headers: { Range: "bytes=0-9", "If-Range": '"other"' } });
    assert.equal(staleRange.status, 200, "If-Range with another validator: the whole file");
    assert.equal(staleRange.body.length, 300);

    const cached = await fetchUrl(server, "GET", slot.get, { headers: { "If-None-Match": etag } });
    assert.equal(cached.status, 304);
    assert.equal(cached.body.length, 0);
    const since = await fetchUrl(server, "GET", slot.get, { headers: { "If-Modified-Since": got.headers["last-modified"] } });
    assert.equal(since.status, 304);

    // Web clients on other origins: a CORS preflight for the PUT, and readable GETs.
    const preflight = await fetchUrl(server, "OPTIONS", slot.put, {
      headers: { Origin: "https://webchat.example", "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "authorization, content-type" },
    });
    assert.equal(preflight.status, 204);
    assert.match(preflight.headers["access-control-allow-methods"] ?? "", /\bPUT\b/);
    assert.match(preflight.headers["access-control-allow-headers"] ?? "", /Authorization/);
    const crossOrigin = await fetchUrl(server, "GET", slot.get, { headers: { Origin: "https://webchat.example" } });
    assert.equal(crossOrigin.headers["access-control-allow-origin"], "*");

    const wrongName = await fetchUrl(server, "GET", slot.get.replace(/[^/]+$/, "other.png"));
    assert.equal(wrongName.status, 404, "the id alone does not name the file");
  });

  test("HTML and SVG are served as attachments under the sandbox CSP; the type is normalised", async () => {
    const c = await online("mallory");
    const cases: Array<[string, string, string, string]> = [
      ["page.html", "text/html; charset=utf-8", "<script>alert(document.cookie)</script>", "text/html"],
      ["icon.svg", "image/svg+xml", '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "image/svg+xml"],
      ["page.xhtml", "Application/XHTML+XML", '<html xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></html>', "application/xhtml+xml"],
    ];
    for (const [name, type, content, normal] of cases) {
      const slot = expectSlot(await requestSlot(c, name, Buffer.byteLength(content), type), name);
      const r = await put(slot, content, { "Content-Type": type });
      assert.equal(r.status, 201, `${name}: ${r.text}`);
      const got = await fetchUrl(server, "GET", slot.get);
      assert.equal(got.status, 200);
      assert.equal(got.text, content);
      assert.equal(got.headers["content-type"], normal, name);
      assert.match(got.headers["content-disposition"] ?? "", /^attachment; /, name);
      assert.equal(got.headers["content-security-policy"], "default-src 'none'; sandbox", name);
      assert.equal(got.headers["x-content-type-options"], "nosniff", name);
    }
  });

  test("refused slot requests: too large (§4.1 file-too-large), bad size, path-like filenames, bad type; nothing is stored", async () => {
    const c = await online("bob");
    const big = expectRefusal(await requestSlot(c, "big.bin", LIMIT + 1, "application/octet-stream"), "not-acceptable", "too large");
    assert.equal(big.type, "modify");
    const tooLarge = big.error.getChild("file-too-large", NS_UPLOAD);
    assert.ok(tooLarge, `no <file-too-large/>: ${String(big.error)}`);
    assert.equal(tooLarge.getChildText("max-file-size"), String(LIMIT));
    for (const size of [0, -1, "abc", "1e3", ""]) expectRefusal(await requestSlot(c, "a.txt", size, "text/plain"), "bad-request", `size ${size}`);
    for (const name of ["../../etc/passwd", "a/b.txt", "..\\x.txt", "..", ".", "", "del\u007f.txt", "next\u0085line.txt", "x".repeat(256)]) {
      const r = expectRefusal(await requestSlot(c, name, 10, "text/plain"), "bad-request", `filename ${JSON.stringify(name)}`);
      assert.match(r.text ?? "", /filename/i);
    }
    for (const type of ["text", "text/", "a b/c", "<x>/y"]) expectRefusal(await requestSlot(c, "a.txt", 10, type), "bad-request", `type ${type}`);
    assert.deepEqual(rows("bob"), [], "no slot stored for a refused request");
  });

  test("refused PUTs: no token 401, another slot's token 403, wrong length 400/413, oversized chunked body, wrong type 415, unknown slot 404; then the right PUT works", async () => {
    const c = await online("carol");
    const a = expectSlot(await requestSlot(c, "a.txt", 10, "text/plain"), "slot a");
    const b = expectSlot(await requestSlot(c, "b.txt", 10, "text/plain"), "slot b");
    const ten = "0123456789";
    const noToken = await fetchUrl(server, "PUT", a.put, { body: ten, headers: { "Content-Type": "text/plain" } });
    assert.equal(noToken.status, 401, noToken.text);
    const otherToken = await fetchUrl(server, "PUT", a.put, { body: ten, headers: { ...b.headers, "Content-Type": "text/plain" } });
    assert.equal(otherToken.status, 403, otherToken.text);
    assert.match(otherToken.text, /not the one of this upload slot/);
    const short = await put(a, "012345678", { "Content-Type": "text/plain" });
    assert.equal(short.status, 400, short.text);
    assert.match(short.text, /exactly 10 bytes/);
    const long = await put(a, "0123456789A", { "Content-Type": "text/plain" });
    assert.equal(long.status, 413, long.text);
    const chunked = await fetchUrl(server, "PUT", a.put, {
      headers: { ...a.headers, "Content-Type": "text/plain", "Transfer-Encoding": "chunked" },
      chunks: ["01234", "56789", "ABCDE"],
    });
    assert.ok(chunked.status === 413 || chunked.status === 0, `an oversized streamed body is cut off: ${chunked.status} ${chunked.text}`);
    const wrongType = await put(a, ten, { "Content-Type": "text/html" });
    assert.equal(wrongType.status, 415, wrongType.text);
    const unknown = await fetchUrl(server, "PUT", a.put.replace(/\/upload\/[^/]+\//, "/upload/AAAAAAAAAAAAAAAAAAAAAA/"), { body: ten, headers: a.headers });
    assert.equal(unknown.status, 404, unknown.text);
    const traversal = await fetchUrl(server, "PUT", a.put.replace(/[^/]+$/, "..%2F..%2Fwarden.sqlite"), { body: ten, headers: a.headers });
    assert.equal(traversal.status, 404, traversal.text);
    assert.equal((await fetchUrl(server, "GET", a.get)).status, 404, "nothing stored by the refused PUTs");
    assert.ok(rows("carol").every((r) => r.uploaded_at === null));

    const ok = await put(a, ten, { "Content-Type": "text/plain" });
    assert.equal(ok.status, 201, ok.text);
    const got = await fetchUrl(server, "GET", a.get);
    assert.equal(got.text, ten);
    assert.equal(got.headers["content-type"], "text/plain");
    assert.match(got.headers["content-disposition"] ?? "", /^inline; /);
  });

  test("an expired slot is refused (403) with a clear message", async () => {
    const c = await online("dave");
    const slot = expectSlot(await requestSlot(c, "late.txt", 4, "text/plain"), "slot");
    // Five minutes on: the slot's expiry moved into the past.
    db.prepare("UPDATE uploads SET slot_expires_at = ? WHERE username = 'dave'").run(Date.now() - 1);
    const r = await put(slot, "late", { "Content-Type": "text/plain" });
    assert.equal(r.status, 403, r.text);
    assert.match(r.text, /expired/);
  });

  test("the daily quota: uploads (slots included) past http_file_share_daily_quota are refused with resource-constraint", async () => {
    const c = await online("erin");
    expectSlot(await requestSlot(c, "1.bin", 1000, "application/octet-stream"), "first");
    expectSlot(await requestSlot(c, "2.bin", 1000, "application/octet-stream"), "second");
    const r = expectRefusal(await requestSlot(c, "3.bin", 1000, "application/octet-stream"), "resource-constraint", "third");
    assert.equal(r.type, "wait");
    assert.match(r.text ?? "", /quota/i);
    expectSlot(await requestSlot(c, "small.bin", 500, "application/octet-stream"), "what still fits");
  });

  test("too many slot requests in a minute: resource-constraint with <retry stamp/>", async () => {
    const c = await online("frank");
    for (let i = 0; i < 25; i++) expectSlot(await requestSlot(c, `f${i}.txt`, 1, "text/plain"), `request ${i}`);
    const r = expectRefusal(await requestSlot(c, "f25.txt", 1, "text/plain"), "resource-constraint", "one past the limit");
    const retry = r.error.getChild("retry", NS_UPLOAD);
    assert.ok(retry, `no <retry/>: ${String(r.error)}`);
    const at = Date.parse(retry.attrs.stamp ?? "");
    assert.ok(at > Date.now() - 1000 && at <= Date.now() + 61_000, `retry stamp ${retry.attrs.stamp}`);
  });

  test("the client list shows the uploads per client; revoking the client revokes its unused slots, its files stay", async () => {
    const c = await online("gina");
    const used = expectSlot(await requestSlot(c, "kept.txt", 5, "text/plain"), "used slot");
    assert.equal((await put(used, "hello", { "Content-Type": "text/plain" })).status, 201);
    const unused = expectSlot(await requestSlot(c, "later.txt", 5, "text/plain"), "unused slot");
    const list = await server.cli(["shell", "user", "clients", "gina@localhost", "--json"]);
    assert.equal(list.code, 0, list.stderr);
    const entries = JSON.parse(list.stdout) as Array<{ id: string; holds: string[] }>;
    const mine = entries.find((e) => e.holds.length > 0);
    assert.ok(mine, `no client holds uploads: ${list.stdout}`);
    assert.deepEqual(mine.holds, ["uploaded 1 file (5 B)"]);
    // The same through the manage-clients protocol, in Warden's holdings extension.
    const listed = await c.iq("get", xml("list", { xmlns: "xmpp:prosody.im/protocol/manage-clients" }));
    const client = listed
      .getChild("clients")!
      .getChildren("client")
      .find((e) => e.attrs.id === mine.id);
    const holdings = client?.getChild("holdings", "urn:warden:client-holdings:0")?.getChildren("holding") ?? [];
    assert.deepEqual(
      holdings.map((h) => [h.attrs.kind, h.text()]),
      [["upload", "uploaded 1 file (5 B)"]],
      String(listed),
    );
    const revoked = await server.cli(["shell", "user", "revoke_client", "gina@localhost", mine.id]);
    assert.equal(revoked.code, 0, revoked.stderr + revoked.stdout);
    const r = await put(unused, "later", { "Content-Type": "text/plain" });
    assert.equal(r.status, 403, r.text);
    assert.match(r.text, /revoked/);
    const kept = await fetchUrl(server, "GET", used.get);
    assert.equal(kept.status, 200, "files already shared stay");
    assert.equal(kept.text, "hello");
  });

  test("deleting the account deletes its files, on disk too", async () => {
    const c = await online("hank");
    const slot = expectSlot(await requestSlot(c, "gone.txt", 4, "text/plain"), "slot");
    assert.equal((await put(slot, "gone", { "Content-Type": "text/plain" })).status, 201);
    const id = /\/upload\/([^/]+)\//.exec(slot.get)![1]!;
    const file = join(server.dataDir, "data/uploads", id);
    assert.ok(existsSync(file));
    await c.stop();
    const del = await server.cli(["user", "delete", "hank"]);
    assert.equal(del.code, 0, del.stderr);
    for (let i = 0; i < 50 && existsSync(file); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(!existsSync(file), "the file was deleted");
    assert.equal((await fetchUrl(server, "GET", slot.get)).status, 404);
    assert.deepEqual(rows("hank"), []);
  });

  test("expired files are not served, and the purge deletes them and their records (at start, then hourly)", async () => {
    const c = await online("ivy");
    const slot = expectSlot(await requestSlot(c, "old.txt", 3, "text/plain"), "slot");
    assert.equal((await put(slot, "old", { "Content-Type": "text/plain" })).status, 201);
    const id = /\/upload\/([^/]+)\//.exec(slot.get)![1]!;
    // A week on.
    db.prepare("UPDATE uploads SET expires_at = ? WHERE id = ?").run(Date.now() - 1, id);
    assert.equal((await fetchUrl(server, "GET", slot.get)).status, 404);
    await c.stop();
    await server.restart();
    assert.ok(!existsSync(join(server.dataDir, "data/uploads", id)), "the expired file was deleted");
    assert.deepEqual(rows("ivy"), []);
  });
});

describe("HTTP file upload: the global quota", () => {
  let server: TestServer;
  const clients: Interop[] = [];
  before(async () => {
    server = await startServer({ http_file_share_size_limit: 1000, http_file_share_global_quota: 1500 });
  });
  after(async () => {
    for (const c of clients) await c.stop().catch(() => {});
    await server.stop();
  });

  test("slots past http_file_share_global_quota (every account's files together) are refused", async () => {
    for (const u of ["g1", "g2"]) await server.addUser(u, "secret");
    const login = async (username: string) => {
      const c = await Interop.online({ service: `xmpp://127.0.0.1:${server.c2sPort}`, username, password: "secret", resource: "r" });
      clients.push(c);
      return c;
    };
    const g1 = await login("g1");
    const g2 = await login("g2");
    expectSlot(await requestSlot(g1, "a.bin", 1000, "application/octet-stream"), "g1");
    const r = expectRefusal(await requestSlot(g2, "b.bin", 1000, "application/octet-stream"), "resource-constraint", "g2");
    assert.match(r.text ?? "", /storage is full/);
    expectSlot(await requestSlot(g2, "c.bin", 500, "application/octet-stream"), "what still fits");
  });
});
