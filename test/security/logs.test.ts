// Logs for operators (src/core/logger.ts, src/features/security-log.ts): the README's fail2ban
// filter, read from the README, run against the lines a real server wrote after failed logins
// over XMPP (SASL and SASL2) and the web form, in the JSON and in the text format; it must find
// every password guess with the guesser's address, and never a successful login, a stale token
// or an address an attacker wrote into a login name. Security events carry their stable fields.
// The text format is used on a terminal (a pty, via script(1)) and JSON otherwise; log_file
// writes there.
process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { readFileSync, existsSync, statSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { ROOT, CLI, TestServer, startServer } from "../helpers/server.js";
import { RawClient } from "../helpers/raw-client.js";
import { NS_SASL } from "../helpers/xml.js";
import { expectSaslFailure } from "../helpers/xmpp-assert.js";
import { legacyLogin, sasl2Login, sasl2LoginFails } from "../helpers/manage-clients.js";
import { WebClient, csrfOf } from "../helpers/account-web.js";

/** The fail2ban failregex from the README's ```ini block, as a JavaScript RegExp (<HOST> → a named group). */
function fail2banRegex(): RegExp {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const block = /### fail2ban[\s\S]*?```ini\n([\s\S]*?)```/.exec(readme);
  assert.ok(block, "the README has no fail2ban filter block");
  const line = /^failregex\s*=\s*(.+)$/m.exec(block[1]!);
  assert.ok(line, "the README's fail2ban block has no failregex");
  // fail2ban's <HOST> matches an IPv4 or IPv6 address (or a name); these tests log addresses.
  return new RegExp(line[1]!.trim().replace("<HOST>", "(?<host>[0-9A-Fa-f:.]+)"));
}

const hostOf = (re: RegExp, line: string) => re.exec(line)?.groups?.host;
const records = (lines: string[]) =>
  lines.flatMap((l) => {
    try {
      return [{ line: l, rec: JSON.parse(l) as Record<string, unknown> }];
    } catch {
      return [];
    }
  });

async function readyForAuth(port: number): Promise<RawClient> {
  const c = await RawClient.connect(port);
  await c.startTls();
  c.openStream();
  await c.waitFor(/<\/stream:features>/);
  c.clear();
  return c;
}

async function failLegacy(port: number, user: string, pw: string): Promise<void> {
  const c = await readyForAuth(port);
  try {
    c.send(`<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${Buffer.from(`\0${user}\0${pw}`).toString("base64")}</auth>`);
    await expectSaslFailure(c, "not-authorized");
  } finally {
    c.close();
  }
}

async function failWeb(httpPort: number, user: string, pw: string): Promise<void> {
  const b = new WebClient(`http://127.0.0.1:${httpPort}`);
  const form = await b.get("/account/login");
  const r = await b.post("/account/login", { csrf: csrfOf(form.text), username: user, password: pw });
  assert.equal(r.status, 403, `a wrong web login for '${user}' got ${r.status}`);
}

/** Waits until the log lines satisfy `pred` (events are written just after the reply goes out). */
async function until(lines: () => string[], pred: (l: string[]) => boolean, what: string): Promise<void> {
  const end = Date.now() + 5000;
  while (!pred(lines())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}; log:\n${lines().slice(-20).join("\n")}`);
    await sleep(50);
  }
}

/** The failed and successful logins every format is checked with; returns what the filter must find. */
async function loginsOfEveryKind(c2sPort: number, httpPort: number, addUser: (n: string, p: string) => Promise<void>): Promise<{ guesses: number }> {
  await addUser("alice", "alice-long-password");
  // Successful logins first: none of their lines may match.
  (await legacyLogin(c2sPort, "alice", "alice-long-password", "desk")).c.close();
  const ok2 = await sasl2Login(c2sPort, "alice", "alice-long-password", {
    userAgent: { id: "b1e5d4c2-0000-4000-8000-000000000001", software: "LogTest", device: "Laptop" },
    requestToken: true,
  });
  ok2.c.close();
  await new WebClient(`http://127.0.0.1:${httpPort}`).signIn("alice", "alice-long-password");
  // Guesses: an existing account and an unknown one, over legacy SASL, SASL2 and the web form.
  await failLegacy(c2sPort, "alice", "wrong-1");
  await failLegacy(c2sPort, "nobody", "wrong-2");
  const f2 = await sasl2LoginFails(c2sPort, "alice", "wrong-3");
  f2.c.close();
  await failWeb(httpPort, "alice", "wrong-4");
  await failWeb(httpPort, "nobody-at-all", "wrong-5");
  // A login name that tries to put another address into the line.
  await failWeb(httpPort, `x","ip":"10.9.8.7","reason":"bad-credentials`, "wrong-6");
  return { guesses: 6 };
}

describe("JSON log (standard output is not a terminal)", () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server?.stop();
  });

  test("every line is a JSON object; the fail2ban filter finds each guess over XMPP and the web with its address, and nothing else", async () => {
    const re = fail2banRegex();
    const { guesses } = await loginsOfEveryKind(server.c2sPort, server.httpPort, (n, p) => server.addUser(n, p));
    await until(
      () => server.lines,
      (l) => l.filter((x) => re.test(x)).length >= guesses,
      `${guesses} matching lines`,
    );
    assert.ok(server.lines.length > 5);
    for (const l of server.lines) assert.doesNotThrow(() => JSON.parse(l), `not a JSON line: ${l}`);

    const matched = server.lines.filter((l) => re.test(l));
    assert.equal(matched.length, guesses, `matched:\n${matched.join("\n")}`);
    for (const l of matched) assert.equal(hostOf(re, l), "127.0.0.1", `wrong address taken from ${l}`);
    // Exactly the password guesses: the records with event login-failed and reason bad-credentials.
    const guessLines = records(server.lines)
      .filter(({ rec }) => rec.event === "login-failed" && rec.reason === "bad-credentials")
      .map((x) => x.line);
    assert.deepEqual(matched, guessLines);
    // No successful login matches, and the logins are there with their stable fields.
    const logins = records(server.lines).filter(({ rec }) => rec.event === "login");
    assert.ok(logins.length >= 3, `expected 3 logins, got ${logins.length}`);
    for (const { line } of logins) assert.equal(re.test(line), false, `a successful login matched: ${line}`);
    const sasl2 = logins.find(({ rec }) => rec.via === "sasl2")!.rec;
    assert.equal(sasl2.level, 30, "security events are at info");
    assert.equal(sasl2.account, "alice@localhost");
    assert.equal(sasl2.ip, "127.0.0.1");
    assert.equal(sasl2.client, "b1e5d4c2-0000-4000-8000-000000000001");
    assert.equal(sasl2.software, "LogTest");
    assert.equal(sasl2.device, "Laptop");
    assert.equal(sasl2.mechanism, "PLAIN");
    assert.ok(
      logins.some(({ rec }) => rec.via === "account page" && rec.account === "alice@localhost"),
      "the web sign-in is not logged",
    );
    // Failed logins name the account tried, including one that does not exist, and the injected name stays a name.
    const failed = records(server.lines)
      .filter(({ rec }) => rec.event === "login-failed")
      .map(({ rec }) => rec);
    assert.ok(
      failed.some((r) => r.account === "nobody@localhost" && r.via === "sasl"),
      "unknown account over XMPP",
    );
    assert.ok(
      failed.some((r) => r.account === "nobody-at-all@localhost" && r.via === "account page"),
      "unknown account over the web",
    );
    assert.ok(failed.some((r) => String(r.account).includes("10.9.8.7") && r.ip === "127.0.0.1"));
    // The FAST grant of the SASL2 login.
    assert.ok(records(server.lines).some(({ rec }) => rec.event === "grant-issued" && rec.kind === "fast" && rec.account === "alice@localhost"));
  });

  test("password change, revocation and admin commands are logged; a stale token is a login-failed the filter ignores", async () => {
    const re = fail2banRegex();
    await server.addUser("bob", "bob-long-password");
    const ua = { id: "c0ffee00-0000-4000-8000-000000000002", software: "TokenApp", device: "Phone" };
    const first = await sasl2Login(server.c2sPort, "bob", "bob-long-password", { userAgent: ua, requestToken: true });
    first.c.close();
    const revoke = await server.cli(["shell", "user", "revoke_client", "bob", `client/${ua.id}`]);
    assert.ok(revoke.code === 0 || revoke.code === 75, `revoke_client: ${revoke.code} ${revoke.stderr}`);
    const pw = await server.cli(["user", "passwd", "bob"], "bob-new-long-password\n");
    assert.equal(pw.code, 0, pw.stderr);
    // The old FAST token no longer works: a failed token login.
    const { fastLogin } = await import("../helpers/manage-clients.js");
    const stale = await fastLogin(server.c2sPort, "bob", first.token!, ua);
    stale.c.close();
    await until(
      () => server.lines,
      (l) => records(l).some(({ rec }) => rec.event === "login-failed" && rec.reason === "bad-token"),
      "the stale token's login-failed",
    );
    const all = records(server.lines);
    const recs = all.map(({ rec }) => rec);
    assert.ok(
      recs.some((r) => r.event === "client-revoked" && r.account === "bob@localhost" && r.client === ua.id),
      "client-revoked",
    );
    assert.ok(
      recs.some((r) => r.event === "password-changed" && r.account === "bob@localhost" && r.via === "admin"),
      "password-changed",
    );
    assert.ok(
      recs.some((r) => r.event === "admin-command" && r.op === "revoke-client" && r.selector === `client/${ua.id}`),
      "admin-command revoke-client",
    );
    assert.ok(
      recs.some((r) => r.event === "admin-command" && r.op === "password-changed" && r.username === "bob"),
      "admin-command password-changed",
    );
    for (const { line } of all.filter(({ rec }) => rec.event === "login-failed" && rec.reason === "bad-token")) {
      assert.equal(re.test(line), false, `a stale token matched the fail2ban filter: ${line}`);
    }
    for (const r of recs.filter((x) => typeof x.event === "string")) assert.equal(r.level, 30, `not at info: ${JSON.stringify(r)}`);
  });
});

