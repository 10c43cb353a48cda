// `slowconns`: how long a legitimate login takes while 2,000 slow connections are held open
// against the server, next to the same logins with none (issue 10, "Slow TLS handshake").
//
// The slow connections, a third of each kind, all from 127.0.0.1 (the bench server's per-IP
// limit is raised), each replaced as soon as the server drops it, as an attacker would:
//   - hello: TCP to the direct TLS port, then a real ClientHello one byte every 5 s (dropped at
//     c2s_tls_handshake_timeout, 10 s by default);
//   - idle: TCP to the STARTTLS port, then nothing (dropped at c2s_timeout, 60 s);
//   - slow-tls: direct TLS, a stream header, then a space every 5 s and never a login (dropped
//     at c2s_timeout).
// The legitimate client logs in back to back, one login at a time, alternating direct TLS and
// STARTTLS (full SCRAM-SHA-256 login and bind, `load/xmpp-client.ts`): first with no slow
// connections, then with them all open.
import net from "node:net";
import tls from "node:tls";
import { readdirSync, readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { Conn, type Account, type Target } from "./load/xmpp-client.js";

export interface SlowConnsOptions {
  direct: Target;
  starttls: Target;
  account: Account;
  serverPid: number;
  /** Slow connections to hold (default 2000). */
  slow?: number;
  /** Measured milliseconds of logins per condition (default 8000). */
  durationMs?: number;
}

export interface LoginStats {
  logins: number;
  errors: number;
  p50ms: number;
  p99ms: number;
  maxMs: number;
}
export interface Condition {
  direct: LoginStats;
  starttls: LoginStats;
  serverRssMb: number;
  serverFds: number;
}
export interface SlowKindStats {
  opened: number;
  openAtMeasureStart: number;
  openAtMeasureEnd: number;
  medianLifetimeS: number;
}
export interface SlowConnsResult {
  slow: number;
  baseline: Condition;
  loaded: Condition;
  kinds: Record<SlowKind, SlowKindStats>;
  rampSeconds: number;
}

type SlowKind = "hello" | "idle" | "slow-tls";
const KINDS: SlowKind[] = ["hello", "idle", "slow-tls"];
const DRIBBLE_MS = 5000;
const HEADER = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>";

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
function percentile(sorted: number[], q: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : NaN;
}

function serverRssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return round(Number(m?.[1] ?? NaN) / 1024);
}
function serverFds(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return NaN;
  }
}

/** A real TLS client's first flight, caught by a local TCP server. */
async function clientHello(): Promise<Buffer> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const got = new Promise<Buffer>((res) =>
    srv.once("connection", (s) =>
      s.once("data", (d: Buffer) => {
        res(d);
        s.destroy();
      }),
    ),
  );
  const c = tls.connect({
    port: (srv.address() as net.AddressInfo).port,
    host: "127.0.0.1",
    servername: "localhost",
    rejectUnauthorized: false,
    ALPNProtocols: ["xmpp-client"],
  });
  c.on("error", () => {});
  const hello = await got;
  c.destroy();
  srv.close();
  return hello;
}

/** Logins one after another for `ms`, alternating direct TLS and STARTTLS. */
async function logins(o: SlowConnsOptions, ms: number): Promise<Condition> {
  const lat = { direct: [] as number[], starttls: [] as number[] };
  const errors = { direct: 0, starttls: 0 };
  const end = performance.now() + ms;
  let n = 0;
  let rss = 0,
    fds = 0;
  while (performance.now() < end) {
    const kind = n++ % 2 === 0 ? "direct" : "starttls";
    const s = performance.now();
    try {
      const c = await Conn.login(kind === "direct" ? o.direct : o.starttls, o.account, `slowconns${n}`);
      lat[kind].push(performance.now() - s);
      await c.closeAndWait();
    } catch {
      errors[kind]++;
      await sleep(50);
    }
    rss = Math.max(rss, serverRssMb(o.serverPid));
    fds = Math.max(fds, serverFds(o.serverPid));
  }
  const stats = (l: number[], e: number): LoginStats => {
    l.sort((a, b) => a - b);
    return { logins: l.length, errors: e, p50ms: round(percentile(l, 0.5)), p99ms: round(percentile(l, 0.99)), maxMs: round(l[l.length - 1] ?? NaN) };
  };
  return { direct: stats(lat.direct, errors.direct), starttls: stats(lat.starttls, errors.starttls), serverRssMb: rss, serverFds: fds };
}

