// The `warden` command for operators: help and version exit 0, usage errors are one line with a
// hint (64), --json on listings, one password policy for the CLI and the account page (with the
// default of 12 characters, counted as characters), and `warden check` — OK on a good setup,
// exit 1 with a message naming each kind of problem: a bad config key, an expired certificate, a
// certificate for another domain, a key that does not match, a data directory other users can
// enter, a port another process holds.
process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { mkdirSync, writeFileSync, readFileSync, chmodSync } from "node:fs";
import { join } from "node:path";
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";
import YAML from "yaml";
import { ROOT, TestServer, runCli, type CliResult } from "../helpers/server.js";
import { WebClient, csrfOf, flashOf } from "../helpers/account-web.js";
import { legacyLogin } from "../helpers/manage-clients.js";

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

function expectExit(r: CliResult, code: number, what: string): void {
  assert.equal(r.code, code, `${what}: expected exit ${code}, got ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
}

/** A config file with only these keys (the password policy's default applies, unlike TestServer's). */
function configWith(dir: string, name: string, settings: Record<string, unknown>): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, YAML.stringify(settings));
  return path;
}

describe("help, version and usage errors", () => {
  test("--help, -h, help and COMMAND --help print the usage on stdout and exit 0", async () => {
    for (const args of [["--help"], ["-h"], ["help"], ["user", "--help"], ["check", "-h"], ["shell", "--help"]]) {
      const r = await runCli(args);
      expectExit(r, 0, args.join(" "));
      assert.match(r.stdout, /^Usage: warden <command>/, args.join(" "));
      assert.match(r.stdout, /\bcheck\b/);
      assert.equal(r.stderr, "", args.join(" "));
    }
  });

  test("--version and version print the version from package.json", async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
    for (const args of [["--version"], ["version"]]) {
      const r = await runCli(args);
      expectExit(r, 0, args.join(" "));
      assert.equal(r.stdout.trim(), `warden ${version}`);
    }
  });

  test("usage errors exit 64 with one line naming the mistake and a hint to --help, not the whole usage", async () => {
    for (const [args, mistake] of [
      [[], /a command is required/],
      [["frobnicate"], /unknown command 'frobnicate'/],
      [["user", "rename", "x"], /unknown user command 'rename'/],
      [["user", "list", "--bogus"], /--bogus/],
    ] as const) {
      const r = await runCli([...args]);
      expectExit(r, 64, args.join(" ") || "(nothing)");
      const lines = r.stderr.trim().split("\n");
      assert.equal(lines.length, 2, `expected a message and a hint:\n${r.stderr}`);
      assert.match(lines[0]!, /^warden: usage error: /);
      assert.match(lines[0]!, mistake);
      assert.match(lines[1]!, /warden --help/);
      assert.equal(r.stdout, "");
    }
  });
});

describe("one password policy for the CLI and the account page", () => {
  const ts = new TestServer();
  const dir = join(ts.dataDir, "policy");
  // No password_min_length: the default.
  const cfg = configWith(dir, "default.yaml", { domain: "localhost", data_path: join(dir, "data") });

  test("user add refuses a password shorter than 12 characters (exit 65, the rule named), and creates nothing", async () => {
    for (const pw of ["x", "eleven-char", "\u{10428}".repeat(6)]) {
      // 6 Deseret letters: 12 UTF-16 units, 6 characters
      const r = await runCli(["user", "add", "dana", "--config", cfg], pw + "\n");
      expectExit(r, 65, `user add with '${pw}'`);
      assert.match(r.stderr, /password not acceptable: the password must be at least 12 characters long/);
    }
    const list = await runCli(["user", "list", "--json", "--config", cfg]);
    expectExit(list, 0, "user list");
    assert.deepEqual(JSON.parse(list.stdout), []);
  });

  test("12 characters are enough (a character outside the BMP counts as one); passwd follows the same rule", async () => {
    expectExit(await runCli(["user", "add", "dana", "--config", cfg], "twelve-chars\n"), 0, "user add with 12 characters");
    expectExit(await runCli(["user", "add", "emil", "--config", cfg], "\u{10428}".repeat(12) + "\n"), 0, "user add with 12 Deseret letters");
    const short = await runCli(["user", "passwd", "dana", "--config", cfg], "short\n");
    expectExit(short, 65, "user passwd with a short password");
    assert.match(short.stderr, /at least 12 characters/);
    const tooLong = await runCli(["user", "passwd", "dana", "--config", cfg], "a".repeat(1025) + "\n");
    expectExit(tooLong, 65, "user passwd with 1025 characters");
    assert.match(tooLong.stderr, /at most 1024 characters/);
    const list = await runCli(["user", "list", "--json", "--config", cfg]);
    assert.deepEqual((JSON.parse(list.stdout) as string[]).sort(), ["dana@localhost", "emil@localhost"]);
  });

  test("the account page applies the same rule, and password_min_length moves both", async () => {
    const server = new TestServer({ oauth2_rate_limit: 10_000 });
    server.configure({ password_min_length: undefined }); // the default, as in production
    await server.start();
    try {
      await server.addUser("web", "web-long-password");
      const b = new WebClient(`http://127.0.0.1:${server.httpPort}`);
      await b.signIn("web", "web-long-password");
      const page = await b.account();
      assert.match(page, /minlength="12"/);
      assert.match(page, /At least 12 characters/);
      for (const pw of ["eleven-char", "\u{10428}".repeat(6)]) {
        const r = await b.post("/account/password", { csrf: csrfOf(page), current_password: "web-long-password", new_password: pw, confirm_password: pw });
        assert.equal(r.status, 400, `web accepted '${pw}'`);
        assert.match(flashOf(r.text)!.text, /must be at least 12 characters long\. Nothing was changed/);
      }
      // The CLI against the same config refuses the same passwords.
      expectExit(await server.cli(["user", "passwd", "web"], "eleven-char\n"), 65, "CLI with the server's config");
      (await legacyLogin(server.c2sPort, "web", "web-long-password")).c.close(); // nothing changed
      const ok = await b.post("/account/password", {
        csrf: csrfOf(page),
        current_password: "web-long-password",
        new_password: "\u{10428}".repeat(12),
        confirm_password: "\u{10428}".repeat(12),
      });
      assert.equal(ok.status, 303, `12 Deseret letters refused on the web: ${ok.status}`);
    } finally {
      await server.stop();
    }
    const strict = new TestServer({ password_min_length: 16 });
    await strict.start();
    try {
      await strict.addUser("strict", "sixteen-chars-ok");
      const r = await strict.cli(["user", "passwd", "strict"], "fifteen-chars-x\n");
      expectExit(r, 65, "15 characters with password_min_length 16");
      assert.match(r.stderr, /at least 16 characters/);
      const b = new WebClient(`http://127.0.0.1:${strict.httpPort}`);
      await b.signIn("strict", "sixteen-chars-ok");
      const page = await b.account();
      assert.match(page, /minlength="16"/);
      const w = await b.post("/account/password", {
        csrf: csrfOf(page),
        current_password: "sixteen-chars-ok",
        new_password: "fifteen-chars-x",
        confirm_password: "fifteen-chars-x",
      });
      assert.equal(w.status, 400);
      assert.match(flashOf(w.text)!.text, /at least 16 characters/);
    } finally {
      await strict.stop();
    }
  });
});

