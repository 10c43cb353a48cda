// `npm run fuzz`: a long fuzzing campaign against the stream parser (in-process, in a worker
// thread, watched for hangs) and against the stanza handlers of a real server after login
// (test/fuzz/stanzas.ts), side by side. Prints inputs/s, crashes and hangs as it goes and a
// summary at the end; findings (with the seed and input that shows each) go to
// test-artifacts/fuzz/findings-<time>.json. Every finding belongs in
// test/security/fuzz-corpus.json once understood (test/security/fuzz.test.ts replays it).
//
// Options (after `--`): --minutes=M (default 10) --seed=N --parser-only --server-only
//                       --lanes=N (server clients, default 3) --hang-ms=MS (default 5000)
import { fork } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ROOT, TestServer } from "../helpers/server.js";

function opt(name: string): string | undefined {
  const a = process.argv.find((s) => s.startsWith(`--${name}=`));
  return a?.slice(name.length + 3);
}
const flag = (name: string) => process.argv.includes(`--${name}`);

interface ParserReport {
  runs: number;
  finding?: { message: string; seed: number; path?: string; counterexample?: unknown };
}

if (process.argv[2] === "--parser-worker") {
  // The worker (a child process, so that a hang can be killed): fuzz the parser for the given
  // time, reporting progress so the parent can tell a hang (no progress) from slow work.
  const { fuzzParser } = await import("./parser.js");
  const ms = Number(process.argv[3]),
    seed = Number(process.argv[4]);
  const post = (m: unknown) => new Promise<void>((resolve) => process.send!(m, () => resolve()));
  let s = seed;
  let total = 0;
  const end = Date.now() + ms;
  // Slices of at most a minute, each with its own seed: a finding names the seed to replay, and
  // the campaign goes on with the next seed.
  while (Date.now() < end) {
    const r = fuzzParser({ ms: Math.min(60_000, end - Date.now()), seed: s, onProgress: (n) => void post({ type: "progress", runs: total + n, seed: s }) });
    total += r.runs;
    if (r.finding) await post({ type: "finding", finding: r.finding });
    await post({ type: "progress", runs: total, seed: s });
    s++;
  }
  await post({ type: "done", report: { runs: total } satisfies ParserReport });
  process.exit(0);
}

