// The server's lifecycle as an operator meets it (issue 10 §4): the README's start command
// stops on SIGTERM and SIGINT, a clean stop says goodbye to every stream and loses no message,
// a second signal ends it at once, SIGHUP reloads the certificate and the live configuration,
// and one data directory serves one server.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { writeFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import net from "node:net";
import tls from "node:tls";
import https from "node:https";
import YAML from "yaml";
import { TestServer, ROOT, CLI } from "../helpers/server.js";
import { RawClient } from "../helpers/raw-client.js";
import { ping } from "../helpers/xmpp-assert.js";
import { makeCert } from "../helpers/certs.js";

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});
/** Processes this file spawned itself (TestServer tracks its own): killed however the file ends. */
const spawned: ChildProcess[] = [];
process.on("exit", () => {
  for (const p of spawned) {
    try {
      process.kill(-p.pid!, "SIGKILL");
    } catch {
      /* not a group leader (only npm is) */
    }
    if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  }
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/** A port nothing listens on right now. */
async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitExit(p: ChildProcess, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (p.exitCode !== null || p.signalCode !== null) return { code: p.exitCode, signal: p.signalCode };
  const t = setTimeout(() => p.kill("SIGKILL"), ms);
  const [code, signal] = (await once(p, "exit")) as [number | null, NodeJS.Signals | null];
  clearTimeout(t);
  return { code, signal };
}

/** JSON log lines of a child's stdout, as they come, and a way to wait for one. */
function logsOf(p: ChildProcess): {
  lines: Array<Record<string, unknown>>;
  waitFor: (pred: (r: Record<string, unknown>) => boolean, ms: number, what: string) => Promise<Record<string, unknown>>;
} {
  const lines: Array<Record<string, unknown>> = [];
  let buf = "";
  const waiters = new Set<() => void>();
  p.stdout!.on("data", (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        /* npm's own output */
      }
    }
    for (const w of waiters) w();
  });
  const waitFor = async (pred: (r: Record<string, unknown>) => boolean, ms: number, what: string) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = lines.find(pred);
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error(`no log line ${what} within ${ms} ms; got: ${lines.map((l) => l.msg).join(" | ")}`);
      if (p.exitCode !== null) throw new Error(`exited (${p.exitCode}) before a log line ${what}`);
      await new Promise<void>((r) => {
        const f = () => {
          waiters.delete(f);
          r();
        };
        waiters.add(f);
        setTimeout(f, 200);
      });
    }
  };
  return { lines, waitFor };
}

function listeningPorts(lines: Array<Record<string, unknown>>): number[] {
  return lines.filter((l) => l.msg === "c2s listening" || l.msg === "http listening").map((l) => l.port as number);
}

