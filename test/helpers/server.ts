// Starts the real server as a child process (the built `warden` command) on free ports, with
// its own data directory, for tests that talk to it over sockets.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { once } from "node:events";
import YAML from "yaml";

export const ROOT = resolve(import.meta.dirname, "../..");
export const CLI = join(ROOT, "dist/cli/main.js");

// Every data directory a test made is removed when the test process ends.
// So are the servers it started, should a test end without stopping them.
const made: string[] = [];
const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const p of running) if (p.exitCode === null) p.kill("SIGKILL");
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class TestServer {
  proc: ChildProcess | undefined;
  c2sPort = 0;
  tlsPort = 0;
  /** HTTP service ports (src/http/server.ts): plain and TLS. */
  httpPort = 0;
  httpsPort = 0;
  logs: Array<Record<string, unknown>> = [];
  /** Every line the server wrote to stdout, as written (the log tests read them raw). */
  lines: string[] = [];
  readonly dataDir: string;
  readonly configPath: string;
  /** The server's domain: "localhost" unless the settings name another (federation tests run several). */
  readonly domain: string;
  private settings: Record<string, unknown>;

  constructor(settings: Record<string, unknown> = {}) {
    this.dataDir = mkdtempSync(join(tmpdir(), "warden-test-"));
    made.push(this.dataDir);
    this.configPath = join(this.dataDir, "warden.yaml");
    this.settings = {
      domain: "localhost",
      data_path: join(this.dataDir, "data"),
      c2s_interfaces: ["127.0.0.1"],
      c2s_ports: [0],
      c2s_direct_tls_ports: [0],
      http_interfaces: ["127.0.0.1"],
      https_interfaces: ["127.0.0.1"],
      http_ports: [0],
      https_ports: [0],
      log_level: "info",
      login_failure_limit: 50,
      // Test accounts have short passwords; the password policy's own tests set the default back.
      password_min_length: 1,
      ...settings,
    };
    this.domain = String(this.settings.domain);
    this.writeConfig();
  }

  get caCert(): string {
    return readFileSync(join(this.dataDir, `data/certs/${this.domain}.crt`), "utf8");
  }

  private writeConfig(): void {
    writeFileSync(this.configPath, YAML.stringify(this.settings));
  }

  /** Changes settings; they take effect at the next start. */
  configure(settings: Record<string, unknown>): void {
    Object.assign(this.settings, settings);
    this.writeConfig();
  }

  async start(): Promise<this> {
    const proc = spawn(process.execPath, [CLI, "start", "--config", this.configPath], { stdio: ["ignore", "pipe", "pipe"] });
    this.proc = proc;
    running.add(proc);
    proc.once("exit", () => running.delete(proc));
    let stderr = "";
    proc.stderr.on("data", (d) => {
      stderr += d;
    });
    let buf = "";
    const ready = new Promise<void>((resolveReady, reject) => {
      proc.stdout.on("data", (d: Buffer) => {
        buf += d.toString();
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          this.lines.push(line);
          let rec: Record<string, unknown>;
          try {
            rec = JSON.parse(line) as Record<string, unknown>;
          } catch {
            continue;
          }
          this.logs.push(rec);
          if (rec.msg === "c2s listening") {
            if (rec.tls === "direct") this.tlsPort = rec.port as number;
            else this.c2sPort = rec.port as number;
          }
          if (rec.msg === "http listening") {
            if (rec.tls === "tls") this.httpsPort = rec.port as number;
            else this.httpPort = rec.port as number;
          }
          if (rec.msg === "Warden is ready") resolveReady();
        }
      });
      proc.once("exit", (code) => reject(new Error(`server exited with ${code} before it was ready: ${stderr}`)));
    });
    const timeout = setTimeout(() => proc.kill("SIGKILL"), 20_000);
    try {
      await ready;
    } finally {
      clearTimeout(timeout);
    }
    // Keep the same ports across restarts.
    this.configure({ c2s_ports: [this.c2sPort], c2s_direct_tls_ports: [this.tlsPort] });
    if (this.httpPort) this.configure({ http_ports: [this.httpPort] });
    if (this.httpsPort) this.configure({ https_ports: [this.httpsPort] });
    return this;
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    p.kill("SIGTERM");
    const t = setTimeout(() => p.kill("SIGKILL"), 5000);
    await once(p, "exit");
    clearTimeout(t);
  }

  /** kill -9: no chance to clean up. */
  async kill(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    p.kill("SIGKILL");
    await once(p, "exit");
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** Runs the `warden` command against this server's config. */
  cli(args: string[], stdin?: string): Promise<CliResult> {
    return runCli([...args, "--config", this.configPath], stdin);
  }

  async addUser(name: string, password: string): Promise<void> {
    const r = await this.cli(["user", "add", name], password + "\n");
    if (r.code !== 0) throw new Error(`user add ${name} failed: ${r.stderr}`);
  }
}

export function runCli(args: string[], stdin?: string, env: NodeJS.ProcessEnv = process.env): Promise<CliResult> {
  return new Promise((res) => {
    const p = spawn(process.execPath, [CLI, ...args], { stdio: ["pipe", "pipe", "pipe"], env });
    let stdout = "",
      stderr = "";
    p.stdout.on("data", (d) => {
      stdout += d;
    });
    p.stderr.on("data", (d) => {
      stderr += d;
    });
    p.on("exit", (code) => res({ code: code ?? -1, stdout, stderr }));
    p.stdin.end(stdin ?? "");
  });
}

export async function startServer(settings: Record<string, unknown> = {}): Promise<TestServer> {
  return new TestServer(settings).start();
}
