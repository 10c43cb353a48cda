// `npm run bench`: starts the real server (the built CLI, via the tests' TestServer) on
// 127.0.0.1 and measures it with our own raw-XMPP load generator:
//   1. full logins per second (direct TLS and STARTTLS) at N concurrent clients, p50/p99;
//   2. messages per second between connected users (1 pair and 10 pairs);
//   3. server RSS per idle authenticated connection at 5,000 connections, beside a bare Node
//      TLS server holding as many sockets (the floor);
//   4. fast: FAST (XEP-0484) reconnects per second against SASL2 SCRAM reconnects, same load;
//   5. list: manage-clients <list/> latency for an account with 1,000 client records;
//   6. revoke: time from a manage-clients <revoke/> to the close of the revoked client's socket;
//   7. hostile: server CPU time per MB of hostile XML (nested, wide, long attribute; bench/hostile.ts).
// Prints a table and writes bench/results/latest.json.
//
// Options: --only=login,messages,fast,list,revoke,mam,oauth,slowconns,hostile,memory  --duration=SECONDS (per timed phase, default 8)
//          --concurrency=N (logins, default 50)  --conns=N (memory, default 5000)
//          --server-prof (V8 CPU profile of the server into bench/results/prof/)
import os from "node:os";
import tls from "node:tls";
import { fork, spawnSync, execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { TestServer, ROOT } from "../test/helpers/server.js";
import { oauthBench, type OAuthBenchResult } from "./oauth.js";
import { hostileBench, describeRun, type HostileRun } from "./hostile.js";
import { slowConnsBench, type SlowConnsResult } from "./slow-conns.js";
import { MAM_ACCOUNT, mamBench, type MamResult } from "./mam.js";
import { Conn, LoginError, type Account, type Sasl2Auth, type Target } from "./load/xmpp-client.js";

const BENCH_DIR = import.meta.dirname;
const HOST = "127.0.0.1";

// --- options -------------------------------------------------------------------------------

function opt(name: string): string | undefined {
  const a = process.argv.find((s) => s.startsWith(`--${name}=`));
  return a?.slice(name.length + 3);
}
const PHASES = ["login", "messages", "fast", "list", "revoke", "mam", "oauth", "slowconns", "hostile", "memory"];
const only = new Set((opt("only") ?? PHASES.join(",")).split(",").map((s) => s.trim()));
for (const p of only)
  if (!PHASES.includes(p)) {
    console.error(`unknown phase ${p}; phases: ${PHASES.join(", ")}`);
    process.exit(2);
  }
const DURATION_MS = Number(opt("duration") ?? 8) * 1000;
const CONCURRENCY = Number(opt("concurrency") ?? 50);
let CONNS = Number(opt("conns") ?? 5000);
const WARMUP_MS = 1500;
const MSG_WINDOW = 1000;
const notes: string[] = [];

// --- file descriptors: the bench holds CONNS sockets itself ----------------------------------

function fdLimit(): number {
  try {
    return Number(execFileSync("/bin/sh", ["-c", "ulimit -n"], { encoding: "utf8" }).trim()) || 1024;
  } catch {
    return 1024;
  }
}
if (only.has("memory") || only.has("slowconns")) {
  const need = Math.max(only.has("memory") ? CONNS : 0, only.has("slowconns") ? 2000 : 0) + 1024;
  let limit = fdLimit();
  if (limit < need && !process.env.WARDEN_BENCH_RESPAWNED) {
    // Node cannot raise its own RLIMIT_NOFILE: run again under a shell that raises it (up to the hard limit).
    const want = Math.max(need, 65536);
    const r = spawnSync(
      "/bin/bash",
      [
        "-c",
        `ulimit -n ${want} 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"`,
        "bash",
        process.execPath,
        ...process.execArgv,
        ...process.argv.slice(1),
      ],
      { stdio: "inherit", env: { ...process.env, WARDEN_BENCH_RESPAWNED: "1" } },
    );
    process.exit(r.status ?? 1);
  }
  limit = fdLimit();
  if (limit < need) {
    const n = Math.max(100, Math.floor((limit - 1024) / 100) * 100);
    notes.push(`file descriptor limit ${limit} (could not raise it): memory test uses ${n} connections instead of ${CONNS}`);
    CONNS = n;
  }
}

// --- helpers -------------------------------------------------------------------------------

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function rssKb(pid: number): { rss: number; anon: number } {
  const s = readFileSync(`/proc/${pid}/status`, "utf8");
  const get = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(s)?.[1] ?? NaN);
  return { rss: get("VmRSS"), anon: get("RssAnon") };
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds (user+system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / CLK_TCK; // utime, stime are fields 14 and 15
}

/** Busy CPU seconds of the whole machine (all cores) so far, from /proc/stat. */
function machineBusySeconds(): number {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: everything but idle and iowait
  return (f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + (f[7] ?? 0)) / CLK_TCK;
}

/**
 * Measures the CPU the server and this process use between start() and stop(), as % of one
 * core, and what every other process on the machine used meanwhile ("others": other people's
 * builds and tests compete for the same cores and make the numbers noisy).
 */
function cpuMeter(pid: number) {
  let t0 = 0,
    s0 = 0,
    m0 = 0,
    b0 = process.cpuUsage();
  return {
    start() {
      t0 = performance.now();
      s0 = cpuSeconds(pid);
      m0 = machineBusySeconds();
      b0 = process.cpuUsage();
    },
    stop() {
      const secs = (performance.now() - t0) / 1000;
      const b = process.cpuUsage(b0);
      const server = cpuSeconds(pid) - s0,
        bench = (b.user + b.system) / 1e6,
        all = machineBusySeconds() - m0;
      return {
        serverCpuPct: round((100 * server) / secs, 0),
        benchCpuPct: round((100 * bench) / secs, 0),
        othersCpuPct: round(Math.max(0, (100 * (all - server - bench)) / secs), 0),
      };
    },
  };
}

const firstErrors: string[] = [];
function noteError(where: string, err: unknown): void {
  if (firstErrors.length < 10) firstErrors.push(`${where}: ${(err as Error).message ?? String(err)}`);
}

/** Opens n things, `batch` at a time, in parallel within a batch. */
async function ramp<T>(n: number, batch: number, open: (i: number) => Promise<T>, where: string): Promise<{ items: T[]; errors: number }> {
  const items: T[] = [];
  let errors = 0;
  for (let i = 0; i < n; i += batch) {
    const res = await Promise.allSettled(Array.from({ length: Math.min(batch, n - i) }, (_, j) => open(i + j)));
    for (const r of res) {
      if (r.status === "fulfilled") items.push(r.value);
      else {
        errors++;
        noteError(where, r.reason);
      }
    }
    if (errors > n / 10) break; // something is badly wrong; do not hammer on
  }
  return { items, errors };
}

// --- server ----------------------------------------------------------------------------------

let server: TestServer;
let serverPid = 0;
const serverProblems: string[] = [];

const serverLogLines: Record<string, number> = {};
function collectServerLogs(phase: string): void {
  serverLogLines[phase] = server.logs.length;
  for (const rec of server.logs) {
    if (typeof rec.level === "number" && rec.level >= 50 && serverProblems.length < 20) {
      serverProblems.push(`[${phase}] ${JSON.stringify(rec).slice(0, 500)}`);
    }
  }
  server.logs.length = 0;
  if (server.proc?.exitCode !== null && server.proc?.exitCode !== undefined) {
    serverProblems.push(`[${phase}] server process exited with code ${server.proc.exitCode}`);
  }
}

// The server's data directory lives in a directory of our own: other people's test clean-ups
// on this machine remove /tmp/warden-test-* (seen mid-run), and os.tmpdir() follows $TMPDIR.
const benchTmp = mkdtempSync(join(os.tmpdir(), "warden-bench-"));
process.on("exit", () => rmSync(benchTmp, { recursive: true, force: true }));

const SERVER_MEM_FILE = join(benchTmp, "server-memory.json");

function newServer(): void {
  const savedTmp = process.env.TMPDIR;
  process.env.TMPDIR = benchTmp;
  try {
    newServerIn();
  } finally {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
  }
}

function newServerIn(): void {
  // oauth2_rate_limit: the token endpoint's per-IP limit would otherwise stop the oauth phase at once.
  server = new TestServer({ login_failure_limit: 1000, c2s_max_connections_per_ip: 100_000, c2s_max_connections: 100_000, oauth2_rate_limit: 1_000_000_000 });
}

async function startServer(): Promise<void> {
  const hook = pathToFileURL(join(BENCH_DIR, "load/gc-hook.mjs")).href;
  const saved = process.env.NODE_OPTIONS;
  // --server-prof: a V8 CPU profile of the server, written by the hook when it stops.
  if (process.argv.includes("--server-prof")) process.env.WARDEN_BENCH_PROF_DIR = join(BENCH_DIR, "results/prof");
  process.env.WARDEN_BENCH_MEM_FILE = SERVER_MEM_FILE;
  process.env.NODE_OPTIONS = `${saved ?? ""} --expose-gc --import=${hook}`.trim();
  try {
    await server.start();
  } finally {
    if (saved === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = saved;
    delete process.env.WARDEN_BENCH_PROF_DIR;
    delete process.env.WARDEN_BENCH_MEM_FILE;
  }
  serverPid = server.proc!.pid!;
}

const accounts: Account[] = [];
/** Accounts of their own for the list and revoke phases (not among `accounts`). */
const LIST_ACCOUNT: Account = { user: "benchlist", password: "pw-benchlist" };
const REVOKE_ACCOUNT: Account = { user: "benchrevoke", password: "pw-benchrevoke" };
const SCRAM_ITERATIONS = 4096; // the server's default scram_iterations

/**
 * Creates the accounts before the server starts. In-process through the built account code
 * (the same createAccount the `warden user add` command calls): one `warden` process per user
 * costs ~0.5–1 s of Node start-up on a busy 2-core machine. Falls back to the command.
 */
async function addUsers(n: number): Promise<string> {
  const bench = Array.from({ length: n }, (_, i) => ({ user: `bench${i}`, password: `pw-bench-${i}` }));
  const names = [...bench, LIST_ACCOUNT, REVOKE_ACCOUNT, MAM_ACCOUNT];
  let done = 0;
  try {
    const dist = (p: string) => pathToFileURL(join(ROOT, "dist", p)).href;
    const { openStorage } = (await import(dist("storage/index.js"))) as {
      openStorage: (c: { backend: "sqlite"; path: string }) => Promise<{ close(): Promise<void> }>;
    };
    const { createAccount } = (await import(dist("auth/accounts.js"))) as {
      createAccount: (s: unknown, user: string, pw: string, iterations: number) => Promise<void>;
    };
    const dataPath = join(server.dataDir, "data");
    mkdirSync(dataPath, { recursive: true, mode: 0o750 });
    const storage = await openStorage({ backend: "sqlite", path: join(dataPath, "warden.sqlite") });
    try {
      for (const a of names) {
        await createAccount(storage, a.user, a.password, SCRAM_ITERATIONS);
        done++;
      }
    } finally {
      await storage.close();
    }
    accounts.push(...bench);
    return "in-process createAccount";
  } catch (err) {
    notes.push(`creating accounts in-process failed after ${done} (${(err as Error).message}); used \`warden user add\` for the rest`);
  }
  const rest = names.slice(done);
  for (let i = 0; i < rest.length; i += 10) {
    await Promise.all(
      rest.slice(i, i + 10).map(async (a) => {
        const r = await server.cli(["user", "add", a.user], a.password + "\n");
        if (r.code !== 0) throw new Error(`warden user add ${a.user} failed (${r.code}): ${r.stderr}`);
      }),
    );
  }
  accounts.push(...bench);
  return "warden user add";
}

// --- 1. logins -------------------------------------------------------------------------------

interface LoginResult {
  name: string;
  concurrency: number;
  seconds: number;
  logins: number;
  perSecond: number;
  p50ms: number;
  p99ms: number;
  errors: number;
  serverCpuPct: number;
  benchCpuPct: number;
  othersCpuPct: number;
  perServerCpuSecond: number;
}

let resourceSeq = 0;
async function loginBench(name: string, target: Target): Promise<LoginResult> {
  const t0 = performance.now();
  const measureFrom = t0 + WARMUP_MS;
  const end = measureFrom + DURATION_MS;
  const lat: number[] = [];
  let errors = 0;
  const cpu = cpuMeter(serverPid);
  let cpuStarted = false;
  const slot = async (i: number) => {
    const account = accounts[i % accounts.length]!;
    while (performance.now() < end) {
      const s = performance.now();
      if (!cpuStarted && s >= measureFrom) {
        cpuStarted = true;
        cpu.start();
      }
      try {
        const c = await Conn.login(target, account, `l${resourceSeq++}`);
        const e = performance.now();
        if (s >= measureFrom && e <= end) lat.push(e - s);
        c.close();
      } catch (err) {
        errors++;
        noteError(name, err);
        if (errors > 100) return;
        await sleep(50);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, i) => slot(i)));
  const usage = cpuStarted ? cpu.stop() : { serverCpuPct: NaN, benchCpuPct: NaN, othersCpuPct: NaN };
  lat.sort((a, b) => a - b);
  await sleep(500); // let the closes finish
  return {
    name,
    concurrency: CONCURRENCY,
    seconds: DURATION_MS / 1000,
    logins: lat.length,
    perSecond: round(lat.length / (DURATION_MS / 1000), 0),
    p50ms: round(percentile(lat, 0.5)),
    p99ms: round(percentile(lat, 0.99)),
    errors,
    ...usage,
    perServerCpuSecond: round(lat.length / (DURATION_MS / 1000) / (usage.serverCpuPct / 100), 0),
  };
}

// --- 2. messages -----------------------------------------------------------------------------

interface MessageResult {
  name: string;
  pairs: number;
  window: number;
  seconds: number;
  messages: number;
  perSecond: number;
  bounced: number;
  serverCpuPct: number;
  benchCpuPct: number;
  othersCpuPct: number;
  perServerCpuSecond: number;
}

async function messageBench(pairs: number, target: Target): Promise<MessageResult> {
  const name = `messages/s, ${pairs} pair${pairs > 1 ? "s" : ""}`;
  const body = "The quick brown fox jumps over the lazy dog, again and again and again.";
  const streams: Conn[] = [];
  let total = 0,
    bounced = 0,
    stopped = false;
  try {
    const ps = await Promise.all(
      Array.from({ length: pairs }, async (_, i) => {
        const a = accounts[2 * i]!,
          b = accounts[2 * i + 1]!;
        const [sender, receiver] = await Promise.all([Conn.login(target, a, "s"), Conn.login(target, b, "r")]);
        streams.push(sender, receiver);
        const msg = `<message to='${b.user}@localhost/r' type='chat'><body>${body}</body></message>`;
        return { sender, receiver, msg, sent: 0, received: 0, draining: false };
      }),
    );
    type Pair = (typeof ps)[number];
    const pump = (p: Pair) => {
      if (stopped || p.draining) return;
      let room = MSG_WINDOW - (p.sent - p.received);
      while (room > 0) {
        const k = Math.min(room, 100);
        const ok = p.sender.write(p.msg.repeat(k));
        p.sent += k;
        room -= k;
        if (!ok) {
          p.draining = true;
          p.sender.socket.once("drain", () => {
            p.draining = false;
            pump(p);
          });
          return;
        }
      }
    };
    for (const p of ps) {
      p.receiver.count("</message>", (n) => {
        p.received += n;
        total += n;
        pump(p);
      });
      // Anything coming back to the sender is an error bounce.
      p.sender.count("</message>", (n) => {
        bounced += n;
      });
    }
    for (const p of ps) pump(p);
    await sleep(1000);
    const cpu = cpuMeter(serverPid);
    cpu.start();
    const r0 = total,
      t0 = performance.now();
    await sleep(DURATION_MS);
    const r1 = total,
      t1 = performance.now();
    const usage = cpu.stop();
    stopped = true;
    return {
      name,
      pairs,
      window: MSG_WINDOW,
      seconds: round((t1 - t0) / 1000, 2),
      messages: r1 - r0,
      perSecond: round((r1 - r0) / ((t1 - t0) / 1000), 0),
      bounced,
      ...usage,
      perServerCpuSecond: round((r1 - r0) / ((t1 - t0) / 1000) / (usage.serverCpuPct / 100), 0),
    };
  } finally {
    stopped = true;
    for (const c of streams) c.close();
    await sleep(1000);
  }
}

// --- 4. FAST against SCRAM reconnects ------------------------------------------------------

interface PathResult {
  name: string;
  mechanism: string;
  concurrency: number;
  seconds: number;
  logins: number;
  perSecond: number;
  p50ms: number;
  p99ms: number;
  errors: number;
  failures: number;
  /** Round trips the client waited for after the TLS handshake (stream features, [challenge], success). */
  xmppRoundTrips: number;
  /** The same plus TCP connect (1) and the TLS handshake (1 for TLS 1.3, 2 for 1.2). */
  totalRoundTrips: number;
  tlsProtocol: string;
  serverCpuPct: number;
  benchCpuPct: number;
  othersCpuPct: number;
  perServerCpuSecond: number;
  /** One client alone, logins back to back: latency without queueing behind other clients. */
  alone: { logins: number; p50ms: number; p99ms: number; serverCpuMsPerLogin: number };
}

interface FastResult {
  scram: PathResult;
  fast: PathResult;
  fastResumed: PathResult;
  ratioResumed: number;
  tlsResumed: number;
  ratio: number;
  ratioPerServerCpu: number;
  target: string;
  met: boolean;
  rounds: number;
  tokenErrors: number;
}

const FAST_ROUNDS = 2; // SCRAM, FAST, SCRAM, FAST: each path sees the same stretch of machine noise
const SEGMENT_WARMUP_MS = 500;
const FAST_ALONE = 100;

async function fastBench(target: Target): Promise<FastResult> {
  // Every slot's FAST token, from one password login with <request-token/>.
  const tokens: string[] = [];
  const got = await ramp(
    CONCURRENCY,
    20,
    async (i) => {
      const r = await Conn.sasl2(
        target,
        accounts[i % accounts.length]!,
        { mechanism: "SCRAM-SHA-256" },
        { clientId: `fast-${i}`, bindTag: "b", requestToken: true, resumeTls: true },
      );
      tokens[i] = r.token!;
      await r.conn.closeAndWait();
    },
    "fast/token",
  );
  if (got.errors > 0) throw new Error(`could not get FAST tokens for ${got.errors} of ${CONCURRENCY} clients: ${firstErrors.slice(-1)[0]}`);

  const segMs = DURATION_MS / FAST_ROUNDS;
  type Acc = {
    lat: number[];
    errors: number;
    failures: number;
    rts: Set<string>;
    xmpp: number;
    total: number;
    tls: string;
    secs: number;
    server: number;
    bench: number;
    others: number;
  };
  const acc = (): Acc => ({ lat: [], errors: 0, failures: 0, rts: new Set(), xmpp: 0, total: 0, tls: "", secs: 0, server: 0, bench: 0, others: 0 });
  const paths = { scram: acc(), fast: acc(), fastResumed: acc() };
  let tlsResumed = 0;

  const segment = async (kind: "scram" | "fast" | "fastResumed") => {
    const a = paths[kind];
    const measureFrom = performance.now() + SEGMENT_WARMUP_MS;
    const end = measureFrom + segMs;
    const cpu = cpuMeter(serverPid);
    let cpuStarted = false;
    const slot = async (i: number) => {
      const account = accounts[i % accounts.length]!;
      const auth: Sasl2Auth = kind === "scram" ? { mechanism: "SCRAM-SHA-256" } : { mechanism: "HT-SHA-256-NONE", token: tokens[i]! };
      const clientId = kind === "scram" ? `scram-${i}` : `fast-${i}`;
      let errors = 0;
      while (performance.now() < end) {
        const s = performance.now();
        if (!cpuStarted && s >= measureFrom) {
          cpuStarted = true;
          cpu.start();
        }
        try {
          const r = await Conn.sasl2(target, account, auth, { clientId, bindTag: "b", resumeTls: kind === "fastResumed" });
          const e = performance.now();
          if (kind === "fastResumed" && s >= measureFrom && e <= end && (r.conn.socket as tls.TLSSocket).isSessionReused()) tlsResumed++;
          if (s >= measureFrom && e <= end) a.lat.push(e - s);
          const tlsRts = r.tlsProtocol === "TLSv1.3" ? 1 : 2;
          a.rts.add(`${r.roundTrips}+${tlsRts}`);
          a.xmpp = r.roundTrips;
          a.total = r.roundTrips + 1 + tlsRts;
          a.tls = r.tlsProtocol;
          r.conn.close();
        } catch (err) {
          a.errors++;
          errors++;
          if (err instanceof LoginError && err.step === "sasl2-failure") a.failures++;
          noteError(`fast/${kind}`, err);
          if (errors > 100) return;
          await sleep(50);
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, (_, i) => slot(i)));
    if (cpuStarted) {
      const u = cpu.stop();
      const secs = segMs / 1000;
      a.secs += secs;
      a.server += (u.serverCpuPct * secs) / 100;
      a.bench += (u.benchCpuPct * secs) / 100;
      a.others += (u.othersCpuPct * secs) / 100;
    }
    await sleep(300); // let the closes finish before the other path runs
  };
  for (let r = 0; r < FAST_ROUNDS; r++) {
    await segment("scram");
    await segment("fast");
    await segment("fastResumed");
  }

  // One client alone, back to back, alternating paths: the latency of a login itself.
  const alone = { scram: [] as number[], fast: [] as number[] };
  const aloneCpu = { scram: 0, fast: 0 };
  for (let n = 0; n < FAST_ALONE; n++) {
    for (const kind of ["scram", "fast"] as const) {
      const c0 = cpuSeconds(serverPid);
      const s = performance.now();
      try {
        const r = await Conn.sasl2(
          target,
          accounts[0]!,
          kind === "fast" ? { mechanism: "HT-SHA-256-NONE", token: tokens[0]! } : { mechanism: "SCRAM-SHA-256" },
          { clientId: `${kind}-0`, bindTag: "b" },
        );
        alone[kind].push(performance.now() - s);
        await r.conn.closeAndWait(); // not timed; keeps the server quiet for the next login
        aloneCpu[kind] += cpuSeconds(serverPid) - c0;
      } catch (err) {
        paths[kind].errors++;
        if (err instanceof LoginError && err.step === "sasl2-failure") paths[kind].failures++;
        noteError(`fast/${kind}/alone`, err);
      }
    }
  }

  const result = (name: string, mechanism: string, a: Acc, aloneLat: number[], aloneCpuS: number): PathResult => {
    a.lat.sort((x, y) => x - y);
    aloneLat.sort((x, y) => x - y);
    const secs = a.secs || (segMs * FAST_ROUNDS) / 1000;
    const perSecond = a.lat.length / secs;
    if (a.rts.size > 1) notes.push(`fast/${mechanism}: the round-trip count varied between logins (${[...a.rts].join(", ")})`);
    return {
      name,
      mechanism,
      concurrency: CONCURRENCY,
      seconds: round(secs, 1),
      logins: a.lat.length,
      perSecond: round(perSecond, 0),
      p50ms: round(percentile(a.lat, 0.5)),
      p99ms: round(percentile(a.lat, 0.99)),
      errors: a.errors,
      failures: a.failures,
      xmppRoundTrips: a.xmpp,
      totalRoundTrips: a.total,
      tlsProtocol: a.tls,
      serverCpuPct: round((100 * a.server) / secs, 0),
      benchCpuPct: round((100 * a.bench) / secs, 0),
      othersCpuPct: round((100 * a.others) / secs, 0),
      perServerCpuSecond: round(a.lat.length / (a.server || NaN), 0),
      alone: {
        logins: aloneLat.length,
        p50ms: round(percentile(aloneLat, 0.5), 2),
        p99ms: round(percentile(aloneLat, 0.99), 2),
        serverCpuMsPerLogin: round((1000 * aloneCpuS) / Math.max(1, aloneLat.length), 2),
      },
    };
  };
  const scram = result("reconnects/s, SASL2 SCRAM-SHA-256 + Bind2", "SCRAM-SHA-256", paths.scram, alone.scram, aloneCpu.scram);
  const fast = result("reconnects/s, SASL2 FAST HT-SHA-256-NONE + Bind2", "HT-SHA-256-NONE", paths.fast, alone.fast, aloneCpu.fast);
  const fastResumed = result("reconnects/s, SASL2 FAST + Bind2 over a resumed TLS session", "HT-SHA-256-NONE", paths.fastResumed, [], 0);
  const ratio = round(fast.perSecond / scram.perSecond, 2);
  const ratioResumed = round(fastResumed.perSecond / scram.perSecond, 2);
  return {
    scram,
    fast,
    fastResumed,
    ratioResumed,
    tlsResumed,
    ratio,
    ratioPerServerCpu: round(fast.perServerCpuSecond / scram.perServerCpuSecond, 2),
    target: "FAST reconnect (resumed TLS) ≥ 2× full SCRAM login",
    met: ratioResumed >= 2,
    rounds: FAST_ROUNDS,
    tokenErrors: got.errors,
  };
}

// --- 5. manage-clients list with 1,000 clients ---------------------------------------------

const NS_MANAGE = "xmpp:prosody.im/protocol/manage-clients";
const LIST_CLIENTS = 1000;
const LIST_REQUESTS = 200;
const LIST_WARMUP = 5;
const LIST_CAP_MS = 20_000;

interface ListResult {
  records: number;
  createErrors: number;
  createSeconds: number;
  requests: number;
  p50ms: number;
  p99ms: number;
  maxMs: number;
  clientsInAnswer: number;
  answerBytes: number;
  wrongAnswers: number;
  firstWrongAnswer?: string;
  target: string;
  met: boolean;
  /** CPU per measured request: the server's, and this process's (reading a ~200 KB answer). */
  serverCpuMsPerRequest: number;
  benchCpuMsPerRequest: number;
  othersCpuPct: number;
}

async function listBench(target: Target): Promise<ListResult> {
  const t0 = performance.now();
  const created = await ramp(
    LIST_CLIENTS,
    20,
    async (i) => {
      const r = await Conn.sasl2(target, LIST_ACCOUNT, { mechanism: "PLAIN" }, { clientId: `bench-${i}` });
      await r.conn.closeAndWait();
    },
    "list/create",
  );
  const createSeconds = (performance.now() - t0) / 1000;
  await sleep(300);
  const ctl = (await Conn.sasl2(target, LIST_ACCOUNT, { mechanism: "PLAIN" }, { clientId: "bench-controller", bindTag: "c" })).conn;
  const lat: number[] = [];
  let wrongAnswers = 0,
    firstWrongAnswer: string | undefined,
    clientsInAnswer = -1,
    answerBytes = 0;
  const cpu = cpuMeter(serverPid);
  let s0 = 0,
    b0 = process.cpuUsage(),
    serverCpuS = NaN,
    benchCpuS = NaN,
    othersCpuPct = NaN;
  try {
    const tEnd = performance.now() + LIST_CAP_MS;
    for (let n = 0; n < LIST_WARMUP + LIST_REQUESTS && performance.now() < tEnd; n++) {
      if (n === LIST_WARMUP) {
        cpu.start();
        s0 = cpuSeconds(serverPid);
        b0 = process.cpuUsage();
      }
      const id = `l${n}`;
      const s = performance.now();
      const answer = await ctl.iq(id, `<iq type='get' id='${id}'><list xmlns='${NS_MANAGE}'/></iq>`);
      const e = performance.now();
      if (n >= LIST_WARMUP) lat.push(e - s);
      const count = answer.split("<client ").length - 1;
      if (clientsInAnswer < 0) {
        clientsInAnswer = count;
        answerBytes = Buffer.byteLength(answer);
      }
      if (!/^<iq\s[^>]*type='result'/.test(answer) || (count !== LIST_CLIENTS && count !== LIST_CLIENTS + 1)) {
        wrongAnswers++;
        firstWrongAnswer ??= `${count} <client/>: ${answer.slice(0, 400)}`;
      }
    }
    if (lat.length > 0) {
      serverCpuS = cpuSeconds(serverPid) - s0;
      const b = process.cpuUsage(b0);
      benchCpuS = (b.user + b.system) / 1e6;
      othersCpuPct = cpu.stop().othersCpuPct;
    }
  } finally {
    await ctl.closeAndWait();
  }
  const n = Math.max(1, lat.length);
  lat.sort((a, b) => a - b);
  const p99ms = round(percentile(lat, 0.99), 2);
  const out: ListResult = {
    records: LIST_CLIENTS - created.errors,
    createErrors: created.errors,
    createSeconds: round(createSeconds, 1),
    requests: lat.length,
    p50ms: round(percentile(lat, 0.5), 2),
    p99ms,
    maxMs: round(lat[lat.length - 1] ?? NaN, 2),
    clientsInAnswer,
    answerBytes,
    wrongAnswers,
    target: "p99 < 5 ms",
    met: p99ms < 5 && wrongAnswers === 0,
    serverCpuMsPerRequest: round((1000 * serverCpuS) / n, 2),
    benchCpuMsPerRequest: round((1000 * benchCpuS) / n, 2),
    othersCpuPct,
  };
  if (firstWrongAnswer) out.firstWrongAnswer = firstWrongAnswer;
  return out;
}

// --- 6. revoke → close -----------------------------------------------------------------------

const REVOKE_VICTIMS = 100;
const REVOKE_TIMEOUT_MS = 5000;

interface RevokeResult {
  victims: number;
  openErrors: number;
  revocations: number;
  closeP50ms: number;
  closeP99ms: number;
  closeMaxMs: number;
  /** Revoke sent → the victim has the bytes of its <stream:error> (before its socket closes). */
  streamErrorP50ms: number;
  streamErrorP99ms: number;
  answerP50ms: number;
  answerP99ms: number;
  /** How the revoke IQs were answered: result, or the password-reset-required error (the victims logged in with the password). */
  answers: Record<string, number>;
  notClosed: number;
  noStreamError: number;
  wrongCondition: number;
  wrongAnswers: number;
  firstProblem?: string;
  /** Revocations whose victim socket closed only after the controller had its IQ answer. */
  closedAfterAnswer: number;
  target: string;
  met: boolean;
}

async function revokeBench(target: Target): Promise<RevokeResult> {
  const opened = await ramp(
    REVOKE_VICTIMS,
    20,
    (i) => Conn.sasl2(target, REVOKE_ACCOUNT, { mechanism: "PLAIN" }, { clientId: `victim-${i}`, bindTag: "b" }).then((r) => ({ i, conn: r.conn })),
    "revoke/victims",
  );
  const ctl = (await Conn.sasl2(target, REVOKE_ACCOUNT, { mechanism: "PLAIN" }, { clientId: "controller", bindTag: "c" })).conn;
  await sleep(300);
  const toClose: number[] = [],
    toAnswer: number[] = [],
    toStreamError: number[] = [];
  const answers: Record<string, number> = {};
  let notClosed = 0,
    noStreamError = 0,
    wrongCondition = 0,
    wrongAnswers = 0,
    closedAfterAnswer = 0;
  let firstProblem: string | undefined;
  const problem = (s: string) => {
    firstProblem ??= s;
  };
  try {
    for (const v of opened.items.sort((a, b) => a.i - b.i)) {
      const id = `r${v.i}`;
      const closed = new Promise<number>((res) => {
        if (v.conn.closed) return res(v.conn.closedAt);
        v.conn.socket.once("close", () => res(v.conn.closedAt || performance.now()));
      });
      let errorAt = 0;
      const onData = (d: Buffer) => {
        if (!errorAt && d.includes("<stream:error")) errorAt = performance.now();
      };
      v.conn.socket.on("data", onData);
      const s = performance.now();
      const answered = ctl
        .iq(id, `<iq type='set' id='${id}'><revoke xmlns='${NS_MANAGE}' id='client/victim-${v.i}'/></iq>`)
        .then((text) => ({ text, at: performance.now() }));
      const timeout = (what: string) =>
        sleep(REVOKE_TIMEOUT_MS).then(() => {
          throw new Error(`${what} not within ${REVOKE_TIMEOUT_MS} ms`);
        });
      const [c, a] = await Promise.allSettled([Promise.race([closed, timeout("close")]), Promise.race([answered, timeout("answer")])]);
      v.conn.socket.removeListener("data", onData);
      if (errorAt) toStreamError.push(errorAt - s);
      if (c.status === "fulfilled") toClose.push(c.value - s);
      else {
        notClosed++;
        problem(`victim-${v.i}: socket not closed within ${REVOKE_TIMEOUT_MS} ms`);
        v.conn.destroy();
      }
      if (a.status === "fulfilled") {
        toAnswer.push(a.value.at - s);
        if (c.status === "fulfilled" && c.value > a.value.at) closedAfterAnswer++;
        const t = a.value.text;
        const kind = /^<iq\s[^>]*type='result'/.test(t)
          ? "result"
          : /type='error'/.test(t) && t.includes("<password-reset-required")
            ? "error password-reset-required"
            : "other";
        answers[kind] = (answers[kind] ?? 0) + 1;
        if (kind === "other") {
          wrongAnswers++;
          problem(`victim-${v.i}: revoke answered ${t.slice(0, 400)}`);
        }
      } else {
        wrongAnswers++;
        problem(`victim-${v.i}: ${(a.reason as Error).message}`);
        break;
      }
      const got = v.conn.unread;
      const se = got.indexOf("<stream:error");
      if (se < 0) {
        noStreamError++;
        problem(`victim-${v.i}: no <stream:error> before the close; received ${JSON.stringify(got.slice(-300))}`);
      } else if (!/^<stream:error[^>]*>\s*<not-authorized[\s/>]/.test(got.slice(se))) {
        wrongCondition++;
        problem(`victim-${v.i}: stream error is not <not-authorized/>: ${got.slice(se, se + 300)}`);
      }
    }
  } finally {
    await ctl.closeAndWait();
    for (const v of opened.items) v.conn.destroy();
  }
  toClose.sort((a, b) => a - b);
  toAnswer.sort((a, b) => a - b);
  toStreamError.sort((a, b) => a - b);
  const closeP99ms = round(percentile(toClose, 0.99), 2);
  const out: RevokeResult = {
    victims: opened.items.length,
    openErrors: opened.errors,
    revocations: toClose.length,
    closeP50ms: round(percentile(toClose, 0.5), 2),
    closeP99ms,
    closeMaxMs: round(toClose[toClose.length - 1] ?? NaN, 2),
    streamErrorP50ms: round(percentile(toStreamError, 0.5), 2),
    streamErrorP99ms: round(percentile(toStreamError, 0.99), 2),
    answerP50ms: round(percentile(toAnswer, 0.5), 2),
    answerP99ms: round(percentile(toAnswer, 0.99), 2),
    answers,
    notClosed,
    noStreamError,
    wrongCondition,
    wrongAnswers,
    closedAfterAnswer,
    target: "revoke → close p99 < 10 ms",
    met: closeP99ms < 10 && notClosed + noStreamError + wrongCondition + wrongAnswers === 0,
  };
  if (firstProblem) out.firstProblem = firstProblem;
  return out;
}

// --- 3. memory -------------------------------------------------------------------------------

interface MemorySide {
  connections: number;
  errors: number;
  rampSeconds: number;
  rssBeforeKb: number;
  rssAfterKb: number;
  anonBeforeKb: number;
  anonAfterKb: number;
  /** (RSS after − before) / connections: the headline figure. */
  perConnKb: number;
  /** Of which: V8 heap used (JS objects) and "external" (Buffers, native-backed memory V8 knows of), per connection. */
  heapUsedPerConnKb: number;
  heapTotalPerConnKb: number;
  externalPerConnKb: number;
}

interface Snapshot {
  rss: number;
  anon: number;
  mem: NodeJS.MemoryUsage | undefined;
}

async function quietRss(pid: number, gc: () => Promise<NodeJS.MemoryUsage | undefined>): Promise<Snapshot> {
  await sleep(2000);
  const mem = await gc();
  await sleep(1000);
  return { ...rssKb(pid), mem };
}

function side(n: number, errors: number, before: Snapshot, after: Snapshot, rampSeconds: number): MemorySide {
  const per = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? NaN : round((b - a) / 1024 / Math.max(1, n), 2));
  return {
    connections: n,
    errors,
    rampSeconds: round(rampSeconds, 1),
    rssBeforeKb: before.rss,
    rssAfterKb: after.rss,
    anonBeforeKb: before.anon,
    anonAfterKb: after.anon,
    perConnKb: round((after.rss - before.rss) / Math.max(1, n), 2),
    heapUsedPerConnKb: per(before.mem?.heapUsed, after.mem?.heapUsed),
    heapTotalPerConnKb: per(before.mem?.heapTotal, after.mem?.heapTotal),
    externalPerConnKb: per(before.mem?.external, after.mem?.external),
  };
}

async function memoryWarden(target: Target): Promise<MemorySide> {
  const gc = async () => {
    rmSync(SERVER_MEM_FILE, { force: true });
    process.kill(serverPid, "SIGUSR2");
    for (let i = 0; i < 50; i++) {
      await sleep(100);
      try {
        return JSON.parse(readFileSync(SERVER_MEM_FILE, "utf8")) as NodeJS.MemoryUsage;
      } catch {
        /* not yet */
      }
    }
    notes.push("the server did not report its memory usage after SIGUSR2 (gc hook not loaded?)");
    return undefined;
  };
  const before = await quietRss(serverPid, gc);
  const t0 = performance.now();
  const { items, errors } = await ramp(CONNS, 200, (i) => Conn.login(target, accounts[i % accounts.length]!, `m${i}`, 60_000), "memory/warden");
  const rampSeconds = (performance.now() - t0) / 1000;
  const after = await quietRss(serverPid, gc);
  const alive = items.filter((c) => !c.closed).length;
  if (alive < items.length) notes.push(`memory/warden: ${items.length - alive} of ${items.length} connections were closed by the server while idle`);
  for (const c of items) c.close();
  await sleep(1500);
  return side(alive, errors, before, after, rampSeconds);
}

async function memoryFloor(certPath: string, keyPath: string): Promise<MemorySide> {
  const child = fork(join(BENCH_DIR, "load/floor-tls.ts"), [certPath, keyPath], {
    execArgv: ["--expose-gc", "--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  try {
    const ready = await new Promise<{ port: number; pid: number }>((res, rej) => {
      child.once("message", (m: { type: string; port: number; pid: number }) => res(m));
      child.once("exit", (code) => rej(new Error(`floor server exited with ${code}`)));
    });
    const gc = () =>
      new Promise<NodeJS.MemoryUsage | undefined>((res) => {
        child.once("message", (m: { memory?: NodeJS.MemoryUsage }) => res(m.memory));
        child.send({ type: "gc" });
      });
    const before = await quietRss(ready.pid, gc);
    const t0 = performance.now();
    const { items, errors } = await ramp(
      CONNS,
      200,
      () =>
        new Promise<tls.TLSSocket>((res, rej) => {
          const s = tls.connect({ host: HOST, port: ready.port, servername: "localhost", rejectUnauthorized: false, ALPNProtocols: ["xmpp-client"] });
          s.setNoDelay(true);
          s.once("error", rej);
          s.once("secureConnect", () => s.write("ping\n"));
          s.once("data", () => res(s));
          s.once("close", () => rej(new Error("floor connection closed")));
        }),
      "memory/floor",
    );
    const rampSeconds = (performance.now() - t0) / 1000;
    const after = await quietRss(ready.pid, gc);
    for (const s of items) s.destroy();
    return side(items.length, errors, before, after, rampSeconds);
  } finally {
    if (child.connected) child.send({ type: "exit" });
    setTimeout(() => child.kill("SIGKILL"), 3000).unref();
  }
}

// --- main ------------------------------------------------------------------------------------

function table(rows: Array<[string, string, string]>): string {
  const w0 = Math.max(...rows.map((r) => r[0].length)),
    w1 = Math.max(...rows.map((r) => r[1].length));
  const line = `+-${"-".repeat(w0)}-+-${"-".repeat(w1)}-+-${"-".repeat(Math.max(...rows.map((r) => r[2].length)))}-+`;
  const w2 = line.length - w0 - w1 - 10;
  const fmt = (r: [string, string, string]) => `| ${r[0].padEnd(w0)} | ${r[1].padStart(w1)} | ${r[2].padEnd(w2)} |`;
  return [line, fmt(rows[0]!), line, ...rows.slice(1).map(fmt), line].join("\n");
}

async function main(): Promise<void> {
  const cpus = os.cpus();
  const machine = {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? "unknown",
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    totalMemMb: Math.round(os.totalmem() / 2 ** 20),
    loadAvgAtStart: os.loadavg().map((x) => round(x, 2)),
    fdLimit: fdLimit(),
  };
  const header = `Warden bench — ${machine.cpus} × ${machine.cpuModel}, Node ${machine.node}, ${machine.platform}, load avg ${machine.loadAvgAtStart.join(" ")}`;
  console.log(header);
  console.log(`(client and server share this machine; CPU figures are % of one core; "others" = every other process on the machine)\n`);

  const startedAt = new Date().toISOString();
  newServer();
  const userCount = Math.max(CONCURRENCY, 20);
  const tu = performance.now();
  const how = await addUsers(userCount);
  console.log(`added ${userCount} accounts (${how}) in ${round((performance.now() - tu) / 1000)} s`);
  await startServer();
  const direct: Target = { host: HOST, port: server.tlsPort, domain: "localhost", starttls: false };
  const starttls: Target = { host: HOST, port: server.c2sPort, domain: "localhost", starttls: true };
  console.log(`server pid ${serverPid}, c2s port ${server.c2sPort}, direct TLS port ${server.tlsPort}`);
  // The floor server uses the same certificate and key (ECDSA P-256): keep a copy now.
  const certPath = join(benchTmp, "floor.crt"),
    keyPath = join(benchTmp, "floor.key");
  const certs = join(server.dataDir, "data/certs");
  writeFileSync(certPath, readFileSync(join(certs, "localhost.crt")));
  writeFileSync(keyPath, readFileSync(join(certs, "localhost.key")), { mode: 0o600 });

  const results: {
    login: LoginResult[];
    messages: MessageResult[];
    fast?: FastResult;
    list?: ListResult;
    revoke?: RevokeResult;
    mam?: MamResult;
    oauth?: OAuthBenchResult;
    slowconns?: SlowConnsResult;
    hostile?: HostileRun[];
    memory?: { warden: MemorySide; floor: MemorySide; ratio: number };
  } = { login: [], messages: [] };
  try {
    if (only.has("login")) {
      for (const [name, t] of [
        ["logins/s, direct TLS", direct],
        ["logins/s, STARTTLS", starttls],
      ] as const) {
        process.stdout.write(`${name} (${CONCURRENCY} concurrent, ${DURATION_MS / 1000} s)… `);
        const r = await loginBench(name, t);
        results.login.push(r);
        console.log(`${r.perSecond}/s, p50 ${r.p50ms} ms, p99 ${r.p99ms} ms, errors ${r.errors}`);
        collectServerLogs(name);
      }
    }
    if (only.has("messages")) {
      for (const pairs of [1, 10]) {
        process.stdout.write(`messages, ${pairs} pair(s) (${DURATION_MS / 1000} s)… `);
        const r = await messageBench(pairs, direct);
        results.messages.push(r);
        console.log(`${r.perSecond}/s`);
        collectServerLogs(r.name);
      }
    }
    if (only.has("fast")) {
      process.stdout.write(`fast: SASL2 SCRAM vs FAST reconnects (${CONCURRENCY} concurrent, ${FAST_ROUNDS} × ${DURATION_MS / 1000 / FAST_ROUNDS} s each)… `);
      const r = await fastBench(direct);
      results.fast = r;
      console.log(
        `SCRAM ${r.scram.perSecond}/s, FAST ${r.fast.perSecond}/s, FAST+resumed TLS ${r.fastResumed.perSecond}/s (${r.tlsResumed} resumed), ratio ${r.ratioResumed}× (${r.ratio}× without resumption), failures ${r.scram.failures + r.fast.failures}, errors ${r.scram.errors + r.fast.errors}`,
      );
      collectServerLogs("fast");
    }
    if (only.has("list")) {
      process.stdout.write(`list: ${LIST_CLIENTS} client records, ${LIST_REQUESTS} sequential <list/>… `);
      const r = await listBench(direct);
      results.list = r;
      console.log(`p50 ${r.p50ms} ms, p99 ${r.p99ms} ms, ${r.clientsInAnswer} <client/> per answer, ${r.wrongAnswers} wrong answers`);
      collectServerLogs("list");
    }
    if (only.has("revoke")) {
      process.stdout.write(`revoke: ${REVOKE_VICTIMS} sequential revocations of live clients… `);
      const r = await revokeBench(direct);
      results.revoke = r;
      console.log(`to close p50 ${r.closeP50ms} ms, p99 ${r.closeP99ms} ms; to answer p50 ${r.answerP50ms} ms`);
      collectServerLogs("revoke");
    }
    if (only.has("mam")) {
      process.stdout.write(`mam: an archive of 100,000 messages, a full sync, then sequential 50-message pages… `);
      const r = await mamBench(direct, join(server.dataDir, "data"));
      results.mam = r;
      console.log(`p50 ${r.p50ms} ms, p99 ${r.p99ms} ms; full sync ${r.fullSyncMessages} in ${r.fullSyncSeconds} s; ${r.wrongAnswers} wrong answers`);
      collectServerLogs("mam");
    }
    if (only.has("oauth")) {
      process.stdout.write(`oauth: token endpoint (refresh grant) and REST with a bearer token… `);
      const r = await oauthBench({ httpPort: server.httpPort, username: accounts[0]!.user, password: accounts[0]!.password, durationMs: DURATION_MS / 2 });
      results.oauth = r;
      console.log(`token ${r.token.perSecond}/s, REST ${r.rest.perSecond}/s`);
      collectServerLogs("oauth");
    }
    if (only.has("slowconns")) {
      process.stdout.write(`slowconns: logins one at a time, without and with 2,000 slow connections open… `);
      const r = await slowConnsBench({ direct, starttls, account: accounts[0]!, serverPid, durationMs: Math.max(DURATION_MS, 15_000) });
      results.slowconns = r;
      console.log(
        `p99 direct TLS ${r.baseline.direct.p99ms} → ${r.loaded.direct.p99ms} ms, STARTTLS ${r.baseline.starttls.p99ms} → ${r.loaded.starttls.p99ms} ms`,
      );
      collectServerLogs("slowconns");
    }
    if (only.has("hostile")) {
      process.stdout.write(`hostile: server CPU per MB of nested, wide and long-attribute XML, before TLS and after login… `);
      results.hostile = await hostileBench({ c2sPort: server.c2sPort, pid: serverPid, user: accounts[0]!.user, password: accounts[0]!.password });
      console.log(results.hostile.map((r) => `${r.shape} ${r.when} ${r.cpuMsPerMb} ms/MB`).join(", "));
      collectServerLogs("hostile");
    }
    if (only.has("memory")) {
      process.stdout.write(`memory: ${CONNS} idle authenticated connections to Warden… `);
      const warden = await memoryWarden(direct);
      console.log(`${warden.perConnKb} KB/conn (ramp ${warden.rampSeconds} s)`);
      collectServerLogs("memory");
      process.stdout.write(`memory: ${CONNS} idle TLS connections to a bare Node TLS server… `);
      const floor = await memoryFloor(certPath, keyPath);
      console.log(`${floor.perConnKb} KB/conn`);
      results.memory = { warden, floor, ratio: round(warden.perConnKb / floor.perConnKb, 2) };
    }
  } finally {
    await server.stop();
  }

  const rows: Array<[string, string, string]> = [["Measurement", "Result", "Detail"]];
  for (const r of results.login) {
    rows.push([
      `${r.name} (${r.concurrency} conc.)`,
      `${r.perSecond}/s`,
      `p50 ${r.p50ms} ms, p99 ${r.p99ms} ms, ${r.logins} logins in ${r.seconds} s, ${r.errors} errors; server CPU ${r.serverCpuPct}% → ${r.perServerCpuSecond}/server CPU-s; bench CPU ${r.benchCpuPct}%; others ${r.othersCpuPct}%`,
    ]);
  }
  for (const r of results.messages) {
    rows.push([
      r.name,
      `${r.perSecond}/s`,
      `window ${r.window}/pair, ${r.messages} msgs in ${r.seconds} s, ${r.bounced} bounced; server CPU ${r.serverCpuPct}% → ${r.perServerCpuSecond}/server CPU-s; bench CPU ${r.benchCpuPct}%; others ${r.othersCpuPct}%`,
    ]);
  }
  const verdict = (met: boolean, target: string) => `target ${target}: ${met ? "met" : "NOT met"}`;
  if (results.fast) {
    const f = results.fast;
    for (const r of [f.scram, f.fast]) {
      rows.push([
        `${r.name} (${r.concurrency} conc.)`,
        `${r.perSecond}/s`,
        `p50 ${r.p50ms} ms, p99 ${r.p99ms} ms; round trips ${r.xmppRoundTrips} after TLS (${r.totalRoundTrips} with TCP + ${r.tlsProtocol}); ${r.logins} logins in ${r.seconds} s, ${r.errors} errors (${r.failures} <failure/>); server CPU ${r.serverCpuPct}% → ${r.perServerCpuSecond}/server CPU-s; bench CPU ${r.benchCpuPct}%; others ${r.othersCpuPct}%; one client alone: p50 ${r.alone.p50ms} ms, p99 ${r.alone.p99ms} ms, server CPU ${r.alone.serverCpuMsPerLogin} ms/login (${r.alone.logins} logins)`,
      ]);
    }
    const r = f.fastResumed;
    rows.push([
      `${r.name} (${r.concurrency} conc.)`,
      `${r.perSecond}/s`,
      `p50 ${r.p50ms} ms, p99 ${r.p99ms} ms; ${f.tlsResumed} of ${r.logins} measured logins resumed their TLS session (TLS 1.3 resumption still does ECDHE, and saves only the certificate signature); ${r.errors} errors (${r.failures} <failure/>); server CPU ${r.serverCpuPct}% → ${r.perServerCpuSecond}/server CPU-s; bench CPU ${r.benchCpuPct}%; others ${r.othersCpuPct}%`,
    ]);
    rows.push([
      "FAST reconnect (resumed TLS) / full SCRAM login",
      `${f.ratioResumed}×`,
      `${verdict(f.met, "≥ 2×")}; FAST with a full TLS handshake / SCRAM: ${f.ratio}× (per server CPU-s ${f.ratioPerServerCpu}×); ${f.rounds} alternating rounds per path`,
    ]);
  }
  if (results.oauth) {
    const o = results.oauth;
    rows.push([
      `OAuth token endpoint, refresh grant (${o.concurrency} conc.)`,
      `${o.token.perSecond}/s`,
      `p50 ${o.token.p50Ms} ms, p99 ${o.token.p99Ms} ms; ${o.token.requests} requests, ${o.token.errors} errors (each refresh rotates the refresh token in one transaction)`,
    ]);
    rows.push([
      `REST GET /rest/roster with a bearer token (${o.concurrency} conc.)`,
      `${o.rest.perSecond}/s`,
      `p50 ${o.rest.p50Ms} ms, p99 ${o.rest.p99Ms} ms; ${o.rest.requests} requests, ${o.rest.errors} errors`,
    ]);
  }
  if (results.list) {
    const l = results.list;
    rows.push([
      `manage-clients <list/>, ${l.records} clients`,
      `p99 ${l.p99ms} ms`,
      `${verdict(l.met, "p99 < 5 ms")}; median ${l.p50ms} ms, max ${l.maxMs} ms over ${l.requests} sequential requests; ${l.clientsInAnswer} <client/> (${round(l.answerBytes / 1024)} KB) per answer, ${l.wrongAnswers} wrong answers; CPU per request: server ${l.serverCpuMsPerRequest} ms, bench ${l.benchCpuMsPerRequest} ms; others ${l.othersCpuPct}%; records made by ${l.records} SASL2 PLAIN logins in ${l.createSeconds} s (${l.createErrors} failed)`,
    ]);
  }
  if (results.list?.firstWrongAnswer) notes.push(`list: first wrong answer: ${results.list.firstWrongAnswer}`);
  if (results.mam) {
    const m = results.mam;
    rows.push([
      `MAM page of ${m.pageSize}, archive of ${m.messages} messages`,
      `p99 ${m.p99ms} ms`,
      `${verdict(m.met, m.target)}; median ${m.p50ms} ms, max ${m.maxMs} ms over ${m.pages} sequential queries (RSM <after/> at random, 1 in 4 by 'with', 1 in 4 from a 'start' time, 1 in 10 the last page); full sync of a second device: ${m.fullSyncMessages} messages in ${m.fullSyncPages} pages, ${m.fullSyncSeconds} s; filled through the storage API at ${m.fillPerSecond}/s; ${m.wrongAnswers} wrong answers`,
    ]);
    if (m.firstWrongAnswer) notes.push(`mam: first wrong answer: ${m.firstWrongAnswer}`);
  }
  if (results.revoke) {
    const r = results.revoke;
    const answers = Object.entries(r.answers)
      .map(([k, n]) => `${n} ${k}`)
      .join(", ");
    rows.push([
      `revoke → revoked socket closed (${r.revocations} of ${r.victims})`,
      `p99 ${r.closeP99ms} ms`,
      `${verdict(r.met, "p99 < 10 ms")}; median ${r.closeP50ms} ms, max ${r.closeMaxMs} ms; closed after the IQ answer in ${r.closedAfterAnswer}; ${r.notClosed} not closed, ${r.noStreamError} without <stream:error>, ${r.wrongCondition} not <not-authorized/>`,
    ]);
    if (r.firstProblem) notes.push(`revoke: first problem: ${r.firstProblem}`);
    rows.push([
      "revoke → victim has its <stream:error>",
      `p99 ${r.streamErrorP99ms} ms`,
      `median ${r.streamErrorP50ms} ms (the bytes; the socket closes later)`,
    ]);
    rows.push([
      "revoke → IQ answer",
      `p99 ${r.answerP99ms} ms`,
      `median ${r.answerP50ms} ms; answers: ${answers || "none"}; ${r.wrongAnswers} wrong or missing`,
    ]);
  }
  if (results.slowconns) {
    const r = results.slowconns;
    const k = Object.entries(r.kinds)
      .map(
        ([n, v]) =>
          `${n}: ${v.openAtMeasureStart}→${v.openAtMeasureEnd} open, ${v.opened} opened, ${Number.isNaN(v.medianLifetimeS) ? "none dropped during the run" : `median life ${v.medianLifetimeS} s`}`,
      )
      .join("; ");
    for (const t of ["direct", "starttls"] as const) {
      rows.push([
        `login p99 with ${r.slow} slow conns open, ${t === "direct" ? "direct TLS" : "STARTTLS"}`,
        `${r.loaded[t].p99ms} ms`,
        `without them: p99 ${r.baseline[t].p99ms} ms, p50 ${r.baseline[t].p50ms} ms (${r.baseline[t].logins} logins, ${r.baseline[t].errors} errors); with them: p50 ${r.loaded[t].p50ms} ms, max ${r.loaded[t].maxMs} ms (${r.loaded[t].logins} logins, ${r.loaded[t].errors} errors)`,
      ]);
    }
    rows.push([
      "slow conns held (hello / idle / slow-tls)",
      `${r.slow}`,
      `${k}; server RSS ${r.baseline.serverRssMb} → ${r.loaded.serverRssMb} MB, fds ${r.baseline.serverFds} → ${r.loaded.serverFds}; ramp ${r.rampSeconds} s`,
    ]);
  }
  for (const r of results.hostile ?? []) rows.push([`hostile XML: ${r.shape}, ${r.when}`, `${r.cpuMsPerMb} ms CPU/MB`, describeRun(r)]);
  if (results.memory) {
    const { warden, floor, ratio } = results.memory;
    const d = (s: MemorySide) =>
      `${s.connections} conns (${s.errors} failed), RSS ${round(s.rssBeforeKb / 1024)} → ${round(s.rssAfterKb / 1024)} MB, anon ${round(s.anonBeforeKb / 1024)} → ${round(s.anonAfterKb / 1024)} MB; per conn: JS heap ${s.heapUsedPerConnKb} KB used / ${s.heapTotalPerConnKb} KB committed, external ${s.externalPerConnKb} KB; ramp ${s.rampSeconds} s`;
    rows.push(["RSS per idle authenticated conn, Warden", `${warden.perConnKb} KB`, d(warden)]);
    rows.push(["RSS per idle TLS conn, bare Node floor", `${floor.perConnKb} KB`, d(floor)]);
    rows.push(["Warden / floor", `${ratio}×`, ""]);
  }
  console.log(`\n${header}\n${table(rows)}`);
  for (const n of notes) console.log(`note: ${n}`);
  if (firstErrors.length) console.log(`client-side errors (first ${firstErrors.length}):\n  ${firstErrors.join("\n  ")}`);
  if (serverProblems.length) console.log(`server problems:\n  ${serverProblems.join("\n  ")}`);

  const out = resolve(BENCH_DIR, "results");
  mkdirSync(out, { recursive: true });
  const machineAtEnd = { loadAvgAtEnd: os.loadavg().map((x) => round(x, 2)) };
  console.log(`load avg at end: ${machineAtEnd.loadAvgAtEnd.join(" ")} (other processes on this machine compete for the same ${machine.cpus} cores)`);
  const json = {
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: { ...machine, ...machineAtEnd },
    options: { durationS: DURATION_MS / 1000, warmupS: WARMUP_MS / 1000, concurrency: CONCURRENCY, memoryConnections: CONNS, messageWindow: MSG_WINDOW },
    results,
    notes,
    clientErrors: firstErrors,
    serverProblems,
    serverLogLines,
  };
  writeFileSync(join(out, "latest.json"), JSON.stringify(json, null, 2) + "\n");
  console.log(`\nwrote ${join(out, "latest.json")}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    void server?.kill().finally(() => process.exit(1));
  },
);
