// Interop: slixmpp's XEP-0363 plugin (Debian's python3-slixmpp, with python3-aiohttp for the
// HTTP part) uploads a file the way it does for its users: it finds the service by disco on the
// domain (identity store/file, the max-file-size form), requests a slot, PUTs with aiohttp
// (checking the server's certificate: SSL_CERT_FILE is the test CA), and the script GETs the
// file back and compares the bytes. It also refuses by itself a file over max-file-size.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { startServer, type TestServer } from "../helpers/server.js";
import { runSlixmpp } from "../helpers/slixmpp.js";

interface UploadReport {
  ok: boolean;
  finished: string;
  url: string | null;
  status: number | null;
  sent_sha256: string | null;
  got_sha256: string | null;
  headers: Record<string, string>;
  too_large: string | null;
  max_file_size?: number;
  error: string | null;
}

const run = (env: Record<string, string>) => runSlixmpp<UploadReport>("upload.py", env);

describe("slixmpp's XEP-0363 plugin uploads to Warden and gets the same bytes back", () => {
  let server: TestServer;
  let report: UploadReport;
  let stderr = "";

  before(async () => {
    server = await startServer({ http_file_share_size_limit: 100_000, log_level: "debug" });
    await server.addUser("slixup", "slixup-secret");
    const r = await run({
      WARDEN_HOST: "127.0.0.1",
      WARDEN_PORT: String(server.c2sPort),
      XMPP_JID: "slixup@localhost",
      XMPP_PASSWORD: "slixup-secret",
      UPLOAD_SIZE: "54321",
      TOO_LARGE_SIZE: "100001",
      DEADLINE: "40",
      SSL_CERT_FILE: join(server.dataDir, "data/certs/localhost.crt"),
    });
    stderr = r.stderr;
    assert.ok(r.result, `no result from the script (exit ${r.code})\n${stderr.split("\n").slice(-40).join("\n")}`);
    report = r.result;
  });
  after(async () => {
    await server?.stop();
  });

  test("upload_file succeeds and the GET URL serves exactly the uploaded bytes", () => {
    assert.equal(report.error, null, `${report.error}\n${stderr.split("\n").slice(-40).join("\n")}`);
    assert.equal(report.status, 200);
    assert.match(report.url ?? "", /^https:\/\/localhost:\d+\/upload\/[A-Za-z0-9_-]{22}\/photo%20one\.png$/);
    assert.equal(report.got_sha256, report.sent_sha256);
    assert.equal(report.headers["content-type"], "image/png", "slixmpp guessed image/png from the name; it is served as that");
    assert.equal(report.headers["content-security-policy"], "default-src 'none'; sandbox");
    // The server's own copy is the same file.
    const dir = join(server.dataDir, "data/uploads");
    const stored = readdirSync(dir).filter((n) => /^[A-Za-z0-9_-]{22}$/.test(n));
    assert.equal(stored.length, 1);
    assert.equal(
      createHash("sha256")
        .update(readFileSync(join(dir, stored[0]!)))
        .digest("hex"),
      report.sent_sha256,
    );
  });

  test("the server's log (at debug) holds neither the file's URL nor its PUT token", () => {
    const id = /\/upload\/([A-Za-z0-9_-]{22})\//.exec(report.url ?? "")?.[1];
    assert.ok(id);
    assert.ok(
      server.logs.some((l) => l.msg === "http request" && l.path === "/upload/…"),
      "the requests were logged, by prefix",
    );
    const leaks = server.lines.filter((l) => l.includes(id) || /Bearer [A-Za-z0-9_-]{43}/.test(l));
    assert.deepEqual(leaks, []);
  });

  test("slixmpp read max-file-size from the disco form and refuses a larger file itself", () => {
    assert.equal(report.max_file_size, 100_000);
    assert.match(report.too_large ?? "", /^FileTooBig/);
  });
});