describe("fail2ban itself", () => {
  const f2b = "/usr/bin/fail2ban-regex";
  test(
    "fail2ban-regex, given the README's filter, finds the same guesses in a real server's JSON log",
    { skip: existsSync(f2b) ? false : "fail2ban is not installed" },
    async () => {
      const server = await startServer();
      try {
        const { guesses } = await loginsOfEveryKind(server.c2sPort, server.httpPort, (n, p) => server.addUser(n, p));
        const re = fail2banRegex();
        await until(
          () => server.lines,
          (l) => l.filter((x) => re.test(x)).length >= guesses,
          `${guesses} matching lines`,
        );
        const readme = readFileSync(join(ROOT, "README.md"), "utf8");
        const filter = /### fail2ban[\s\S]*?```ini\n([\s\S]*?)```/.exec(readme)![1]!;
        const log = join(server.dataDir, "f2b.log"),
          conf = join(server.dataDir, "warden-filter.conf");
        writeFileSync(log, server.lines.join("\n") + "\n");
        writeFileSync(conf, filter);
        const out = execFileSync(f2b, ["--print-all-matched", log, conf], { encoding: "utf8" });
        const counted = /Lines: \d+ lines, \d+ ignored, (\d+) matched/.exec(out);
        assert.ok(counted, out);
        assert.equal(Number(counted[1]), guesses, out);
        assert.doesNotMatch(out, /10\.9\.8\.7\s+\w{3} \w{3}/, "the injected address was taken as a host");
      } finally {
        await server.stop();
      }
    },
  );
});