describe("--json on every listing", () => {
  let server: TestServer;
  before(async () => {
    server = await new TestServer().start();
  });
  after(async () => {
    await server?.stop();
  });

  test("user list --json and shell user clients --json print valid JSON", async () => {
    await server.addUser("jay", "jay-secret");
    await server.addUser("kim", "kim-secret");
    const list = await server.cli(["user", "list", "--json"]);
    expectExit(list, 0, "user list --json");
    assert.deepEqual((JSON.parse(list.stdout) as string[]).sort(), ["jay@localhost", "kim@localhost"]);
    const plain = await server.cli(["user", "list"]);
    assert.deepEqual(plain.stdout.trim().split("\n").sort(), ["jay@localhost", "kim@localhost"]);
    (await legacyLogin(server.c2sPort, "jay", "jay-secret", "desk")).c.close();
    const clients = await server.cli(["shell", "user", "clients", "jay", "--json"]);
    expectExit(clients, 0, "shell user clients --json");
    assert.ok(Array.isArray(JSON.parse(clients.stdout)));
  });
});

// --- warden check ------------------------------------------------------------------------------

interface CheckJson {
  ok: boolean;
  problems: number;
  warnings: number;
  checks: Array<{ check: string; level: string; message: string }>;
}

async function check(configPath: string): Promise<{ r: CliResult; json: CheckJson }> {
  const r = await runCli(["check", "--config", configPath]);
  const j = await runCli(["check", "--config", configPath, "--json"]);
  assert.equal(j.code, r.code, "--json changed the exit code");
  return { r, json: JSON.parse(j.stdout) as CheckJson };
}

function expectProblem(res: { r: CliResult; json: CheckJson }, check: string, message: RegExp, what: string): void {
  expectExit(res.r, 1, what);
  assert.match(res.r.stdout, new RegExp(`^Problem  ${check}: .*${message.source}`, "m"), `${what}: no such problem line`);
  assert.match(res.r.stderr, /problems found/);
  assert.equal(res.json.ok, false);
  assert.ok(
    res.json.checks.some((c) => c.check === check && c.level === "problem" && message.test(c.message)),
    `${what}: not in --json: ${JSON.stringify(res.json.checks)}`,
  );
}

