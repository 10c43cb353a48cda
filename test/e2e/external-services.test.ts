// External service discovery (XEP-0215) end to end: the services a configured server lists,
// the TURN REST credentials it makes (checked here with HMAC-SHA1 over the username, and then
// by a real coturn started with the same secret: turnutils_uclient allocates a relay with
// them, and is refused with a tampered password or an expired username), the type filter,
// <credentials/>, and a server without configuration that advertises and answers nothing.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { spawn, type ChildProcess } from "node:child_process";
import { createHmac } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, TestServer } from "../helpers/server.js";
import { RawClient } from "../helpers/raw-client.js";
import { child, show, type XmlEl } from "../helpers/xml.js";
import { expectStanzaError, waitForElement } from "../helpers/xmpp-assert.js";

const NS = "urn:xmpp:extdisco:2";
const SECRET = "turn-shared-secret-for-tests";
const TTL = 600;
const TURNSERVER = "/usr/bin/turnserver";
const UCLIENT = "/usr/bin/turnutils_uclient";

let server: TestServer;
let bare: TestServer;
let turnPort = 0;
let turn: ChildProcess | undefined;
let turnDir = "";
const clients: RawClient[] = [];

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

before(async () => {
  turnPort = await freePort();
  server = await startServer({
    turn_external_host: "127.0.0.1",
    turn_external_port: turnPort,
    turn_external_secret: SECRET,
    turn_external_ttl: TTL,
    turn_external_tls_port: 5349,
    external_services: [
      { type: "stun", host: "stun.example.org", port: 3478, transport: "udp" },
      { type: "turn", host: "turn.example.net", port: 3478, transport: "tcp", username: "static", password: "pw" },
    ],
  });
  await server.addUser("alice", "pw-alice");
  bare = await startServer();
  await bare.addUser("alice", "pw-alice");
});

after(async () => {
  for (const c of clients) c.close();
  turn?.kill("SIGKILL");
  if (turnDir) rmSync(turnDir, { recursive: true, force: true });
  await server?.stop();
  await bare?.stop();
});

async function login(srv: TestServer): Promise<RawClient> {
  const c = await RawClient.connect(srv.c2sPort);
  clients.push(c);
  await c.login("alice", "pw-alice");
  return c;
}

let n = 0;
async function get(c: RawClient, payload: string): Promise<{ id: string; reply: XmlEl }> {
  const id = `x${++n}`;
  c.send(`<iq type='get' id='${id}' to='localhost'>${payload}</iq>`);
  return { id, reply: await waitForElement(c, (el) => el.name === "iq" && el.attrs.id === id, `reply ${id}`) };
}

const services = (reply: XmlEl) => reply.children[0]!.children.filter((s) => s.name === "service").map((s) => s.attrs);

/** Checks one service's TURN REST credentials against the secret; returns them. */
function checkCredentials(s: Record<string, string>, before: number): { username: string; password: string } {
  const m = /^(\d+):alice$/.exec(s.username ?? "");
  assert.ok(m, `username is "<expiry>:<account>": ${s.username}`);
  const expiry = Number(m[1]);
  assert.ok(expiry >= before + TTL && expiry <= Math.ceil(Date.now() / 1000) + TTL, `expiry ${expiry} is now + turn_external_ttl`);
  assert.equal(s.expires, new Date(expiry * 1000).toISOString().replace(/\.\d+Z$/, "Z"), "expires says the same instant");
  assert.equal(s.password, createHmac("sha1", SECRET).update(s.username!).digest("base64"), "password = base64(HMAC-SHA1(secret, username))");
  assert.equal(s.restricted, "1");
  return { username: s.username!, password: s.password };
}

test("a configured server lists stun, turn over udp and tcp, turns, and the listed services, with credentials for its TURN server", async () => {
  const c = await login(server);
  const info = await get(c, "<query xmlns='http://jabber.org/protocol/disco#info'/>");
  assert.ok(
    child(info.reply, "query")!.children.some((f) => f.attrs.var === NS),
    "extdisco advertised",
  );
  const t0 = Math.floor(Date.now() / 1000);
  const { reply } = await get(c, `<services xmlns='${NS}'/>`);
  assert.equal(reply.attrs.type, "result", show(reply));
  const list = services(reply);
  const shape = list.map((s) => [s.type, s.host, s.port, s.transport, s.username === undefined ? "no credentials" : "credentials"]);
  assert.deepEqual(shape, [
    ["stun", "127.0.0.1", String(turnPort), "udp", "no credentials"],
    ["turn", "127.0.0.1", String(turnPort), "udp", "credentials"],
    ["turn", "127.0.0.1", String(turnPort), "tcp", "credentials"],
    ["turns", "127.0.0.1", "5349", "tcp", "credentials"],
    ["stun", "stun.example.org", "3478", "udp", "no credentials"],
    ["turn", "turn.example.net", "3478", "tcp", "credentials"],
  ]);
  for (const s of list.slice(1, 4)) checkCredentials(s, t0);
  assert.deepEqual([list[5]!.username, list[5]!.password, list[5]!.restricted], ["static", "pw", "1"]);

  const turnOnly = services((await get(c, `<services xmlns='${NS}' type='turn'/>`)).reply);
  assert.deepEqual(
    turnOnly.map((s) => [s.type, s.host, s.transport]),
    [
      ["turn", "127.0.0.1", "udp"],
      ["turn", "127.0.0.1", "tcp"],
      ["turn", "turn.example.net", "tcp"],
    ],
  );
});