/** Holds `n` slow connections of one kind, replacing each as soon as it is dropped. */
class SlowPool {
  readonly open = new Set<net.Socket>();
  opened = 0;
  readonly lifetimes: number[] = [];
  private running = true;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly kind: SlowKind,
    private readonly o: SlowConnsOptions,
    private readonly hello: Buffer,
  ) {}

  /** Opens one; resolves once it is connected (or failed). */
  openOne(): Promise<void> {
    if (!this.running) return Promise.resolve();
    this.opened++;
    const t0 = performance.now();
    let s: net.Socket;
    let ready: Promise<void>;
    if (this.kind === "slow-tls") {
      const t = tls.connect({
        host: this.o.direct.host,
        port: this.o.direct.port,
        servername: "localhost",
        rejectUnauthorized: false,
        ALPNProtocols: ["xmpp-client"],
      });
      s = t;
      ready = new Promise((res) => {
        t.once("secureConnect", () => {
          t.write(HEADER);
          res();
        });
        t.once("close", () => res());
      });
      t.on("data", () => {}); // read what the server says (header, features): it is no slow reader
    } else {
      s = net.connect({ host: this.o.direct.host, port: this.kind === "hello" ? this.o.direct.port : this.o.starttls.port });
      ready = new Promise((res) => {
        s.once("connect", () => res());
        s.once("close", () => res());
      });
      s.on("data", () => {});
    }
    s.on("error", () => {});
    this.open.add(s);
    let i = 0;
    const timer =
      this.kind === "idle"
        ? undefined
        : setInterval(() => {
            if (this.kind === "hello") {
              if (i < this.hello.length) s.write(this.hello.subarray(i, ++i));
            } else s.write(" ");
          }, DRIBBLE_MS);
    if (timer) this.timers.add(timer);
    s.once("close", () => {
      if (timer) {
        clearInterval(timer);
        this.timers.delete(timer);
      }
      this.open.delete(s);
      if (!this.running) return;
      this.lifetimes.push((performance.now() - t0) / 1000);
      // The attacker comes straight back.
      const again = setTimeout(() => {
        this.timers.delete(again);
        void this.openOne();
      }, 50);
      this.timers.add(again);
    });
    return ready;
  }

  stop(): void {
    this.running = false;
    for (const t of this.timers) {
      clearInterval(t);
      clearTimeout(t);
    }
    for (const s of this.open) s.destroy();
  }
}

export async function slowConnsBench(o: SlowConnsOptions): Promise<SlowConnsResult> {
  const slow = o.slow ?? 2000;
  const durationMs = o.durationMs ?? 8000;
  const hello = await clientHello();
  // A few logins to warm up, then the baseline.
  await logins(o, 1000);
  const baseline = await logins(o, durationMs);

  const pools = Object.fromEntries(KINDS.map((k) => [k, new SlowPool(k, o, hello)])) as Record<SlowKind, SlowPool>;
  const t0 = performance.now();
  try {
    // 100 at a time (all three kinds), so that the listen backlog is not what is measured.
    for (let i = 0; i < slow; i += 100) {
      await Promise.all(Array.from({ length: Math.min(100, slow - i) }, (_, j) => pools[KINDS[(i + j) % 3]!].openOne()));
    }
    const rampSeconds = round((performance.now() - t0) / 1000);
    await sleep(1000);
    const atStart = Object.fromEntries(KINDS.map((k) => [k, pools[k].open.size]));
    const loaded = await logins(o, durationMs);
    const kinds = Object.fromEntries(
      KINDS.map((k) => {
        const l = [...pools[k].lifetimes].sort((a, b) => a - b);
        return [
          k,
          { opened: pools[k].opened, openAtMeasureStart: atStart[k]!, openAtMeasureEnd: pools[k].open.size, medianLifetimeS: round(percentile(l, 0.5)) },
        ];
      }),
    ) as Record<SlowKind, SlowKindStats>;
    return { slow, baseline, loaded, kinds, rampSeconds };
  } finally {
    for (const p of Object.values(pools)) p.stop();
    await sleep(1000);
  }
}