// --- the README's start command -----------------------------------------------------------------

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  test(`\`npm start\` stops on ${signal} sent to the npm process: no server left, every port closed`, async () => {
    const cfg = new TestServer(); // only for its config file (free ports, its own data directory)
    // Exactly the README's command; the config comes from $WARDEN_CONFIG, as documented.
    const npm = spawn("npm", ["start", "--prefix", ROOT], {
      env: { ...process.env, WARDEN_CONFIG: cfg.configPath },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    spawned.push(npm);
    cleanups.push(() => {
      try {
        process.kill(-npm.pid!, "SIGKILL");
      } catch {
        /* gone */
      }
    });
    let stderr = "";
    npm.stderr.on("data", (d) => {
      stderr += d;
    });
    const logs = logsOf(npm);
    const ready = await logs
      .waitFor((l) => l.msg === "Warden is ready", 120_000, "'Warden is ready'")
      .catch((err: Error) => {
        throw new Error(`${err.message}\n${stderr}`);
      });
    const serverPid = ready.pid as number;
    assert.notEqual(serverPid, npm.pid, "the server runs in its own process");
    const ports = listeningPorts(logs.lines);
    assert.equal(ports.length, 4, "c2s, direct TLS, HTTP and HTTPS ports");
    for (const p of ports) assert.ok(await portOpen(p), `port ${p} is open while running`);

    process.kill(npm.pid!, signal); // to npm only, as a service manager or `kill PID` does
    const exit = await waitExit(npm, 15_000);
    // npm leaves once its child has; give the kernel a moment to tear the sockets down.
    const deadline = Date.now() + 3000;
    while (alive(serverPid) && Date.now() < deadline) await sleep(50);
    assert.equal(alive(serverPid), false, `the server (PID ${serverPid}) is still running after ${signal} to npm (npm exited ${exit.code ?? exit.signal})`);
    for (const p of ports) assert.equal(await portOpen(p), false, `port ${p} still accepts connections after ${signal} to npm`);
    assert.ok(
      logs.lines.some((l) => l.msg === "stopped"),
      `the server stopped cleanly (log line "stopped"); its last lines: ${logs.lines
        .slice(-3)
        .map((l) => String(l.msg))
        .join(" | ")}`,
    );
    assert.equal(exit.code, 0, `npm start exits 0 after a clean stop: ${stderr.slice(-500)}`);
  });
}

// --- a clean stop with many connections -------------------------------------------------------------

test("SIGTERM with 1,000 connections: <system-shutdown/> on every stream, exit 0 within 10 s, unacknowledged XEP-0198 stanzas (live and hibernating) stored offline", async (t) => {
  const srv = await new TestServer({ smacks_hibernation_time: 600 }).start();
  cleanups.push(() => srv.kill());
  await srv.addUser("alice", "alice-secret");
  await srv.addUser("bob", "bob-secret");

  // alice/live: stream management on, receives messages and never acknowledges them.
  const live = await RawClient.connect(srv.c2sPort);
  await live.login("alice", "alice-secret", "live");
  live.send("<enable xmlns='urn:xmpp:sm:3' resume='true'/><presence/>");
  await live.waitFor(/<enabled/);
  // alice/sleepy: the same, then its connection drops: it hibernates, still receiving.
  const sleepy = await RawClient.connect(srv.c2sPort);
  await sleepy.login("alice", "alice-secret", "sleepy");
  sleepy.send("<enable xmlns='urn:xmpp:sm:3' resume='true'/><presence/>");
  await sleepy.waitFor(/<enabled/);

  const bob = await RawClient.connect(srv.c2sPort);
  cleanups.push(() => bob.close());
  await bob.login("bob", "bob-secret", "desk");
  const msg = (to: string, body: string) => `<message type='chat' to='alice@localhost/${to}' id='${body}'><body>${body}</body></message>`;
  bob.send(msg("live", "to-live-1") + msg("live", "to-live-2") + msg("sleepy", "to-sleepy-1"));
  await live.waitFor(/to-live-2/);
  await sleepy.waitFor(/to-sleepy-1/);
  sleepy.close();
  const hibernating = Date.now();
  while (!srv.logs.some((l) => l.msg === "connection lost; session hibernating")) {
    assert.ok(Date.now() - hibernating < 5000, "alice/sleepy did not hibernate");
    await sleep(50);
  }
  bob.send(msg("sleepy", "to-sleepy-2"));
  await ping(bob); // processed, so queued for the hibernating session

  // 1,000 more streams, unauthenticated, each waiting in its stream features.
  const crowd: RawClient[] = [];
  for (let i = 0; i < 1000; i += 100) {
    const batch = await Promise.all(Array.from({ length: 100 }, () => RawClient.connect(srv.c2sPort)));
    for (const c of batch) c.openStream();
    await Promise.all(batch.map((c) => c.waitFor(/<\/stream:features>/, 20_000)));
    crowd.push(...batch);
  }
  cleanups.push(() => {
    for (const c of crowd) c.close();
  });
  // And one over WebSocket (RFC 7395), which ends with a framed stream error and <close/>.
  const { WebSocket } = await import("ws");
  const ws = new WebSocket(`wss://127.0.0.1:${srv.httpsPort}/xmpp-websocket`, ["xmpp"], { rejectUnauthorized: false });
  cleanups.push(() => ws.terminate());
  const frames: string[] = [];
  ws.on("message", (d) => frames.push((d as Buffer).toString()));
  const wsClosed = once(ws, "close");
  await once(ws, "open");
  ws.send("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='localhost' version='1.0'/>");
  for (const t1 = Date.now(); !frames.some((f) => /<stream:features|<features/.test(f)); await sleep(20))
    assert.ok(Date.now() - t1 < 10_000, `no features over WebSocket: ${frames.join(" ")}`);

  const t0 = Date.now();
  srv.proc!.kill("SIGTERM");
  const exit = await waitExit(srv.proc!, 20_000);
  const took = Date.now() - t0;
  t.diagnostic(`stopped with 1,004 streams in ${took} ms`);
  assert.equal(exit.code, 0, `exit code after SIGTERM (signal ${exit.signal})`);
  assert.ok(took < 10_000, `took ${took} ms to stop`);
  await Promise.all(crowd.map((c) => c.waitClosed(5000)));
  const without = crowd.filter((c) => !/<system-shutdown xmlns='urn:ietf:params:xml:ns:xmpp-streams'\/>/.test(c.received));
  assert.equal(without.length, 0, `${without.length} of 1000 streams closed without <system-shutdown/>; one got: ${without[0]?.received.slice(-300)}`);
  await live.waitClosed(5000);
  await wsClosed;
  assert.ok(
    frames.some((f) => f.includes("<system-shutdown")),
    `the WebSocket stream got <system-shutdown/>: ${frames.slice(-3).join(" ")}`,
  );
  assert.match(live.received, /<system-shutdown/, "the SM session got <system-shutdown/> too");

  // Nothing alice did not acknowledge is lost: after a restart it waits in offline storage.
  await srv.start();
  const back = await RawClient.connect(srv.c2sPort);
  cleanups.push(() => back.close());
  await back.login("alice", "alice-secret", "back");
  back.send("<presence/>");
  for (const body of ["to-live-1", "to-live-2", "to-sleepy-1", "to-sleepy-2"]) {
    await back.waitFor(new RegExp(`<body>${body}</body>`), 10_000).catch(() => {
      throw new Error(`the unacknowledged message '${body}' was lost in the shutdown; alice got: ${back.received.slice(0, 2000)}`);
    });
  }
  await srv.stop();
});

test("a second SIGTERM during a clean stop exits at once", async () => {
  const srv = await new TestServer().start();
  cleanups.push(() => srv.kill());
  // A peer that never closes its side keeps the goodbye going (the server waits up to 2 s for it).
  const stubborn = net.connect({ port: srv.c2sPort, host: "127.0.0.1", allowHalfOpen: true });
  cleanups.push(() => stubborn.destroy());
  stubborn.on("error", () => {});
  let got = "";
  stubborn.on("data", (d) => {
    got += d.toString();
  });
  await once(stubborn, "connect");
  stubborn.write("<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>");
  while (!got.includes("</stream:features>")) await sleep(20);

  const p = srv.proc!;
  p.kill("SIGTERM");
  await sleep(600);
  assert.equal(p.exitCode, null, "the clean stop was still waiting for the half-closed connection (precondition of this test)");
  const t0 = Date.now();
  p.kill("SIGTERM");
  const exit = await waitExit(p, 10_000);
  const took = Date.now() - t0;
  assert.ok(took < 1000, `exited ${took} ms after the second signal`);
  assert.notEqual(exit.code, 0, "a forced exit is not a clean one");
  assert.ok(
    srv.logs.some((l) => l.msg === "second signal: exiting at once"),
    "the log says why it exited",
  );
});

// --- SIGHUP --------------------------------------------------------------------------------------

function peerFingerprint(port: number, starttls: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const done = (s: tls.TLSSocket) => {
      const fp = s.getPeerCertificate().fingerprint256;
      s.destroy();
      resolve(fp);
    };
    if (!starttls) {
      const s = tls.connect({ port, host: "127.0.0.1", servername: "localhost", rejectUnauthorized: false }, () => done(s));
      s.once("error", reject);
      return;
    }
    void RawClient.connect(port).then(async (c) => {
      c.openStream();
      await c.waitFor(/<starttls/);
      await c.upgradeTls();
      done(c.socket as tls.TLSSocket);
    }, reject);
  });
}

function httpsFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      { host: "127.0.0.1", port, path: "/.well-known/host-meta", servername: "localhost", rejectUnauthorized: false, agent: false },
      (res) => {
        resolve((res.socket as tls.TLSSocket).getPeerCertificate().fingerprint256);
        res.resume();
      },
    );
    req.once("error", reject);
  });
}

test("SIGHUP: a new certificate for new connections (STARTTLS, direct TLS, HTTPS), open ones keep working, live keys applied and the rest named; a bad certificate keeps the old one", async () => {
  const a = await makeCert(),
    b = await makeCert();
  // Fixed ports: with port 0 in the file, the ports the server picked would read as a change.
  const probe = new TestServer({
    c2s_ports: [await freePort()],
    c2s_direct_tls_ports: [await freePort()],
    http_ports: [await freePort()],
    https_ports: [await freePort()],
  });
  const certPath = join(probe.dataDir, "server.crt"),
    keyPath = join(probe.dataDir, "server.key");
  writeFileSync(certPath, a.cert);
  writeFileSync(keyPath, a.key);
  probe.configure({ certificate: certPath, key: keyPath });
  const srv = await probe.start();
  cleanups.push(() => srv.kill());
  await srv.addUser("carol", "carol-secret");
  assert.equal(await peerFingerprint(srv.tlsPort, false), a.fingerprint);

  const open = await RawClient.connect(srv.c2sPort);
  cleanups.push(() => open.close());
  await open.login("carol", "carol-secret", "before");

  // The new certificate, and config changes: two keys that apply live, one that needs a restart.
  writeFileSync(certPath, b.cert);
  writeFileSync(keyPath, b.key);
  const cfg = YAML.parse(readFileSync(srv.configPath, "utf8")) as Record<string, unknown>;
  const otherPort = await freePort();
  writeFileSync(srv.configPath, YAML.stringify({ ...cfg, log_level: "debug", c2s_max_connections: 5000, c2s_ports: [otherPort] }));
  const seen = srv.logs.length;
  srv.proc!.kill("SIGHUP");
  const deadline = Date.now() + 10_000;
  let summary: Record<string, unknown> | undefined;
  while (!(summary = srv.logs.slice(seen).find((l) => l.msg === "reload: configuration read"))) {
    assert.equal(srv.proc!.exitCode, null, "SIGHUP ended the server");
    assert.ok(Date.now() < deadline, "no reload log line after SIGHUP");
    await sleep(50);
  }
  assert.deepEqual([...(summary.applied as string[])].sort(), ["c2s_max_connections", "log_level"]);
  assert.deepEqual(summary.needs_restart, ["c2s_ports"]);
  assert.ok(srv.logs.slice(seen).some((l) => l.msg === "reload: these keys change only at a restart; their running values stay"));
  assert.ok(srv.logs.slice(seen).some((l) => l.msg === "reload: new certificate in use for new connections"));

  assert.equal(await peerFingerprint(srv.tlsPort, false), b.fingerprint, "direct TLS after the reload");
  assert.equal(await peerFingerprint(srv.c2sPort, true), b.fingerprint, "STARTTLS after the reload (and the old port still serves)");
  assert.equal(await httpsFingerprint(srv.httpsPort), b.fingerprint, "HTTPS after the reload");
  assert.equal(await portOpen(otherPort), false, "a changed port waits for the restart");
  await ping(open); // the connection from before the reload goes on
  assert.equal((open.socket as tls.TLSSocket).getPeerCertificate().fingerprint256, a.fingerprint);

  // A broken certificate (and key) on disk: logged, the working one stays.
  writeFileSync(certPath, "-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n");
  const seen2 = srv.logs.length;
  srv.proc!.kill("SIGHUP");
  const deadline2 = Date.now() + 10_000;
  while (!srv.logs.slice(seen2).some((l) => l.msg === "reload: configuration read")) {
    assert.ok(Date.now() < deadline2, "no reload log line after the second SIGHUP");
    await sleep(50);
  }
  const err = srv.logs.slice(seen2).find((l) => l.msg === "reload: the certificate was not replaced; the old one stays in use");
  assert.ok(err, "the bad certificate is logged");
  assert.match(String(err.err), new RegExp(`${certPath.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: not a PEM certificate`));
  assert.equal(await peerFingerprint(srv.tlsPort, false), b.fingerprint, "the last good certificate stays");

  // A configuration that does not load: logged, nothing changes, still serving.
  writeFileSync(srv.configPath, "log_level: [not, a, level]\n");
  const seen3 = srv.logs.length;
  srv.proc!.kill("SIGHUP");
  const deadline3 = Date.now() + 10_000;
  while (!srv.logs.slice(seen3).some((l) => l.msg === "reload: the configuration has an error; nothing changed")) {
    assert.ok(Date.now() < deadline3, "no log line for a bad configuration");
    await sleep(50);
  }
  await ping(open);
  await srv.stop();
});