test("<credentials/> for one service; an unknown service is item-not-found, none named is bad-request", async () => {
  const c = await login(server);
  const t0 = Math.floor(Date.now() / 1000);
  const { reply } = await get(c, `<credentials xmlns='${NS}'><service type='turns' host='127.0.0.1'/></credentials>`);
  assert.equal(reply.attrs.type, "result", show(reply));
  const list = services(reply);
  assert.equal(list.length, 1);
  assert.equal(list[0]!.port, "5349");
  checkCredentials(list[0]!, t0);
  await expectStanzaError(
    c,
    "iq",
    (await get(c, `<credentials xmlns='${NS}'><service type='turn' host='elsewhere.example'/></credentials>`)).id,
    "cancel",
    "item-not-found",
  );
  await expectStanzaError(c, "iq", (await get(c, `<credentials xmlns='${NS}'/>`)).id, "modify", "bad-request");
});

test("an unconfigured server advertises no external services and does not answer for them", async () => {
  const c = await login(bare);
  const info = await get(c, "<query xmlns='http://jabber.org/protocol/disco#info'/>");
  assert.ok(!child(info.reply, "query")!.children.some((f) => f.attrs.var === NS), show(info.reply));
  await expectStanzaError(c, "iq", (await get(c, `<services xmlns='${NS}'/>`)).id, "cancel", "service-unavailable");
});

test("turn_external_host without turn_external_secret stops the server at start", async () => {
  await assert.rejects(new TestServer({ turn_external_host: "turn.example.org" }).start(), /turn_external_secret/);
});

/** turnutils_uclient allocates a relay on our coturn and exchanges packets through it; resolves with its exit code and output. */
function uclient(username: string, password: string, tcp: boolean): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const args = ["-y", "-n", "1", "-m", "1", "-l", "10", ...(tcp ? ["-t"] : []), "-u", username, "-w", password, "-p", String(turnPort), "127.0.0.1"];
    const p = spawn(UCLIENT, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    const guard = setTimeout(() => p.kill("SIGKILL"), 30_000);
    p.on("exit", (code) => {
      clearTimeout(guard);
      resolve({ code, out });
    });
  });
}

test(
  "coturn with the same secret (use-auth-secret) accepts the credentials, and refuses tampered or expired ones",
  { skip: !existsSync(TURNSERVER) && "coturn is not installed (Debian package coturn)" },
  async () => {
    turnDir = mkdtempSync(join(tmpdir(), "warden-turn-"));
    // prettier-ignore
    turn = spawn(TURNSERVER, ["-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", `--listening-port=${turnPort}`, "--use-auth-secret", `--static-auth-secret=${SECRET}`,
    "--realm=localhost", "--no-tls", "--no-dtls", "--no-cli", "--allow-loopback-peers", "--log-file=stdout", "--simple-log", `--pidfile=${join(turnDir, "turn.pid")}`,
    `--userdb=${join(turnDir, "turn.db")}`], { stdio: ["ignore", "pipe", "pipe"] });
    let log = "";
    turn.stdout!.on("data", (d) => (log += d));
    const deadline = Date.now() + 10_000;
    while (!/Total (General|UDP|TCP).*servers|listener opened on/i.test(log) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));

    const c = await login(server);
    const list = services((await get(c, `<services xmlns='${NS}' type='turn'/>`)).reply).filter((s) => s.host === "127.0.0.1");
    const udp = list.find((s) => s.transport === "udp")!;
    const tcp = list.find((s) => s.transport === "tcp")!;
    const expired = `${Math.floor(Date.now() / 1000) - 5}:alice`;
    const [okUdp, okTcp, tampered, old] = await Promise.all([
      uclient(udp.username!, udp.password!, false),
      uclient(tcp.username!, tcp.password!, true),
      uclient(udp.username!, Buffer.from("x" + udp.password!).toString("base64"), false),
      uclient(expired, createHmac("sha1", SECRET).update(expired).digest("base64"), false),
    ]);
    assert.equal(okUdp.code, 0, `coturn refused the UDP credentials:\n${okUdp.out}\n--- coturn ---\n${log}`);
    assert.match(okUdp.out, /Total lost packets 0/);
    assert.equal(okTcp.code, 0, `coturn refused the TCP credentials:\n${okTcp.out}`);
    assert.notEqual(tampered.code, 0, `a tampered password was accepted:\n${tampered.out}`);
    assert.match(tampered.out, /Cannot complete Allocation/);
    assert.notEqual(old.code, 0, `an expired username was accepted:\n${old.out}`);
  },
);
