// OAuth 2.0 throughput: token endpoint requests per second (refresh grant: client
// authentication, rotation with reuse detection, two new tokens: the endpoint's heaviest path
// that an app hits routinely) and REST requests per second with a bearer token
// (GET /rest/roster: token lookup, grant and account checks, a roster read).
//
// Standalone: `npm run build && node --import tsx bench/oauth.ts [--duration=S] [--concurrency=N]`
// starts its own server. From bench/run.ts: `await oauthBench({ httpPort, username, password })`
// against a server started with `oauth2_rate_limit` raised (the default, 60 a minute per IP,
// would stop the token phase at once).
import http from "node:http";
import { createHash, randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";

export interface OAuthBenchOptions {
  httpPort: number;
  username: string;
  password: string;
  host?: string;
  /** Measured milliseconds per phase (default 8000), after warmupMs (default 1500). */
  durationMs?: number;
  warmupMs?: number;
  /** Concurrent clients, each with its own grant (default 20). */
  concurrency?: number;
}

export interface PhaseResult {
  requests: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}
export interface OAuthBenchResult {
  concurrency: number;
  token: PhaseResult;
  rest: PhaseResult;
}

const REDIRECT = "https://bench.example.org/cb";

class HttpClient {
  private readonly agent: http.Agent;
  constructor(
    private readonly host: string,
    private readonly port: number,
    sockets: number,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
  }

  request(
    method: string,
    path: string,
    headers: Record<string, string> = {},
    body?: string,
  ): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: this.host,
          port: this.port,
          method,
          path,
          agent: this.agent,
          headers: body === undefined ? headers : { ...headers, "content-length": Buffer.byteLength(body) },
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (d: string) => {
            text += d;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function hiddenFields(html: string): URLSearchParams {
  const out = new URLSearchParams();
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g))
    out.append(m[1]!, m[2]!.replace(/&amp;/g, "&").replace(/&quot;/g, '"'));
  return out;
}

const FORM = { "content-type": "application/x-www-form-urlencoded" };

/** Registers a confidential client with refresh tokens; returns its credentials. */
async function registerClient(c: HttpClient): Promise<{ id: string; secret: string }> {
  const r = await c.request(
    "POST",
    "/oauth2/register",
    { "content-type": "application/json" },
    JSON.stringify({
      client_name: "Warden bench",
      client_uri: "https://bench.example.org/",
      redirect_uris: [REDIRECT],
      grant_types: ["authorization_code", "refresh_token"],
      scope: "xmpp offline_access",
    }),
  );
  if (r.status !== 201) throw new Error(`registration failed: ${r.status} ${r.text}`);
  const j = JSON.parse(r.text) as { client_id: string; client_secret: string };
  return { id: j.client_id, secret: j.client_secret };
}

/** One authorization through the login and consent forms; returns the tokens. */
async function authorize(c: HttpClient, client: { id: string; secret: string }, user: string, password: string): Promise<{ access: string; refresh: string }> {
  const verifier = randomBytes(32).toString("base64url");
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  const q = new URLSearchParams({
    client_id: client.id,
    redirect_uri: REDIRECT,
    response_type: "code",
    scope: "xmpp offline_access",
    state: "s",
    code_challenge: challenge,
    code_challenge_method: "S256",
  });
  const loginPage = await c.request("GET", `/oauth2/authorize?${q}`);
  const cookie = String(loginPage.headers["set-cookie"]?.[0] ?? "").split(";")[0]!;
  const login = hiddenFields(loginPage.text);
  login.set("username", user);
  login.set("password", password);
  login.set("action", "login");
  const consentPage = await c.request("POST", "/oauth2/authorize", { ...FORM, cookie }, login.toString());
  if (consentPage.status !== 200) throw new Error(`login failed: ${consentPage.status}`);
  const consent = hiddenFields(consentPage.text);
  consent.append("scope", "xmpp");
  consent.append("scope", "offline_access");
  consent.set("decision", "allow");
  const back = await c.request("POST", "/oauth2/authorize", { ...FORM, cookie }, consent.toString());
  const code = new URL(String(back.headers.location)).searchParams.get("code");
  if (!code) throw new Error(`no code: ${back.status} ${back.headers.location}`);
  const t = await c.request(
    "POST",
    "/oauth2/token",
    { ...FORM, authorization: basic(client) },
    new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: REDIRECT, code_verifier: verifier }).toString(),
  );
  if (t.status !== 200) throw new Error(`code exchange failed: ${t.status} ${t.text}`);
  const j = JSON.parse(t.text) as { access_token: string; refresh_token: string };
  return { access: j.access_token, refresh: j.refresh_token };
}