const minutes = Number(opt("minutes") ?? 10);
const ms = minutes * 60_000;
const seed = Number(opt("seed") ?? Date.now() & 0x7fffffff);
const hangMs = Number(opt("hang-ms") ?? 5000);
const started = Date.now();
const findings: unknown[] = [];
const line = (s: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(5)} s] ${s}`);

console.log(`fuzz campaign: ${minutes} min, seed ${seed}${flag("parser-only") ? ", parser only" : flag("server-only") ? ", server only" : ""}`);

async function parserCampaign(): Promise<{ runs: number; perSecond: number; crashes: number; hangs: number }> {
  const t0 = Date.now();
  const w = fork(fileURLToPath(import.meta.url), ["--parser-worker", String(ms), String(seed)], { execArgv: ["--import", "tsx"] });
  let runs = 0,
    lastSeed = seed,
    lastProgress = Date.now(),
    lastPrint = 0,
    crashes = 0,
    hangs = 0;
  const done = new Promise<void>((resolve) => {
    w.on("message", (m: { type: string; runs: number; seed: number; report?: ParserReport; finding?: NonNullable<ParserReport["finding"]> }) => {
      if (m.type === "progress") {
        runs = m.runs;
        lastSeed = m.seed;
        lastProgress = Date.now();
      }
      if (m.type === "finding") {
        if (m.finding!.message.startsWith("slow")) hangs++;
        else crashes++;
        findings.push({ target: "parser", ...m.finding });
        line(`parser FINDING (seed ${m.finding!.seed}): ${m.finding!.message.slice(0, 500)}`);
      }
      if (m.type === "done") {
        runs = m.report!.runs;
        resolve();
      }
      if (Date.now() - lastPrint > 15_000) {
        lastPrint = Date.now();
        line(`parser: ${runs.toLocaleString("en")} inputs, ${Math.round(runs / ((Date.now() - t0) / 1000)).toLocaleString("en")}/s`);
      }
    });
    w.on("exit", (code, signal) => {
      if (code !== 0 && signal !== "SIGKILL") {
        crashes++;
        findings.push({ target: "parser", message: `the worker died (${code ?? signal})`, seed: lastSeed });
        line(`parser FINDING: the worker died (${code ?? signal}) near seed ${lastSeed}`);
      }
      resolve();
    });
  });
  // A hang: no progress report for a long while (reports come every 4,096 inputs).
  const watchdog = setInterval(() => {
    if (Date.now() - lastProgress > 60_000) {
      hangs++;
      findings.push({ target: "parser", message: `hang: no progress for 60 s after ${runs} inputs`, seed: lastSeed });
      line(`parser FINDING: hang after ${runs} inputs (seed ${lastSeed})`);
      w.kill("SIGKILL");
    }
  }, 5000);
  await done;
  clearInterval(watchdog);
  const secs = (Date.now() - t0) / 1000;
  return { runs, perSecond: Math.round(runs / secs), crashes, hangs };
}

async function serverCampaign(): Promise<{
  inputs: number;
  perSecond: number;
  crashes: number;
  hangs: number;
  reconnects: number;
  streamErrors: Record<string, number>;
}> {
  const { fuzzStanzas, FUZZ_USERS, fuzzPassword } = await import("./stanzas.js");
  const server = new TestServer({ login_failure_limit: 1_000_000, offline_message_limit: 100 });
  for (const u of FUZZ_USERS) {
    const r = await server.cli(["user", "add", u], fuzzPassword(u) + "\n");
    if (r.code !== 0) throw new Error(`user add ${u}: ${r.stderr}`);
  }
  await server.start();
  line(`server: pid ${server.proc!.pid}, c2s port ${server.c2sPort}`);
  try {
    const r = await fuzzStanzas(server, {
      ms,
      lanes: Number(opt("lanes") ?? 3),
      hangMs,
      seed,
      onProgress: (p) => line(`server: ${p.inputs.toLocaleString("en")} stanzas, ${Math.round(p.inputs / p.seconds)}/s, ${p.reconnects} reconnects`),
    });
    for (const f of r.findings) {
      findings.push({ target: "server", ...f });
      line(`server FINDING (${f.kind}): ${f.detail.slice(0, 500)}`);
    }
    const crashes = r.findings.filter((f) => f.kind !== "hang").length,
      hangs = r.findings.length - crashes;
    return { inputs: r.inputs, perSecond: Math.round(r.inputs / r.seconds), crashes, hangs, reconnects: r.reconnects, streamErrors: r.streamErrors };
  } finally {
    await server.stop();
  }
}

const [parser, server] = await Promise.all([flag("server-only") ? undefined : parserCampaign(), flag("parser-only") ? undefined : serverCampaign()]);
console.log("\nfuzz campaign summary");
if (parser)
  console.log(
    `  stream parser (in-process): ${parser.runs.toLocaleString("en")} inputs, ${parser.perSecond.toLocaleString("en")}/s, ${parser.crashes} crashes, ${parser.hangs} hangs`,
  );
if (server)
  console.log(
    `  stanza handlers after login (real server): ${server.inputs.toLocaleString("en")} stanzas, ${server.perSecond}/s, ${server.crashes} crashes, ${server.hangs} hangs; ${server.reconnects} reconnects; stream errors: ${JSON.stringify(server.streamErrors)}`,
  );
if (findings.length) {
  const dir = join(ROOT, "test-artifacts/fuzz");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `findings-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, JSON.stringify(findings, null, 2) + "\n");
  console.log(`  ${findings.length} finding(s) written to ${file}`);
  process.exit(1);
}
process.exit(0);