// --- one instance per data directory ----------------------------------------------------------------

test("a second server on the same data directory exits non-zero naming the running PID and leaves no port open; after kill -9 of the first, a new start works", async () => {
  const first = await new TestServer().start();
  cleanups.push(() => first.kill());
  const dataPath = join(first.dataDir, "data");
  const ports = { c2s: await freePort(), tls: await freePort(), http: await freePort(), https: await freePort() };
  const second = new TestServer({
    data_path: dataPath,
    c2s_ports: [ports.c2s],
    c2s_direct_tls_ports: [ports.tls],
    http_ports: [ports.http],
    https_ports: [ports.https],
  });
  const p = spawn(process.execPath, [CLI, "start", "--config", second.configPath], { stdio: ["ignore", "pipe", "pipe"] });
  spawned.push(p);
  cleanups.push(() => p.kill("SIGKILL"));
  let stderr = "";
  p.stderr.on("data", (d) => {
    stderr += d;
  });
  p.stdout.resume();
  const exit = await waitExit(p, 15_000);
  assert.equal(exit.signal, null, "the second server did not exit on its own (killed after 15 s)");
  assert.notEqual(exit.code, 0);
  assert.match(stderr, new RegExp(`already running.*PID ${first.proc!.pid}`), `stderr names the running process: ${stderr}`);
  for (const [name, port] of Object.entries(ports)) assert.equal(await portOpen(port), false, `the refused server left its ${name} port ${port} open`);
  assert.ok(alive(first.proc!.pid!), "the first server still runs");
  const c = await RawClient.connect(first.c2sPort);
  cleanups.push(() => c.close());
  c.openStream();
  await c.waitFor(/<\/stream:features>/); // and still serves

  // kill -9 leaves the lock file behind; it must not stop the next start.
  await first.kill();
  const again = spawn(process.execPath, [CLI, "start", "--config", second.configPath], { stdio: ["ignore", "pipe", "pipe"] });
  spawned.push(again);
  cleanups.push(() => again.kill("SIGKILL"));
  const logs = logsOf(again);
  await logs.waitFor((l) => l.msg === "Warden is ready", 20_000, "'Warden is ready' after kill -9 of the previous server");
  assert.ok(await portOpen(ports.c2s));
  again.kill("SIGTERM");
  assert.equal((await waitExit(again, 30_000)).code, 0);
});

