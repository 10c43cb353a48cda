// Certificate problems stop the start with a message naming the file and the problem, and exit
// code 78 (configuration), instead of OpenSSL's raw text or, for a certificate made for another
// domain, a silent start every client would then refuse (issue 10 §4).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { TestServer, CLI, type CliResult } from "../helpers/server.js";
import { makeCert } from "../helpers/certs.js";

const DAY = 86400_000;

/** `warden start` that is expected to fail; one that starts anyway is stopped after 20 s (and fails the test). */
function startFails(srv: TestServer): Promise<CliResult> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, "start", "--config", srv.configPath], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "",
      stderr = "";
    p.stdout.on("data", (d) => {
      stdout += d;
    });
    p.stderr.on("data", (d) => {
      stderr += d;
    });
    const t = setTimeout(() => p.kill("SIGKILL"), 20_000);
    p.on("exit", (code) => {
      clearTimeout(t);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

interface Case {
  name: string;
  files: () => Promise<{ cert: string | null; key: string | null; certPath?: string; keyPath?: string }>;
  file: "cert" | "key";
  problem: RegExp;
}

const cases: Case[] = [
  {
    name: "a certificate file that does not exist",
    file: "cert",
    problem: /cannot read the file: no such file/,
    files: async () => {
      const c = await makeCert();
      return { cert: null, key: c.key };
    },
  },
  {
    name: "a certificate path that is a directory",
    file: "cert",
    problem: /cannot read the file: is a directory/,
    files: async () => {
      const c = await makeCert();
      return { cert: "<dir>", key: c.key };
    },
  },
  {
    name: "a key that is not PEM",
    file: "key",
    problem: /not a PEM private key/,
    files: async () => {
      const c = await makeCert();
      return { cert: c.cert, key: "hello\n" };
    },
  },
  {
    name: "a key that does not match the certificate",
    file: "key",
    problem: /this key does not belong to the certificate/,
    files: async () => {
      const c = await makeCert(),
        other = await makeCert();
      return { cert: c.cert, key: other.key };
    },
  },
  {
    name: "an expired certificate",
    file: "cert",
    problem: /the certificate expired on \d{4}-/,
    files: async () => {
      const c = await makeCert({ notBefore: new Date(Date.now() - 400 * DAY), notAfter: new Date(Date.now() - 30 * DAY) });
      return c;
    },
  },
  {
    name: "a certificate not valid yet",
    file: "cert",
    problem: /not valid before \d{4}-/,
    files: async () => {
      const c = await makeCert({ notBefore: new Date(Date.now() + 30 * DAY), notAfter: new Date(Date.now() + 400 * DAY) });
      return c;
    },
  },
  {
    name: "a certificate for another domain",
    file: "cert",
    problem: /not valid for the domain 'localhost' \(it names: DNS:example\.org, DNS:www\.example\.org\)/,
    files: async () => makeCert({ names: ["example.org", "www.example.org"] }),
  },
];

for (const c of cases) {
  test(`start refuses ${c.name}: exit 78, the file and the problem named`, async () => {
    const srv = new TestServer();
    const certPath = join(srv.dataDir, "tls", "server.crt"),
      keyPath = join(srv.dataDir, "tls", "server.key");
    mkdirSync(join(srv.dataDir, "tls"), { recursive: true });
    const f = await c.files();
    if (f.cert === "<dir>") mkdirSync(certPath);
    else if (f.cert !== null) writeFileSync(certPath, f.cert);
    if (f.key !== null) writeFileSync(keyPath, f.key);
    srv.configure({ certificate: certPath, key: keyPath });
    const r = await startFails(srv);
    assert.equal(r.code, 78, `exit code; stderr: ${r.stderr}`);
    const file = c.file === "cert" ? certPath : keyPath;
    assert.ok(r.stderr.includes(file), `stderr names ${file}: ${r.stderr}`);
    assert.match(r.stderr, c.problem);
    assert.doesNotMatch(r.stderr, /error:[0-9A-F]{8}:|routines::/, "no raw OpenSSL text");
    assert.doesNotMatch(r.stdout, /Warden is ready/);
  });
}

test("a certificate for a wildcard of the domain's parent does not cover the bare domain; one naming the domain starts", async () => {
  const srv = new TestServer({ domain: "example.org" });
  const certPath = join(srv.dataDir, "server.crt"),
    keyPath = join(srv.dataDir, "server.key");
  const wild = await makeCert({ names: ["*.example.org"] });
  writeFileSync(certPath, wild.cert);
  writeFileSync(keyPath, wild.key);
  srv.configure({ domain: "example.org", certificate: certPath, key: keyPath });
  const r = await startFails(srv);
  assert.equal(r.code, 78, r.stderr);
  assert.match(r.stderr, /not valid for the domain 'example\.org'/);

  const good = await makeCert({ names: ["example.org"] });
  writeFileSync(certPath, good.cert);
  writeFileSync(keyPath, good.key);
  await srv.start();
  await srv.stop();
});
