// Hostile input: the server CPU time each MB of hostile XML costs (issue 10 §1). An attacker
// gets as much of the server as its input buys; the parser's bounds must make that cheap and
// linear. Three shapes (test/helpers/hostile.ts): deeply nested elements, one very wide element,
// one endless attribute value; each sent two ways:
//   - before TLS: `conns` connections, `batch` at a time, each connecting, sending the stream
//     header and a 300 KB payload in one write (the issue's 100,000 nested <a>), and waiting for
//     the server to close it; the CPU includes accepting and answering the connection;
//   - after login: `batch` logged-in clients (logged in before the measurement) each sending a
//     <message> followed by a 1 MB payload; the CPU is only what the payload costs.
// Server CPU is read from /proc/<pid>/stat around each run; bytes are what the clients wrote.
//
// Standalone: `npm run build && node --import tsx bench/hostile.ts [--conns=N]` starts its own
// server. From bench/run.ts: `await hostileBench({ c2sPort, pid, user, password })`.
import net from "node:net";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { RawClient } from "../test/helpers/raw-client.js";
import { STREAM_HEADER, hostile, type Shape } from "../test/helpers/hostile.js";

export interface HostileBenchOptions {
  c2sPort: number;
  /** The server's process id (its CPU is read from /proc). */
  pid: number;
  user: string;
  password: string;
  host?: string;
  /** Connections per shape before TLS (default 200). */
  conns?: number;
  /** Connections at once (default 20). */
  batch?: number;
}

export interface HostileRun {
  shape: Shape;
  when: "before TLS" | "after login";
  connections: number;
  mbSent: number;
  serverCpuS: number;
  cpuMsPerMb: number;
  seconds: number;
  /** Connections the server ended with <policy-violation/>, of `connections`. */
  policyViolations: number;
}

const SHAPES: Shape[] = ["nested", "wide", "longAttribute"];
const PRE_AUTH_PAYLOAD = 300_000;
const POST_AUTH_PAYLOAD = 1_000_000;
const MB = 1024 * 1024;

const CLK_TCK = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();
function cpuSeconds(pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

/** Sends `data` on a fresh plain-TCP connection and waits for the server to close it. */
function oneShot(host: string, port: number, data: string): Promise<{ bytes: number; policyViolation: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect(port, host);
    let got = "";
    const timer = setTimeout(() => s.destroy(), 15_000);
    s.setEncoding("utf8");
    s.on("data", (d: string) => {
      if (got.length < 4096) got += d;
    });
    s.on("error", () => {});
    s.on("close", () => {
      clearTimeout(timer);
      resolve({ bytes: Buffer.byteLength(data), policyViolation: got.includes("<policy-violation") });
    });
    s.on("connect", () => s.write(data));
  });
}

/** Waits until the server is idle again (its CPU stops moving), so that one run's backlog is not billed to the next. */
async function settle(pid: number, maxMs = 60_000): Promise<void> {
  const end = Date.now() + maxMs;
  for (let prev = cpuSeconds(pid); Date.now() < end;) {
    await new Promise((r) => setTimeout(r, 500));
    const now = cpuSeconds(pid);
    if (now - prev < 0.03) return;
    prev = now;
  }
}

async function measure(
  pid: number,
  shape: Shape,
  when: HostileRun["when"],
  work: () => Promise<Array<{ bytes: number; policyViolation: boolean }>>,
): Promise<HostileRun> {
  await settle(pid);
  const c0 = cpuSeconds(pid),
    t0 = performance.now();
  const results = await work();
  const seconds = (performance.now() - t0) / 1000;
  // The server may still be working through what it read: bill it all to this run.
  await settle(pid);
  const serverCpuS = cpuSeconds(pid) - c0;
  const mbSent = results.reduce((a, r) => a + r.bytes, 0) / MB;
  return {
    shape,
    when,
    connections: results.length,
    mbSent: Math.round(mbSent * 10) / 10,
    serverCpuS: Math.round(serverCpuS * 100) / 100,
    cpuMsPerMb: Math.round(((serverCpuS * 1000) / mbSent) * 10) / 10,
    seconds: Math.round(seconds * 10) / 10,
    policyViolations: results.filter((r) => r.policyViolation).length,
  };
}

export async function hostileBench(o: HostileBenchOptions & { onRun?: (r: HostileRun) => void }): Promise<HostileRun[]> {
  const host = o.host ?? "127.0.0.1",
    conns = o.conns ?? 200,
    batch = o.batch ?? 20;
  const runs: HostileRun[] = [];
  for (const shape of SHAPES) {
    const data = STREAM_HEADER + hostile(shape, PRE_AUTH_PAYLOAD);
    runs.push(
      await measure(o.pid, shape, "before TLS", async () => {
        const out: Array<{ bytes: number; policyViolation: boolean }> = [];
        for (let i = 0; i < conns; i += batch) {
          out.push(...(await Promise.all(Array.from({ length: Math.min(batch, conns - i) }, () => oneShot(host, o.c2sPort, data)))));
        }
        return out;
      }),
    );
    o.onRun?.(runs[runs.length - 1]!);
  }
  for (const shape of SHAPES) {
    // One at a time: logins are not what is measured, and a busy machine times them out in bulk.
    await settle(o.pid);
    const clients: RawClient[] = [];
    for (let i = 0; i < batch; i++) {
      const c = await RawClient.connect(o.c2sPort);
      await c.login(o.user, o.password, `hostile-${shape}-${i}`);
      clients.push(c);
    }
    const payload = `<message to='${o.user}@localhost'>` + hostile(shape, POST_AUTH_PAYLOAD);
    runs.push(
      await measure(o.pid, shape, "after login", async () =>
        Promise.all(
          clients.map(async (c) => {
            c.clear();
            c.send(payload);
            await c.waitClosed(120_000).catch(() => c.close());
            return { bytes: Buffer.byteLength(payload), policyViolation: c.received.includes("<policy-violation") };
          }),
        ),
      ),
    );
    o.onRun?.(runs[runs.length - 1]!);
  }
  return runs;
}

export function describeRun(r: HostileRun): string {
  return `${r.connections} conns, ${r.mbSent} MB sent in ${r.seconds} s; server CPU ${r.serverCpuS} s; ${r.policyViolations} of ${r.connections} ended with <policy-violation/>`;
}

// --- standalone --------------------------------------------------------------------------------

async function main(): Promise<void> {
  const { TestServer } = await import("../test/helpers/server.js");
  const arg = (name: string) => process.argv.find((s) => s.startsWith(`--${name}=`))?.slice(name.length + 3);
  const server = new TestServer({ login_failure_limit: 1_000_000, c2s_max_connections_per_ip: 100_000 });
  await server.start();
  try {
    await server.addUser("hostile", "hostile-password");
    await hostileBench({
      c2sPort: server.c2sPort,
      pid: server.proc!.pid!,
      user: "hostile",
      password: "hostile-password",
      conns: Number(arg("conns") ?? 200),
      onRun: (r) => console.log(`${`${r.shape}, ${r.when}`.padEnd(28)} ${String(r.cpuMsPerMb).padStart(8)} ms CPU/MB   ${describeRun(r)}`),
    });
  } finally {
    await server.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
