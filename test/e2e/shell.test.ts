// `warden shell user clients JID [--json]` and `warden shell user revoke_client JID SELECTOR`:
// the real command against a running server over its admin socket. Output and exit codes
// follow the reference's shell (prosody-client-management.md §1.9, checklist §7 items 34–37)
// and src/cli/errors.ts.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import Database from "better-sqlite3";
import { TestServer, startServer, type CliResult } from "../helpers/server.js";
import { RawClient } from "../helpers/raw-client.js";
import { show } from "../helpers/xml.js";
import { expectStreamError, ping } from "../helpers/xmpp-assert.js";
import { assertSasl2Failure } from "../helpers/sasl2-client.js";
import { fastLogin, legacyLogin, listClients, sasl2Login } from "../helpers/manage-clients.js";
import type { ClientRow as Row } from "../../src/clients/admin.js";

function expectExit(r: CliResult, code: number, what: string): void {
  assert.equal(r.code, code, `${what}: expected exit ${code}, got ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
}

let server: TestServer;
const open: RawClient[] = [];
let users = 0;

before(async () => {
  server = await startServer();
});
after(async () => {
  for (const c of open) c.close();
  await server?.stop();
});

async function newUser(prefix: string): Promise<{ name: string; pw: string; jid: string }> {
  const name = `${prefix}${++users}`;
  const pw = `pw-${name}-secret`;
  await server.addUser(name, pw);
  return { name, pw, jid: `${name}@localhost` };
}

const keep = <T extends { c: RawClient }>(x: T): T => {
  open.push(x.c);
  return x;
};

async function clientsJson(jid: string, s = server): Promise<Row[]> {
  const r = await s.cli(["shell", "user", "clients", jid, "--json"]);
  expectExit(r, 0, `shell user clients ${jid} --json`);
  return JSON.parse(r.stdout) as Row[];
}

/** Waits until the server has noticed that a client went away (its row says connected: false). */
async function untilDisconnected(jid: string, id: string): Promise<Row[]> {
  for (let i = 0; i < 50; i++) {
    const rows = await clientsJson(jid);
    if (rows.find((r) => r.id === id)?.connected === false) return rows;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${id} of ${jid} is still listed as connected`);
}

const pad2 = (n: number) => String(n).padStart(2, "0");
/** The reference's date rule: local HH:MM:SS within 24 h of now, else local YYYY-MM-DD. */
function shellDate(ms: number | undefined, now: number): string {
  if (ms === undefined) return "";
  const d = new Date(ms);
  if (Math.abs(now - ms) < 86400_000) return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;
}