async function makeCert(opts: { names: string[]; notBefore: Date; notAfter: Date }): Promise<{ cert: string; key: string }> {
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const keys = await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"]);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01" + Date.now().toString(16),
    name: `CN=${opts.names[0]}`,
    notBefore: opts.notBefore,
    notAfter: opts.notAfter,
    keys,
    signingAlgorithm: alg,
    extensions: [new x509.SubjectAlternativeNameExtension(opts.names.map((value) => ({ type: "dns" as const, value })))],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey))
    .toString("base64")
    .replace(/.{64}/g, "$&\n");
  return { cert: cert.toString("pem") + "\n", key: `-----BEGIN PRIVATE KEY-----\n${pkcs8}\n-----END PRIVATE KEY-----\n` };
}

describe("warden check", () => {
  const ts = new TestServer();
  const dir = join(ts.dataDir, "check");
  const DAY = 86400_000;
  /** A setup on free ports, loopback only, with a data directory of mode 0700. */
  const base = (name: string, extra: Record<string, unknown> = {}) => {
    const data = join(dir, name, "data");
    mkdirSync(data, { recursive: true, mode: 0o700 });
    chmodSync(data, 0o700);
    return configWith(join(dir, name), "warden.yaml", {
      domain: "localhost",
      data_path: data,
      c2s_interfaces: ["127.0.0.1"],
      c2s_ports: [0],
      c2s_direct_tls_ports: [0],
      http_interfaces: ["127.0.0.1"],
      https_interfaces: ["127.0.0.1"],
      http_ports: [0],
      https_ports: [0],
      ...extra,
    });
  };
  const withCert = async (name: string, c: { cert: string; key: string }, extra: Record<string, unknown> = {}) => {
    mkdirSync(join(dir, name), { recursive: true });
    writeFileSync(join(dir, name, "cert.pem"), c.cert);
    writeFileSync(join(dir, name, "key.pem"), c.key, { mode: 0o600 });
    return base(name, { certificate: "cert.pem", key: "key.pem", ...extra });
  };

  test("a good setup, with its server running: exit 0, no problem, its own ports recognised", async () => {
    const server = new TestServer();
    await server.start();
    try {
      chmodSync(join(server.dataDir, "data"), 0o700); // what the README asks of data_path
      const res = await check(server.configPath);
      expectExit(res.r, 0, "check of a running, good setup");
      assert.doesNotMatch(res.r.stdout, /^Problem/m);
      assert.equal(res.json.ok, true);
      assert.equal(res.json.problems, 0);
      for (const kind of ["config", "certificate", "ports", "data", "dns"])
        assert.ok(
          res.json.checks.some((c) => c.check === kind),
          `no ${kind} check`,
        );
      // Every port line of the running server says it is ours.
      const ports = res.json.checks.filter((c) => c.check === "ports");
      assert.equal(ports.length, 4);
      for (const p of ports) assert.match(p.message, /held by this server \(running, pid \d+\)/);
      assert.match(res.r.stdout, /^OK       dns: localhost is local/m);
      // Each line: a level, the check, a message.
      for (const line of res.r.stdout.trim().split("\n")) assert.match(line, /^(OK      |Warning |Problem ) (config|certificate|ports|data|dns): \S/);
    } finally {
      await server.stop();
    }
  });

  test("a bad config key: exit 1, the key named", async () => {
    const path = configWith(dir, "bad-key.yaml", { domain: "localhost", c2s_timout: 30 });
    expectProblem(await check(path), "config", /c2s_timout.*unknown key/, "unknown key");
    const bad = configWith(dir, "bad-value.yaml", { domain: "localhost", c2s_timeout: "soon" });
    expectProblem(await check(bad), "config", /c2s_timeout/, "bad value");
  });

  test("an expired certificate: exit 1 naming the file and the date; one expiring soon is only a warning", async () => {
    const now = Date.now();
    const expired = await makeCert({ names: ["localhost"], notBefore: new Date(now - 400 * DAY), notAfter: new Date(now - 2 * DAY) });
    expectProblem(await check(await withCert("expired", expired)), "certificate", /cert\.pem expired on \d{4}-/, "expired certificate");
    const soon = await makeCert({ names: ["localhost"], notBefore: new Date(now - DAY), notAfter: new Date(now + 10 * DAY) });
    const res = await check(await withCert("soon", soon));
    expectExit(res.r, 0, "certificate expiring in 10 days");
    assert.match(res.r.stdout, /^Warning  certificate: .*cert\.pem expires in (9|10) days/m);
  });

  test("a certificate for another domain: exit 1 naming the domain and the names it has", async () => {
    const other = await makeCert({ names: ["other.example"], notBefore: new Date(Date.now() - DAY), notAfter: new Date(Date.now() + 300 * DAY) });
    expectProblem(
      await check(await withCert("wrong-domain", other)),
      "certificate",
      /is not valid for localhost \(it names DNS:other\.example\)/,
      "wrong-domain certificate",
    );
  });

  test("a key that does not match the certificate, and an unreadable one: exit 1 naming the files", async () => {
    const a = await makeCert({ names: ["localhost"], notBefore: new Date(Date.now() - DAY), notAfter: new Date(Date.now() + 300 * DAY) });
    const b = await makeCert({ names: ["localhost"], notBefore: new Date(Date.now() - DAY), notAfter: new Date(Date.now() + 300 * DAY) });
    expectProblem(
      await check(await withCert("mismatch", { cert: a.cert, key: b.key })),
      "certificate",
      /key .*key\.pem does not match the certificate .*cert\.pem/,
      "mismatched key",
    );
    const missing = base("missing-key", { certificate: "cert.pem", key: "nope.pem" });
    writeFileSync(join(dir, "missing-key", "cert.pem"), a.cert);
    expectProblem(await check(missing), "certificate", /cannot read the key .*nope\.pem: ENOENT/, "missing key");
  });

  test("a certificate file whose chain is out of order: exit 1 saying which certificate is not issued by the next", async () => {
    const a = await makeCert({ names: ["localhost"], notBefore: new Date(Date.now() - DAY), notAfter: new Date(Date.now() + 300 * DAY) });
    const stranger = await makeCert({ names: ["stranger.example"], notBefore: new Date(Date.now() - DAY), notAfter: new Date(Date.now() + 300 * DAY) });
    expectProblem(
      await check(await withCert("bad-chain", { cert: a.cert + stranger.cert, key: a.key })),
      "certificate",
      /certificate 1 \(localhost\) is not issued by the next one in the file \(stranger\.example\)/,
      "chain out of order",
    );
  });

  test("a domain DNS cannot resolve (.invalid, RFC 6761): each record is reported as not resolved, a warning, not a crash", async () => {
    const res = await check(base("dns-invalid", { domain: "warden-check.invalid" }));
    const dns = res.json.checks.filter((c) => c.check === "dns");
    for (const name of [
      "_xmpp-client._tcp.warden-check.invalid",
      "_xmpps-client._tcp.warden-check.invalid",
      "warden-check.invalid A",
      "warden-check.invalid AAAA",
    ]) {
      const line = dns.find((c) => c.message.startsWith(name));
      assert.ok(line, `no line for ${name}: ${JSON.stringify(dns)}`);
      assert.match(line.message, /could not be resolved/, name);
      assert.equal(line.level, "warning", name);
    }
    assert.ok(dns.some((c) => /_xmpp-server\._tcp\.warden-check\.invalid/.test(c.message)));
    assert.equal(res.json.checks.filter((c) => c.level === "problem").length, 0, JSON.stringify(res.json.checks));
    expectExit(res.r, 0, "an unresolvable domain alone");
  });

  test("a data directory of mode 0755: exit 1 saying other users can enter it; a world-readable file inside is named", async () => {
    const path = base("open-dir");
    const data = join(dir, "open-dir", "data");
    writeFileSync(join(data, "warden.sqlite"), "x", { mode: 0o644 });
    chmodSync(join(data, "warden.sqlite"), 0o644);
    chmodSync(data, 0o755);
    const res = await check(path);
    expectProblem(res, "data", /mode 0755: other users can enter it; run chmod 700/, "data dir 0755");
    expectProblem(res, "data", /files other users can read: .*warden\.sqlite/, "world-readable file");
    // Closed again: no data problem left.
    chmodSync(data, 0o700);
    const closed = await check(path);
    assert.equal(closed.json.checks.filter((c) => c.check === "data" && c.level === "problem").length, 0, JSON.stringify(closed.json.checks));
  });

  test("a port held by another process: exit 1 naming the port", async () => {
    const squatter = net.createServer();
    await new Promise<void>((res) => squatter.listen(0, "127.0.0.1", res));
    const port = (squatter.address() as net.AddressInfo).port;
    try {
      const path = base("port-taken", { c2s_ports: [port] });
      expectProblem(await check(path), "ports", new RegExp(`c2s \\(STARTTLS\\) 127\\.0\\.0\\.1:${port} is in use by another process`), "port taken");
    } finally {
      squatter.close();
    }
  });
});