describe("throttling is logged", () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ login_failure_limit: 3, login_failure_window: 3600 });
  });
  after(async () => {
    await server?.stop();
  });

  test("the failure that uses up an account's allowance logs login-throttled once, with account and address", async () => {
    await server.addUser("carol", "carol-long-password");
    for (let i = 0; i < 4; i++)
      await failLegacy(server.c2sPort, "carol", `guess-${i}`).catch(() => {
        /* throttled: temporary-auth-failure */
      });
    await until(
      () => server.lines,
      (l) => records(l).some(({ rec }) => rec.event === "login-throttled"),
      "login-throttled",
    );
    const throttled = records(server.lines)
      .filter(({ rec }) => rec.event === "login-throttled")
      .map(({ rec }) => rec);
    assert.equal(throttled.length, 1, JSON.stringify(throttled));
    assert.equal(throttled[0]!.account, "carol@localhost");
    assert.equal(throttled[0]!.ip, "127.0.0.1");
    assert.equal(throttled[0]!.scope, "account");
  });
});

/** Starts `warden start` with its own stdio, for the format tests; resolves when `ready` is seen in what `read` returns. */
async function startRaw(argv: string[], read: () => string, opts: { detached?: boolean } = {}): Promise<ChildProcess> {
  const p = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"], detached: opts.detached });
  let out = "";
  p.stdout.on("data", (d) => {
    out += d;
  });
  p.stderr.on("data", (d) => {
    out += d;
  });
  const end = Date.now() + 20_000;
  while (!/Warden is ready/.test(read() + out)) {
    if (p.exitCode !== null || Date.now() > end) {
      p.kill("SIGKILL");
      assert.fail(`the server did not get ready: ${out}${read()}`);
    }
    await sleep(100);
  }
  (p as ChildProcess & { output: () => string }).output = () => out;
  return p;
}

