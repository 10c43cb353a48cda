// The real `warden` command: exit codes and messages (src/cli/errors.ts) against a real
// SQLite database, and its effect on a running server's live sessions.
import { test, describe, after, before, afterEach } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync, chmodSync } from "node:fs";
import { join } from "node:path";
import { TestServer, startServer, runCli, type CliResult } from "../helpers/server.js";
import { RawClient } from "../helpers/raw-client.js";
import { NS_SASL } from "../helpers/xml.js";
import { expectSaslFailure, expectStreamError, ping, waitForElement } from "../helpers/xmpp-assert.js";

function expectExit(r: CliResult, code: number, what: string): void {
  assert.equal(r.code, code, `${what}: expected exit ${code}, got ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
}

function listed(r: CliResult): string[] {
  return r.stdout
    .split("\n")
    .filter((l) => l !== "")
    .sort();
}

describe("warden user (no server running)", () => {
  const ts = new TestServer();

  test("user add reads the password from stdin and creates the account", async () => {
    const r = await ts.cli(["user", "add", "alice"], "alice-secret\n");
    expectExit(r, 0, "user add");
    assert.match(r.stdout, /Created alice@localhost/);
    assert.equal(r.stdout.includes("alice-secret") || r.stderr.includes("alice-secret"), false, "the password was echoed");
    const full = await ts.cli(["user", "add", "bob@localhost"], "bob-secret\n");
    expectExit(full, 0, "user add with a full JID");
    expectExit(await ts.cli(["user", "add", "Carol"], "carol-secret"), 0, "user add without a final newline");
  });

  test("user list lists every account as a bare JID, normalised", async () => {
    const r = await ts.cli(["user", "list"]);
    expectExit(r, 0, "user list");
    assert.deepEqual(listed(r), ["alice@localhost", "bob@localhost", "carol@localhost"]);
  });

  test("adding an existing account: exit 73 and a message naming it", async () => {
    const r = await ts.cli(["user", "add", "alice"], "other\n");
    expectExit(r, 73, "duplicate user add");
    assert.match(r.stderr, /already exists/);
    assert.match(r.stderr, /alice/);
    // Case-folded duplicates are duplicates too.
    expectExit(await ts.cli(["user", "add", "ALICE@localhost"], "other\n"), 73, "duplicate user add in capitals");
  });

  test("a bad JID: exit 65", async () => {
    for (const jid of ["al ice", "@localhost", "alice@localhost/phone", "a@b@c"]) {
      const r = await ts.cli(["user", "add", jid], "pw\n");
      expectExit(r, 65, `user add '${jid}'`);
      assert.match(r.stderr, /invalid JID/, `user add '${jid}'`);
    }
  });

  test("a JID on another domain: exit 65", async () => {
    const r = await ts.cli(["user", "add", "alice@example.org"], "pw\n");
    expectExit(r, 65, "user add on another domain");
    assert.match(r.stderr, /example\.org|not on this server/);
  });

  test("passwd and delete of an unknown account: exit 67", async () => {
    const p = await ts.cli(["user", "passwd", "nobody"], "pw\n");
    expectExit(p, 67, "user passwd unknown");
    assert.match(p.stderr, /no such account/);
    const d = await ts.cli(["user", "delete", "nobody"]);
    expectExit(d, 67, "user delete unknown");
    assert.match(d.stderr, /no such account/);
  });

  test("no password on stdin: exit 66, and nothing is created", async () => {
    expectExit(await ts.cli(["user", "add", "dora"], ""), 66, "user add with empty stdin");
    expectExit(await ts.cli(["user", "add", "dora"], "\n"), 66, "user add with an empty line");
    expectExit(await ts.cli(["user", "passwd", "alice"], ""), 66, "user passwd with empty stdin");
    const r = await ts.cli(["user", "list"]);
    assert.equal(listed(r).includes("dora@localhost"), false, "an account was created without a password");
  });

  test("delete removes the account", async () => {
    expectExit(await ts.cli(["user", "delete", "bob"]), 0, "user delete");
    assert.deepEqual(listed(await ts.cli(["user", "list"])), ["alice@localhost", "carol@localhost"]);
    expectExit(await ts.cli(["user", "delete", "bob"]), 67, "second delete");
  });

  test("usage errors: exit 64", async () => {
    expectExit(await runCli([]), 64, "no command");
    expectExit(await ts.cli(["frobnicate"]), 64, "unknown command");
    expectExit(await ts.cli(["user", "rename", "alice"]), 64, "unknown user command");
    expectExit(await ts.cli(["user", "add"], "pw\n"), 64, "user add without a JID");
  });
});

describe("warden configuration errors: exit 78", () => {
  const ts = new TestServer();
  const dir = join(ts.dataDir, "configs");
  mkdirSync(dir, { recursive: true });
  const write = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  test("a config file that does not exist: exit 78 naming the file", async () => {
    const path = join(dir, "missing.yaml");
    const r = await runCli(["user", "list", "--config", path]);
    expectExit(r, 78, "missing config");
    assert.ok(r.stderr.includes(path), `the message does not name ${path}: ${r.stderr}`);
  });

  test("a config path that is a directory: exit 78 naming it", async () => {
    const r = await runCli(["user", "list", "--config", dir]);
    expectExit(r, 78, "directory as config");
    assert.ok(r.stderr.includes(dir), `the message does not name ${dir}: ${r.stderr}`);
  });

  test(
    "a config file without read permission: exit 78 naming the file",
    { skip: process.getuid?.() === 0 ? "running as root: permissions do not stop reads" : false },
    async () => {
      const path = write("secret.yaml", "domain: localhost\n");
      chmodSync(path, 0o000);
      const r = await runCli(["user", "list", "--config", path]);
      expectExit(r, 78, "unreadable config");
      assert.ok(r.stderr.includes(path), `the message does not name ${path}: ${r.stderr}`);
    },
  );

  test("WARDEN_CONFIG naming a missing file: exit 78 naming it", async () => {
    const path = join(dir, "env-missing.yaml");
    const r = await runCli(["user", "list"], undefined, { ...process.env, WARDEN_CONFIG: path });
    expectExit(r, 78, "missing WARDEN_CONFIG");
    assert.ok(r.stderr.includes(path), r.stderr);
  });

  test("a config file that is not YAML: exit 78 naming the file", async () => {
    const path = write("broken.yaml", "domain: [localhost\n  c2s_ports: : :\n");
    const r = await runCli(["user", "list", "--config", path]);
    expectExit(r, 78, "broken YAML");
    assert.ok(r.stderr.includes(path), r.stderr);
  });

  test("a bad value: exit 78 naming the key", async () => {
    const path = write("bad-value.yaml", `domain: localhost\ndata_path: ${JSON.stringify(join(ts.dataDir, "d1"))}\nc2s_timeout: soon\n`);
    const r = await runCli(["user", "list", "--config", path]);
    expectExit(r, 78, "bad value");
    assert.match(r.stderr, /c2s_timeout/);
    const path2 = write("bad-domain.yaml", "domain: 'not a domain!'\n");
    const r2 = await runCli(["user", "list", "--config", path2]);
    expectExit(r2, 78, "bad domain");
    assert.match(r2.stderr, /'domain'/);
  });

  test("an unknown key: exit 78 naming the key", async () => {
    const path = write("unknown.yaml", `domain: localhost\nc2s_timout: 30\n`);
    const r = await runCli(["user", "list", "--config", path]);
    expectExit(r, 78, "unknown key");
    assert.match(r.stderr, /c2s_timout/);
    assert.match(r.stderr, /unknown key/);
  });

  test("a config error stops `warden start` too (exit 78, nothing listening)", async () => {
    const path = write(
      "start-bad.yaml",
      `domain: localhost\ndata_path: ${JSON.stringify(join(ts.dataDir, "d2"))}\nc2s_ports: [0]\nc2s_direct_tls_ports: []\nc2s_interfaces: ['127.0.0.1']\nlogin_failure_limit: -1\n`,
    );
    const r = await runCli(["start", "--config", path]);
    expectExit(r, 78, "start with a bad config");
    assert.match(r.stderr, /login_failure_limit/);
  });
});

describe("warden user with the server running", () => {
  let server: TestServer;
  const clients: RawClient[] = [];
  const connect = async () => {
    const c = await RawClient.connect(server.c2sPort);
    clients.push(c);
    return c;
  };
  /** A TLS stream ready for <auth/>. */
  const readyForAuth = async () => {
    const c = await connect();
    await c.startTls();
    c.openStream();
    await c.waitFor(/<\/stream:features>/);
    c.clear();
    return c;
  };
  const plain = (user: string, pw: string) => `<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${Buffer.from(`\0${user}\0${pw}`).toString("base64")}</auth>`;

  before(async () => {
    server = await startServer();
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });
  after(async () => {
    await server?.stop();
  });

  test("an account added while the server runs can log in at once", async () => {
    expectExit(await server.cli(["user", "add", "newbie"], "newbie-secret\n"), 0, "user add");
    const c = await connect();
    assert.equal(await c.login("newbie", "newbie-secret", "r"), "newbie@localhost/r");
    await ping(c);
  });

  test("user delete closes the account's live sessions with <not-authorized/>; it can no longer log in", async () => {
    await server.addUser("victim", "victim-secret");
    await server.addUser("bystander", "bystander-secret");
    const a = await connect();
    await a.login("victim", "victim-secret", "one");
    const b = await connect();
    await b.login("victim", "victim-secret", "two");
    const other = await connect();
    await other.login("bystander", "bystander-secret");
    const r = await server.cli(["user", "delete", "victim"]);
    expectExit(r, 0, "user delete");
    assert.doesNotMatch(r.stderr, /warning/, "the running server did not take the change");
    await expectStreamError(a, "not-authorized");
    await expectStreamError(b, "not-authorized");
    // Other accounts are untouched.
    await ping(other);
    const again = await readyForAuth();
    again.send(plain("victim", "victim-secret"));
    await expectSaslFailure(again, "not-authorized");
    assert.equal(listed(await server.cli(["user", "list"])).includes("victim@localhost"), false);
  });

  test("user passwd closes the account's sessions with <reset/>; the new password works, the old does not", async () => {
    await server.addUser("changer", "old-password");
    const a = await connect();
    await a.login("changer", "old-password", "one");
    const b = await connect();
    await b.login("changer", "old-password", "two");
    const r = await server.cli(["user", "passwd", "changer"], "new-password\n");
    expectExit(r, 0, "user passwd");
    assert.doesNotMatch(r.stderr, /warning/, "the running server did not take the change");
    await expectStreamError(a, "reset");
    await expectStreamError(b, "reset");
    const old = await readyForAuth();
    old.send(plain("changer", "old-password"));
    await expectSaslFailure(old, "not-authorized");
    const fresh = await connect();
    assert.equal(await fresh.login("changer", "new-password", "three"), "changer@localhost/three");
    await ping(fresh);
  });

  test("each password change closes the sessions opened since the previous one", async () => {
    await server.addUser("twice", "pw-1");
    const a = await connect();
    await a.login("twice", "pw-1");
    expectExit(await server.cli(["user", "passwd", "twice"], "pw-2\n"), 0, "first passwd");
    await expectStreamError(a, "reset");
    const b = await connect();
    await b.login("twice", "pw-2");
    expectExit(await server.cli(["user", "passwd", "twice"], "pw-3\n"), 0, "second passwd");
    await expectStreamError(b, "reset");
    const c = await connect();
    await c.login("twice", "pw-3");
    c.send("<iq type='get' id='v1' to='localhost'><query xmlns='jabber:iq:version'/></iq>");
    const reply = await waitForElement(c, (el) => el.name === "iq" && el.attrs.id === "v1", "the version result");
    assert.equal(reply.attrs.type, "result");
  });
});