test("a start that fails on a busy port exits 71 and closes the ports it had opened", async () => {
  const ports = { c2s: await freePort(), tls: await freePort(), http: await freePort(), https: await freePort() };
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(ports.tls, "127.0.0.1", () => r()));
  cleanups.push(() => blocker.close());
  const srv = new TestServer({ c2s_ports: [ports.c2s], c2s_direct_tls_ports: [ports.tls], http_ports: [ports.http], https_ports: [ports.https] });
  const p = spawn(process.execPath, [CLI, "start", "--config", srv.configPath], { stdio: ["ignore", "pipe", "pipe"] });
  spawned.push(p);
  cleanups.push(() => p.kill("SIGKILL"));
  let stderr = "";
  p.stderr.on("data", (d) => {
    stderr += d;
  });
  const logs = logsOf(p);
  const exit = await waitExit(p, 15_000);
  assert.equal(exit.signal, null, "the failed server did not exit on its own (killed after 15 s)");
  assert.equal(exit.code, 71, stderr);
  assert.match(stderr, /could not start: .*EADDRINUSE/);
  assert.ok(listeningPorts(logs.lines).length >= 1, "it had opened ports before failing (precondition)");
  for (const [name, port] of Object.entries(ports))
    if (port !== ports.tls) assert.equal(await portOpen(port), false, `the failed server left its ${name} port open`);
  // Nor did it keep the lock: the next start on the directory works.
  blocker.close();
  await srv.start();
  await srv.stop();
});

test("a lock left by a process that is gone, or whose PID now belongs to another process, does not block a start", async () => {
  const srv = new TestServer();
  const { mkdirSync } = await import("node:fs");
  const dataPath = join(srv.dataDir, "data");
  mkdirSync(dataPath, { recursive: true, mode: 0o700 });
  // This test process is alive, but it is not the process that took this lock (another start time).
  writeFileSync(join(dataPath, "warden.lock"), JSON.stringify({ pid: process.pid, started: "1" }) + "\n");
  await srv.start();
  await srv.stop();
  // A PID no process has.
  writeFileSync(join(dataPath, "warden.lock"), JSON.stringify({ pid: 2 ** 22 + 17, started: "1" }) + "\n");
  await srv.start();
  await srv.stop();
  // Garbage in the file.
  writeFileSync(join(dataPath, "warden.lock"), "\0\0\0");
  await srv.start();
  await srv.stop();
});