describe("warden shell user clients", () => {
  test("an account without clients: 'No clients associated with this account', exit 0 (--json: [])", async () => {
    const u = await newUser("empty");
    const r = await server.cli(["shell", "user", "clients", u.jid]);
    expectExit(r, 0, "clients of an account without clients");
    assert.equal(r.stdout, "No clients associated with this account\n");
    assert.deepEqual(await clientsJson(u.jid), []);
    // The bare local part works too.
    const bare = await server.cli(["shell", "user", "clients", u.name]);
    expectExit(bare, 0, "clients with a bare username");
    assert.equal(bare.stdout, "No clients associated with this account\n");
  });

  test("an account that does not exist: exit 67 (no such account)", async () => {
    const r = await server.cli(["shell", "user", "clients", "nobody-at-all@localhost"]);
    expectExit(r, 67, "clients of a missing account");
    assert.match(r.stderr, /no such account/);
    assert.equal(r.stdout, "");
  });

  test("the table: header, dashed rules, one row per client in list order, 'N clients'; columns as in the reference", async () => {
    const u = await newUser("table");
    const legacy = keep(await legacyLogin(server.c2sPort, u.name, u.pw, "desk"));
    const phone = await sasl2Login(server.c2sPort, u.name, u.pw, { userAgent: { id: "shell-phone", software: "Shelly", device: "Pixel" }, requestToken: true });
    phone.c.close();
    keep(
      await sasl2Login(server.c2sPort, u.name, u.pw, {
        userAgent: { id: "a-rather-long-client-identifier-for-the-id-column", software: "Some Considerably Longer Software Name" },
      }),
    );
    const rows = await untilDisconnected(u.jid, "client/shell-phone");
    const r = await server.cli(["shell", "user", "clients", u.jid]);
    const now = Date.now();
    expectExit(r, 0, "shell user clients");
    assert.equal(r.stderr, "");
    // The XML list from a session of the account has the same clients in the same order.
    assert.deepEqual(
      rows.map((x) => x.id),
      (await listClients(legacy.c)).clients.map((c) => c.id),
      "the table lists what the XML list lists",
    );
    assert.equal(rows.length, 3);

    assert.ok(r.stdout.endsWith("\n"), "ends with a newline");
    const lines = r.stdout.slice(0, -1).split("\n");
    const n = rows.length;
    assert.equal(lines.length, n + 4, `header, rule, ${n} rows, rule, count:\n${r.stdout}`);
    const [header, rule1] = lines;
    const rule2 = lines[n + 2]!;
    assert.equal(lines[n + 3], `${n} clients`);
    const titles = ["ID", "Software", "First seen", "Last seen", "Expires", "Authentication"];
    const headerCells = header!.split(" | ");
    assert.deepEqual(
      headerCells.map((c) => c.trim()),
      titles,
      `header: ${header}`,
    );
    assert.equal(header!.replace(/ +\| +| +\|/g, " | ").replace(/\s+$/, ""), "ID | Software | First seen | Last seen | Expires | Authentication");
    // Date columns are right-aligned, at least max(title + 1, 10) wide.
    for (const i of [2, 3, 4]) {
      assert.equal(headerCells[i]!.trimStart(), titles[i], `'${titles[i]}' is right-aligned: '${headerCells[i]}'`);
      assert.ok(headerCells[i]!.length >= Math.max(titles[i]!.length + 1, 10), `'${titles[i]}' column width`);
    }
    for (const i of [0, 1]) assert.equal(headerCells[i]!.trimEnd(), titles[i], `'${titles[i]}' is left-aligned: '${headerCells[i]}'`);
    const widths = headerCells.slice(0, 5).map((c) => c.length);
    const authWidth = Math.max("Authentication".length, ...rows.map((x) => [...x.auth].sort().join(", ").length));
    const fullWidth = widths.reduce((a, b) => a + b, 0) + authWidth + 3 * 5;
    assert.equal(rule1, "-".repeat(fullWidth), "the first rule spans the table");
    assert.equal(rule2, rule1, "the second rule is the same");

    for (let k = 0; k < n; k++) {
      const row = rows[k]!;
      const line = lines[k + 2]!;
      const cells = line.split(" | ");
      assert.equal(cells.length, 6, `six cells: '${line}'`);
      for (let i = 0; i < 5; i++) assert.equal(cells[i]!.length, widths[i], `cell ${i} of '${line}' is as wide as its column`);
      assert.equal(line.trimEnd(), line, "no trailing blanks");
      assert.equal(cells[0]!.trimEnd(), row.id);
      assert.ok(cells[0]!.startsWith(row.id), "ID is left-aligned");
      assert.equal(cells[1]!.trimEnd(), row.software ?? "");
      assert.equal(cells[2], shellDate(row.firstSeen, now).padStart(widths[2]!), `First seen of ${row.id}`);
      assert.equal(cells[3], shellDate(row.lastSeen, now).padStart(widths[3]!), `Last seen of ${row.id}`);
      assert.equal(cells[4], shellDate(row.expires, now).padStart(widths[4]!), `Expires of ${row.id}`);
      assert.equal(cells[5], [...row.auth].sort().join(", "), `Authentication of ${row.id}`);
    }
    const cell = (id: string, i: number) => lines[2 + rows.findIndex((x) => x.id === id)]!.split(" | ")[i]!.trim();
    // Within a day: HH:MM:SS. The FAST token expires in 21 days: a date.
    assert.match(cell("client/shell-phone", 2), /^\d\d:\d\d:\d\d$/);
    assert.match(cell("client/shell-phone", 4), /^\d{4}-\d\d-\d\d$/, "a FAST token's expiry, shown as a date");
    assert.equal(cell("client/shell-phone", 5), "fast, password");
    assert.equal(cell("client/shell-phone", 1), "Shelly");
    const legacyId = rows.find((x) => /^client\/[A-Za-z0-9_-]{12}$/.test(x.id))!.id;
    assert.equal(cell(legacyId, 5), "connected, password");
    assert.equal(cell(legacyId, 4), "", "no expiry without a token");
    assert.equal(cell("client/a-rather-long-client-identifier-for-the-id-column", 1), "Some Considerably Longer Software Name");
  });

  test("--json: one object per client with its details and the IP address of its last login", async () => {
    const u = await newUser("json");
    const t0 = Date.now();
    keep(await sasl2Login(server.c2sPort, u.name, u.pw, { userAgent: { id: "json-app", software: "Jason", device: "Argo" }, requestToken: true }));
    const t1 = Date.now();
    const rows = await clientsJson(u.jid);
    assert.equal(rows.length, 1);
    const row = rows[0]!;
    assert.equal(row.id, "client/json-app");
    assert.equal(row.type, "session");
    assert.equal(row.connected, true);
    assert.equal(row.software, "Jason");
    assert.equal(row.device, "Argo");
    assert.deepEqual(row.auth, ["connected", "fast", "password"]);
    assert.ok(row.firstSeen >= t0 && row.firstSeen <= t1, "firstSeen is the login time (ms)");
    assert.ok(row.lastSeen >= row.firstSeen);
    assert.ok(row.expires !== undefined && row.expires > t1, "expires: the FAST token's expiry");
    assert.equal(row.ip, "127.0.0.1", "the IP address of the last login");
  });

  test("a JID on an unknown host: 'Unknown host: other.example', exit 65; for revoke_client too", async () => {
    for (const args of [
      ["clients", "x@other.example"],
      ["revoke_client", "x@other.example", "client/x"],
    ]) {
      const r = await server.cli(["shell", "user", ...args]);
      expectExit(r, 65, `shell user ${args.join(" ")}`);
      assert.match(r.stderr, /Unknown host: other\.example/, r.stderr);
    }
  });

  test("missing arguments: usage error, exit 64", async () => {
    expectExit(await server.cli(["shell", "user", "clients"]), 64, "clients without a JID");
    expectExit(await server.cli(["shell", "user", "revoke_client", "a@localhost"]), 64, "revoke_client without a selector");
    expectExit(await server.cli(["shell", "user", "nonsense"]), 64, "an unknown shell command");
  });
});

