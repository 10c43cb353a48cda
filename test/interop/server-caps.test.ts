// Interop: slixmpp's XEP-0115 plugin (Debian's python3-slixmpp) takes the server's <c/> from the
// stream features after login, fetches disco#info for NODE#VER, recomputes the verification
// string with its own code and accepts it for the server's JID only when the two agree.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, type TestServer } from "../helpers/server.js";
import { runSlixmpp } from "../helpers/slixmpp.js";

interface CapsReport {
  ok: boolean;
  finished: string;
  assigned: string | null;
  recomputed: string | null;
  features: string[];
}

let server: TestServer;

before(async () => {
  server = await startServer({ contact_info: { abuse: ["mailto:abuse@example.org"], admin: ["xmpp:admin@localhost"] } });
  await server.addUser("slix", "pw-slix");
});

after(async () => {
  await server?.stop();
});

async function runCaps(): Promise<{ code: number | null; report: CapsReport | undefined; stderr: string }> {
  const run = await runSlixmpp<CapsReport>(
    "caps.py",
    {
      WARDEN_PORT: String(server.c2sPort),
      XMPP_JID: "slix@localhost",
      XMPP_PASSWORD: "pw-slix",
      DEADLINE: "15",
    },
    { guardMs: 60_000 },
  );
  return { code: run.code, report: run.result, stderr: run.stderr };
}

test("slixmpp verifies the server's caps hash and caches its features", async () => {
  const run = await runCaps();
  const tail = run.stderr
    .split("\n")
    .filter((l) => /SEND|RECV|caps|Verification/i.test(l))
    .slice(-40)
    .join("\n");
  assert.ok(run.report, `no result line\n${tail}`);
  assert.equal(run.report.ok, true, `slixmpp did not accept the caps\n${tail}`);
  assert.equal(run.report.recomputed, run.report.assigned);
  assert.ok(run.report.features.includes("http://jabber.org/protocol/disco#info"), run.report.features.join(" "));
  assert.equal(run.code, 0);
});
