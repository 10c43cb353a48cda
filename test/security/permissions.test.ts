// The data directory and what is in it are the server's user's alone (issue 10 §4, §6): the
// directory is 0700, no file in it is open to the group or to others, and another local user
// can neither talk to the admin socket nor read the database or the keys — checked by running a
// process as `nobody` (the tests run as root), with each layer (directory, files) tried alone.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, readdirSync, statSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { TestServer } from "../helpers/server.js";

const servers: TestServer[] = [];
after(async () => {
  for (const s of servers) await s.kill();
});

const mode = (p: string) => statSync(p).mode & 0o777;
const octal = (m: number) => "0" + m.toString(8);

/** Every file and directory under `dir` with its mode. */
function walk(dir: string): Array<{ path: string; mode: number }> {
  const out = [{ path: dir, mode: mode(dir) }];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else out.push({ path: p, mode: mode(p) });
  }
  return out;
}

/** Tries, as the user `nobody`, to connect to the admin socket and to read files; returns the error code of each (or "ok"). */
function asNobody(socket: string, files: string[]): Record<string, string> {
  const script = `
    const net = require("node:net"), fs = require("node:fs");
    const out = {};
    for (const f of ${JSON.stringify(files)}) { try { fs.readFileSync(f); out[f] = "ok"; } catch (e) { out[f] = e.code; } }
    const c = net.connect(${JSON.stringify(socket)});
    c.on("connect", () => { out.socket = "ok"; c.destroy(); console.log(JSON.stringify(out)); });
    c.on("error", (e) => { out.socket = e.code; console.log(JSON.stringify(out)); });`;
  const r = spawnSync("setpriv", ["--reuid=nobody", "--regid=nogroup", "--clear-groups", process.execPath, "-e", script], { encoding: "utf8" });
  assert.equal(r.status, 0, `could not run a process as nobody: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, string>;
}

test("data directory 0700, nothing in it open to others; another local user cannot use the admin socket or read the database and keys", async () => {
  const srv = new TestServer();
  servers.push(srv);
  // The test's own temporary directory is 0700: open it, so that only Warden's modes protect.
  chmodSync(srv.dataDir, 0o755);
  await srv.start();
  const data = join(srv.dataDir, "data");
  assert.equal(octal(mode(data)), "0700", "data_path mode");
  const open = walk(data).filter((f) => (f.mode & 0o077) !== 0);
  assert.deepEqual(
    open.map((f) => `${f.path} ${octal(f.mode)}`),
    [],
    "files in data_path open to group or others",
  );

  const socket = join(data, "warden.sock");
  const secrets = ["warden.sqlite", "warden.sqlite-wal", "secret.key", "oauth2.key", "certs/localhost.key"].map((f) => join(data, f)).filter(existsSync);
  assert.ok(secrets.length >= 4, `the data files exist: ${secrets.join(", ")}`);
  // The admin socket works for the server's own user (so a refusal below is about permissions).
  const own = await srv.cli(["user", "list"]);
  assert.equal(own.code, 0, own.stderr);

  // Layer 1: the directory. As nobody, nothing inside can be reached.
  const viaDir = asNobody(socket, secrets);
  for (const [what, code] of Object.entries(viaDir)) assert.equal(code, "EACCES", `nobody reached ${what} through the 0700 directory`);

  // Layer 2: the files themselves, with the directory opened for traversal.
  chmodSync(data, 0o711);
  try {
    const viaFiles = asNobody(socket, secrets);
    for (const [what, code] of Object.entries(viaFiles)) assert.equal(code, "EACCES", `nobody reached ${what} with only the file's own mode in the way`);
  } finally {
    chmodSync(data, 0o700);
  }
  await srv.stop();
});

test("a data directory and files made looser than 0700/0600 are tightened at start, with a warning naming each", async () => {
  const srv = new TestServer();
  servers.push(srv);
  await srv.start();
  await srv.stop();
  const data = join(srv.dataDir, "data");
  chmodSync(data, 0o755);
  chmodSync(join(data, "warden.sqlite"), 0o644);
  chmodSync(join(data, "secret.key"), 0o640);
  chmodSync(join(data, "certs", "localhost.key"), 0o644);
  // Not the server's file: left as it is (data_path may hold other things).
  writeFileSync(join(data, "README.txt"), "the operator's note\n", { mode: 0o644 });
  chmodSync(join(data, "README.txt"), 0o644);
  const before = srv.logs.length;
  await srv.start();
  const warned = srv.logs
    .slice(before)
    .filter((l) => l.msg === "was readable by other users; tightened")
    .map((l) => `${String(l.path)} ${String(l.mode)}`)
    .sort();
  assert.deepEqual(
    warned,
    [`${data} 0755`, `${join(data, "certs", "localhost.key")} 0644`, `${join(data, "secret.key")} 0640`, `${join(data, "warden.sqlite")} 0644`].sort(),
  );
  assert.equal(octal(mode(data)), "0700");
  assert.deepEqual(
    walk(data)
      .filter((f) => (f.mode & 0o077) !== 0)
      .map((f) => f.path),
    [join(data, "README.txt")],
  );
  await srv.stop();
});

test("`warden user add` before the first start makes the data directory 0700 and the database 0600", async () => {
  const srv = new TestServer();
  servers.push(srv);
  await srv.addUser("dave", "dave-secret-123");
  const data = join(srv.dataDir, "data");
  assert.equal(octal(mode(data)), "0700");
  assert.equal(octal(mode(join(data, "warden.sqlite"))), "0600");
});