describe("warden shell user revoke_client", () => {
  test("unknown ids and malformed selectors: 'Client not found', exit 67", async () => {
    const u = await newUser("rnf");
    keep(await legacyLogin(server.c2sPort, u.name, u.pw, "here"));
    for (const sel of ["client/nope", "grant/nope", "software/Nope", "foo/bar", "nosslash"]) {
      const r = await server.cli(["shell", "user", "revoke_client", u.jid, sel]);
      expectExit(r, 67, `revoke_client ${sel}`);
      assert.equal(r.stdout, "Client not found\n", `revoke_client ${sel}`);
    }
    const j = await server.cli(["shell", "user", "revoke_client", u.jid, "client/nope", "--json"]);
    expectExit(j, 67, "revoke_client --json");
    assert.deepEqual(JSON.parse(j.stdout), { result: "not-found", message: "Client not found" });
  });

  test("a connected password client: 'Client access revoked', exit 0, 'Password reset required' warning on stderr; its stream ends with not-authorized naming it; it stays out", async () => {
    const u = await newUser("rprr");
    const victim = await sasl2Login(server.c2sPort, u.name, u.pw, { userAgent: { id: "victim", software: "Victim" }, requestToken: true });
    const bystander = keep(await legacyLogin(server.c2sPort, u.name, u.pw, "bystander"));
    const r = await server.cli(["shell", "user", "revoke_client", u.jid, "client/victim"]);
    // The revocation happened: exit 0 (a `set -e` script goes on); what it cannot promise is a warning.
    expectExit(r, 0, "revoke_client of a password client");
    assert.equal(r.stdout, "Client access revoked\n");
    assert.match(r.stderr, /^warning: Password reset required: /);
    assert.match(r.stderr, new RegExp(`warden shell user reset_password ${u.jid}\\n$`));
    const err = await expectStreamError(victim.c, "not-authorized");
    assert.equal(err.children.find((c) => c.name === "text")?.text, "Access for Victim was revoked by the server administrator", show(err));
    await ping(bystander.c);
    assert.equal(
      (await clientsJson(u.jid)).some((x) => x.id === "client/victim"),
      false,
      "no longer listed",
    );
    const f = keep(await fastLogin(server.c2sPort, u.name, victim.token!, { id: "victim" }));
    assertSasl2Failure(f.result, "not-authorized");
    // Again: the record is stale now.
    const again = await server.cli(["shell", "user", "revoke_client", u.jid, "client/victim", "--json"]);
    expectExit(again, 67, "revoking it again");
    assert.deepEqual(JSON.parse(again.stdout), { result: "not-found", message: "Client not found" });
  });

  test("software/NAME: the same as revoking that client", async () => {
    const u = await newUser("rsw");
    const victim = await sasl2Login(server.c2sPort, u.name, u.pw, { userAgent: { id: "sw-victim", software: "Softy" } });
    const r = await server.cli(["shell", "user", "revoke_client", u.jid, "software/Softy"]);
    expectExit(r, 0, "revoke_client software/Softy");
    assert.equal(r.stdout, "Client access revoked\n");
    assert.match(r.stderr, /^warning: Password reset required: /);
    await expectStreamError(victim.c, "not-authorized");
    assert.deepEqual(await clientsJson(u.jid), []);
  });

  test("a grant (the client's FAST grant): 'Client access revoked', exit 0; the session that used it is closed and its token refused", async () => {
    // No OAuth grants exist yet; a FAST grant is the grant that can be reached. Its id is not
    // shown anywhere, so it is read from the server's database.
    const u = await newUser("rgrant");
    const first = await sasl2Login(server.c2sPort, u.name, u.pw, { userAgent: { id: "granted" }, requestToken: true });
    first.c.close();
    const fast = await fastLogin(server.c2sPort, u.name, first.token!, { id: "granted" });
    assert.equal(fast.result.name, "success", show(fast.result));
    const db = new Database(join(server.dataDir, "data/warden.sqlite"), { readonly: true, fileMustExist: true });
    let grantId: string;
    try {
      const rows = db.prepare("SELECT id FROM grants WHERE username = ? AND kind = 'fast' AND client_id = ?").all(u.name, "granted") as Array<{ id: string }>;
      assert.equal(rows.length, 1, `one FAST grant: ${JSON.stringify(rows)}`);
      grantId = rows[0]!.id;
    } finally {
      db.close();
    }
    const r = await server.cli(["shell", "user", "revoke_client", u.jid, `grant/${grantId}`]);
    expectExit(r, 0, "revoke_client grant/…");
    assert.equal(r.stdout, "Client access revoked\n");
    await expectStreamError(fast.c, "not-authorized");
    const f = keep(await fastLogin(server.c2sPort, u.name, first.token!, { id: "granted" }));
    assertSasl2Failure(f.result, "not-authorized");
    // The client keeps what it has besides the grant: its password login.
    const rows = await untilDisconnected(u.jid, "client/granted");
    assert.deepEqual(rows.find((x) => x.id === "client/granted")?.auth, ["password"]);
    const again = await server.cli(["shell", "user", "revoke_client", u.jid, `grant/${grantId}`]);
    expectExit(again, 67, "revoking the grant again");
    assert.equal(again.stdout, "Client not found\n");
  });
});

