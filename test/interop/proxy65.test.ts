// Interop: two slixmpp clients (Debian's python3-slixmpp, plugin xep_0065) move a file through
// the server's SOCKS5 proxy, slixmpp doing discovery (disco#items → disco#info → streamhost),
// the offer, the target's SOCKS5 connection, the initiator's and the activation by itself.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, type TestServer } from "../helpers/server.js";
import { runSlixmpp } from "../helpers/slixmpp.js";

interface S5bReport {
  ok: boolean;
  received: number;
  sha256: string;
  expected_sha256: string;
  proxies: Record<string, [string, number]> | null;
  error: string | null;
}

const SIZE = 300_000;
let server: TestServer;
let proxyPort = 0;

before(async () => {
  server = await startServer({
    components: { "proxy.localhost": "proxy65" },
    proxy65_ports: [0],
    proxy65_interfaces: ["127.0.0.1"],
    proxy65_address: "127.0.0.1",
  });
  proxyPort = server.logs.find((l) => l.msg === "proxy65 listening")!.port as number;
  await server.addUser("sender", "pw-s5b");
  await server.addUser("receiver", "pw-s5b");
});

after(async () => {
  await server?.stop();
});

async function runS5b(): Promise<{ code: number | null; report: S5bReport | undefined; stderr: string }> {
  const run = await runSlixmpp<S5bReport>(
    "s5b.py",
    {
      WARDEN_PORT: String(server.c2sPort),
      SENDER_JID: "sender@localhost",
      RECEIVER_JID: "receiver@localhost",
      XMPP_PASSWORD: "pw-s5b",
      SIZE: String(SIZE),
      DEADLINE: "20",
    },
    { guardMs: 60_000 },
  );
  return { code: run.code, report: run.result, stderr: run.stderr };
}

test("slixmpp sends a file to slixmpp through the proxy it discovered", async () => {
  const run = await runS5b();
  const tail = run.stderr
    .split("\n")
    .filter((l) => /SEND|RECV|SOCKS|Error|Traceback/i.test(l))
    .slice(-40)
    .join("\n");
  assert.ok(run.report, `no result line\n${tail}`);
  assert.deepEqual(run.report.proxies, { "proxy.localhost": ["127.0.0.1", proxyPort] }, `the proxy slixmpp found\n${tail}`);
  assert.equal(run.report.error, null, tail);
  assert.equal(run.report.received, SIZE);
  assert.equal(run.report.sha256, run.report.expected_sha256);
  assert.equal(run.report.ok, true);
  assert.equal(run.code, 0, run.stderr.split("\n").slice(-30).join("\n"));
});
