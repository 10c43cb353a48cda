// Interop: slixmpp 1.8's XEP-0077 plugin (Debian's python3-slixmpp) registers against the real
// server when registration is open, is refused when it is closed, registers with an invitation
// token from `warden invite create` (XEP-0445 <preauth/> before the form), and changes its
// password in-band; each account then logs in (or not) as it should.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, type TestServer } from "../helpers/server.js";
import { runSlixmpp } from "../helpers/slixmpp.js";
import { canLogin, tokenOf } from "../helpers/register.js";

interface Report {
  ok: boolean;
  registered: boolean;
  register_error: string | null;
  preauth: string | null;
  session_started: boolean;
  password_changed: true | string | null;
}

/** Runs register.py; the result line, or a failure showing slixmpp's log. */
async function register(server: TestServer, user: string, password: string, env: Record<string, string> = {}): Promise<Report> {
  const run = await runSlixmpp<Report>(
    "register.py",
    { WARDEN_PORT: String(server.c2sPort), XMPP_JID: `${user}@localhost`, XMPP_PASSWORD: password, DEADLINE: "20", ...env },
    { guardMs: 60_000, quiet: true },
  );
  if (!run.result) throw new Error(`no result from register.py\n${run.stderr.split("\n").slice(-40).join("\n")}`);
  return run.result;
}

describe("slixmpp xep_0077, registration open", () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ allow_registration: true });
  });
  after(() => server?.stop());

  test("registers, logs in, changes its password in-band", async () => {
    const r = await register(server, "slixreg", "slixreg-pw-1", { NEW_PASSWORD: "slixreg-pw-2" });
    assert.equal(r.registered, true, JSON.stringify(r));
    assert.equal(r.session_started, true, JSON.stringify(r));
    assert.equal(r.password_changed, true, JSON.stringify(r));
    assert.equal(await canLogin(server.c2sPort, "slixreg", "slixreg-pw-2"), true);
    assert.equal(await canLogin(server.c2sPort, "slixreg", "slixreg-pw-1"), false);
  });
});

describe("slixmpp xep_0077, registration closed", () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server?.stop());

  test("an attempt without an invitation is refused and creates nothing", async () => {
    const r = await register(server, "slixno", "slixno-pw-1", { FORCE: "1" });
    assert.equal(r.registered, false);
    assert.equal(r.register_error, "forbidden", JSON.stringify(r));
    assert.equal(r.session_started, false);
    assert.equal(await canLogin(server.c2sPort, "slixno", "slixno-pw-1"), false);
  });

  test("with a token from warden invite create it registers and logs in, once", async () => {
    const made = await server.cli(["invite", "create"]);
    assert.equal(made.code, 0, made.stderr);
    const token = tokenOf(made.stdout);
    const r = await register(server, "slixinv", "slixinv-pw-1", { FORCE: "1", PREAUTH: token });
    assert.equal(r.preauth, "result", JSON.stringify(r));
    assert.equal(r.registered, true, JSON.stringify(r));
    assert.equal(r.session_started, true, JSON.stringify(r));
    const again = await register(server, "slixinv2", "slixinv-pw-2", { FORCE: "1", PREAUTH: token });
    assert.equal(again.registered, false);
    assert.equal(again.register_error, "item-not-found", JSON.stringify(again));
    assert.equal(await canLogin(server.c2sPort, "slixinv2", "slixinv-pw-2"), false);
  });
});