describe("client_ip_tracking: false", () => {
  test("after a restart with IP tracking off, no IP address is recorded or shown", async () => {
    const u = await newUser("noip");
    const a = await sasl2Login(server.c2sPort, u.name, u.pw, { userAgent: { id: "before-off" } });
    const b = await sasl2Login(server.c2sPort, u.name, u.pw, { userAgent: { id: "relogs" } });
    assert.deepEqual(
      (await clientsJson(u.jid)).map((x) => x.ip),
      ["127.0.0.1", "127.0.0.1"],
    );
    a.c.close();
    b.c.close();
    server.configure({ client_ip_tracking: false });
    await server.restart();
    keep(await sasl2Login(server.c2sPort, u.name, u.pw, { userAgent: { id: "relogs" } }));
    keep(await sasl2Login(server.c2sPort, u.name, u.pw, { userAgent: { id: "after-off" } }));
    const rows = await clientsJson(u.jid);
    assert.deepEqual(rows.map((x) => x.id).sort(), ["client/after-off", "client/before-off", "client/relogs"]);
    assert.equal(rows.find((x) => x.id === "client/after-off")!.ip, undefined, "a new client: no IP");
    assert.equal(rows.find((x) => x.id === "client/relogs")!.ip, undefined, "a client that logged in again: its old IP is forgotten");
    assert.equal(rows.find((x) => x.id === "client/before-off")!.ip, undefined, "a client not seen since tracking was switched off: no IP shown");
  });
});

describe("warden shell without a running server", () => {
  test("exit 69 with a clear message", async () => {
    const ts = new TestServer();
    for (const args of [
      ["clients", "a@localhost"],
      ["revoke_client", "a@localhost", "client/x"],
      ["allow_client", "a@localhost", "client/x"],
      ["reset_password", "a@localhost"],
    ]) {
      // reset_password says so before it asks for (or reads) a password.
      const r = await ts.cli(["shell", "user", ...args], "some-new-password\n");
      expectExit(r, 69, `shell user ${args[0]} with no server`);
      assert.match(r.stderr, /the server is not running/, r.stderr);
      assert.equal(r.stdout, "");
    }
  });

  test("after the server stopped: exit 69", async () => {
    const s = await startServer();
    await s.addUser("zed", "zed-secret");
    expectExit(await s.cli(["shell", "user", "clients", "zed@localhost"]), 0, "while running");
    await s.stop();
    const r = await s.cli(["shell", "user", "clients", "zed@localhost"]);
    expectExit(r, 69, "after stop");
    assert.match(r.stderr, /the server is not running/);
  });
});
