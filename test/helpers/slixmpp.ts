// Runs one of the slixmpp scripts in test/interop/slixmpp/ (Debian's python3-slixmpp, with
// /usr/bin/python3). A script prints JSON lines on stdout: events as they happen, and last
// {"result": …}; slixmpp's own log (with SLIX_DEBUG, the raw XML) goes to stderr, for failure
// messages. The script keeps its own deadline; the guard here only ends a hung interpreter.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "./server.js";

export const PYTHON = "/usr/bin/python3";
export const SLIXMPP_SCRIPTS = join(ROOT, "test/interop/slixmpp");

export interface SlixmppRun<R> {
  code: number | null;
  events: Array<Record<string, unknown>>;
  result: R | undefined;
  stderr: string;
}

export interface SlixmppOptions {
  /** Called with each event line as it arrives (a test may act on it while the script runs). */
  onEvent?: (ev: Record<string, unknown>) => void;
  /** Kill the interpreter after this long (default 90 s): a hang guard, not a test deadline. */
  guardMs?: number;
  /** Leave slixmpp's raw XML log off (SLIX_DEBUG unset). */
  quiet?: boolean;
}

/** Runs `script` with `env` added to the environment; resolves when it exits. */
export function runSlixmpp<R>(script: string, env: Record<string, string>, opts: SlixmppOptions = {}): Promise<SlixmppRun<R>> {
  return new Promise((resolve, reject) => {
    const p = spawn(PYTHON, [join(SLIXMPP_SCRIPTS, script)], {
      env: { ...process.env, PYTHONUNBUFFERED: "1", PYTHONDONTWRITEBYTECODE: "1", ...(opts.quiet ? {} : { SLIX_DEBUG: "1" }), ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const run: SlixmppRun<R> = { code: null, events: [], result: undefined, stderr: "" };
    let buf = "";
    p.stdout.setEncoding("utf8");
    p.stdout.on("data", (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        let obj: Record<string, unknown>;
        try {
          obj = JSON.parse(line) as Record<string, unknown>;
        } catch {
          continue;
        }
        if ("result" in obj) run.result = obj.result as R;
        else {
          run.events.push(obj);
          opts.onEvent?.(obj);
        }
      }
    });
    p.stderr.setEncoding("utf8");
    p.stderr.on("data", (d: string) => {
      run.stderr += d;
    });
    const guard = setTimeout(() => p.kill("SIGKILL"), opts.guardMs ?? 90_000);
    p.on("error", (err) => {
      clearTimeout(guard);
      reject(err);
    });
    p.on("exit", (code) => {
      clearTimeout(guard);
      run.code = code;
      resolve(run);
    });
  });
}