function basic(client: { id: string; secret: string }): string {
  return "Basic " + Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString("base64");
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Runs `once` in `n` loops: warm-up, then a measured window. */
async function phase(n: number, warmupMs: number, durationMs: number, once: (i: number) => Promise<boolean>): Promise<PhaseResult> {
  let measuring = false;
  let stop = false;
  const latencies: number[] = [];
  let errors = 0;
  const loops = Array.from({ length: n }, async (_, i) => {
    while (!stop) {
      const t0 = performance.now();
      const ok = await once(i).catch(() => false);
      if (measuring) {
        if (ok) latencies.push(performance.now() - t0);
        else errors++;
      }
    }
  });
  await sleep(warmupMs);
  measuring = true;
  const started = performance.now();
  await sleep(durationMs);
  measuring = false;
  const elapsed = performance.now() - started;
  stop = true;
  await Promise.all(loops);
  latencies.sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 100) / 100;
  return {
    requests: latencies.length,
    perSecond: Math.round(latencies.length / (elapsed / 1000)),
    p50Ms: round(percentile(latencies, 50)),
    p99Ms: round(percentile(latencies, 99)),
    errors,
  };
}

export async function oauthBench(opts: OAuthBenchOptions): Promise<OAuthBenchResult> {
  const n = opts.concurrency ?? 20;
  const warmup = opts.warmupMs ?? 1500;
  const duration = opts.durationMs ?? 8000;
  const c = new HttpClient(opts.host ?? "127.0.0.1", opts.httpPort, n);
  try {
    const client = await registerClient(c);
    const grants: Array<{ access: string; refresh: string }> = [];
    for (let i = 0; i < n; i++) grants.push(await authorize(c, client, opts.username, opts.password));
    const auth = basic(client);

    // Each client refreshes in a chain: every response carries the next refresh token.
    const token = await phase(n, warmup, duration, async (i) => {
      const g = grants[i]!;
      const r = await c.request(
        "POST",
        "/oauth2/token",
        { ...FORM, authorization: auth },
        `grant_type=refresh_token&refresh_token=${encodeURIComponent(g.refresh)}`,
      );
      if (r.status !== 200) return false;
      const j = JSON.parse(r.text) as { access_token: string; refresh_token: string };
      g.access = j.access_token;
      g.refresh = j.refresh_token;
      return true;
    });

    const rest = await phase(n, warmup, duration, async (i) => {
      const r = await c.request("GET", "/rest/roster", { authorization: `Bearer ${grants[i]!.access}` });
      return r.status === 200;
    });
    return { concurrency: n, token, rest };
  } finally {
    c.close();
  }
}

// --- standalone --------------------------------------------------------------------------------

async function main(): Promise<void> {
  const { TestServer } = await import("../test/helpers/server.js");
  const arg = (name: string) => process.argv.find((s) => s.startsWith(`--${name}=`))?.slice(name.length + 3);
  const server = new TestServer({ oauth2_rate_limit: 1_000_000_000, login_failure_limit: 1_000_000 });
  await server.start();
  try {
    await server.addUser("bench", "bench-password");
    const r = await oauthBench({
      httpPort: server.httpPort,
      username: "bench",
      password: "bench-password",
      durationMs: Number(arg("duration") ?? 8) * 1000,
      concurrency: Number(arg("concurrency") ?? 20),
    });
    const line = (name: string, p: PhaseResult) =>
      `${name.padEnd(34)} ${String(p.perSecond).padStart(7)} req/s   p50 ${p.p50Ms} ms   p99 ${p.p99Ms} ms   errors ${p.errors}`;
    console.log(`OAuth, ${r.concurrency} concurrent clients on 127.0.0.1 (plain HTTP, keep-alive)`);
    console.log(line("token endpoint (refresh grant)", r.token));
    console.log(line("REST GET /rest/roster (bearer)", r.rest));
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