async function stopRaw(p: ChildProcess, group = false): Promise<void> {
  if (p.exitCode !== null) return;
  if (group) process.kill(-p.pid!, "SIGTERM");
  else p.kill("SIGTERM");
  const t = setTimeout(() => {
    try {
      if (group) process.kill(-p.pid!, "SIGKILL");
      else p.kill("SIGKILL");
    } catch {
      /* gone */
    }
  }, 5000);
  await once(p, "exit");
  clearTimeout(t);
}

/** The JSON fields at the end of a text line. */
const fieldsOf = (line: string) => JSON.parse(line.slice(line.indexOf("{"))) as Record<string, unknown>;

describe("text log in a file (log_format: text, log_file)", () => {
  const ts = new TestServer({ log_format: "text", log_file: "logs/warden.log" });
  const logPath = join(ts.dataDir, "logs/warden.log");
  const lines = () =>
    existsSync(logPath)
      ? readFileSync(logPath, "utf8")
          .split("\n")
          .filter((l) => l !== "")
      : [];
  let proc: ChildProcess | undefined;
  let webPort = 0;
  after(async () => {
    if (proc) await stopRaw(proc);
  });

  test("the log goes to log_file (mode 0600), in text, one line per record; the fail2ban filter works on it the same", async () => {
    proc = await startRaw([process.execPath, CLI, "start", "--config", ts.configPath], () => lines().join("\n"));
    assert.equal((proc as ChildProcess & { output: () => string }).output(), "", "something went to stdout/stderr instead of the file");
    assert.equal(statSync(logPath).mode & 0o777, 0o600);
    const ready = lines().find((l) => /Warden is ready/.test(l))!;
    assert.match(ready, /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] INFO: Warden is ready \{/);
    assert.throws(() => JSON.parse(ready), "a text line parsed as JSON");
    const port = (re: RegExp) => fieldsOf(lines().find((l) => re.test(l))!).port as number;
    const c2s = port(/c2s listening .*"tls":"starttls"/),
      http = port(/http listening .*"tls":"plain"/);
    webPort = http;

    const re = fail2banRegex();
    const { guesses } = await loginsOfEveryKind(c2s, http, async (n, p) => {
      const r = await ts.cli(["user", "add", n], p + "\n");
      assert.equal(r.code, 0, r.stderr);
    });
    await until(lines, (l) => l.filter((x) => re.test(x)).length >= guesses, `${guesses} matching lines`);
    const matched = lines().filter((l) => re.test(l));
    assert.equal(matched.length, guesses, matched.join("\n"));
    for (const l of matched) {
      assert.equal(hostOf(re, l), "127.0.0.1", l);
      assert.match(l, /INFO: security: login-failed \{/);
      assert.equal(fieldsOf(l).reason, "bad-credentials");
    }
    for (const l of lines().filter((x) => / security: login \{/.test(x))) assert.equal(re.test(l), false, `a successful login matched: ${l}`);
  });

  test("SIGHUP reopens log_file: after logrotate moved it, new lines go to a new file under the configured name", async () => {
    assert.ok(proc, "the server of the previous test is not running");
    renameSync(logPath, logPath + ".1");
    proc.kill("SIGHUP");
    const fresh = () =>
      existsSync(logPath)
        ? readFileSync(logPath, "utf8")
            .split("\n")
            .filter((l) => l !== "")
        : [];
    await until(fresh, (l) => l.some((x) => /log file reopened/.test(x)), "the reopened log file");
    assert.equal(proc.exitCode, null, "SIGHUP stopped the server");
    assert.equal(statSync(logPath).mode & 0o777, 0o600);
    await failWeb(webPort, "alice", "wrong-after-rotation");
    await until(fresh, (l) => l.some((x) => fail2banRegex().test(x)), "a failed login in the new file");
    assert.ok(!readFileSync(logPath + ".1", "utf8").includes("log file reopened"), "the old file was still written to");
  });
});

describe("the format follows the terminal", () => {
  test(
    "on a terminal (a pty via script(1)) the log is text, not JSON",
    { skip: existsSync("/usr/bin/script") ? false : "script(1) is not installed" },
    async () => {
      const ts = new TestServer({});
      const cmd = `exec ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} start --config ${JSON.stringify(ts.configPath)}`;
      let p: ChildProcess | undefined;
      try {
        p = await startRaw(["/usr/bin/script", "-qfec", cmd, "/dev/null"], () => "", { detached: true });
        const out = (p as ChildProcess & { output: () => string })
          .output()
          .replace(/\x1b\[[0-9;]*m/g, "")
          .replace(/\r/g, "");
        const ready = out.split("\n").find((l) => /Warden is ready/.test(l))!;
        assert.match(ready, /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] INFO: Warden is ready/);
        assert.throws(() => JSON.parse(ready));
      } finally {
        if (p) await stopRaw(p, true);
      }
    },
  );

  test("log_format: json forces JSON on a terminal too", { skip: existsSync("/usr/bin/script") ? false : "script(1) is not installed" }, async () => {
    const ts = new TestServer({ log_format: "json" });
    const cmd = `exec ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} start --config ${JSON.stringify(ts.configPath)}`;
    let p: ChildProcess | undefined;
    try {
      p = await startRaw(["/usr/bin/script", "-qfec", cmd, "/dev/null"], () => "", { detached: true });
      const ready = (p as ChildProcess & { output: () => string })
        .output()
        .replace(/\r/g, "")
        .split("\n")
        .find((l) => /Warden is ready/.test(l))!;
      assert.equal((JSON.parse(ready) as { msg?: unknown }).msg, "Warden is ready");
    } finally {
      if (p) await stopRaw(p, true);
    }
  });
});
