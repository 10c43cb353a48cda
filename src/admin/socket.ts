// The admin socket: a Unix socket only the server's user can open (mode 0600 in a 0700
// directory), carrying one JSON request per line from the `warden` command. Each request
// {op, ...args} becomes the bus event "admin/<op>"; its handler's result is the answer.
import net from "node:net";
import { chmodSync, existsSync, mkdirSync, unlinkSync } from "node:fs";
import { dirname } from "node:path";
import type { Server } from "../core/server.js";
import type { AdminRequest } from "../events.js";

export interface AdminReply {
  ok: boolean;
  result?: unknown;
  error?: string;
}

const MAX_REQUEST = 64 * 1024;

export async function startAdminSocket(server: Server, path: string): Promise<() => Promise<void>> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  if (existsSync(path)) {
    // A socket left by a crashed server: remove it, but never steal a live server's socket.
    if (await isLive(path)) throw new Error(`another server is already running (admin socket ${path} answers)`);
    unlinkSync(path);
  }
  const srv = net.createServer((conn) => {
    let buf = "";
    conn.setEncoding("utf8");
    conn.on("error", () => {});
    const onData = async (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_REQUEST) return conn.end(JSON.stringify({ ok: false, error: "request too large" }) + "\n");
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        conn.write(JSON.stringify(await handle(server, line)) + "\n");
      }
    };
    conn.on("data", (chunk: string) => {
      void onData(chunk);
    });
  });
  const oldMask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      srv.once("error", reject);
      srv.listen(path, () => resolve());
    });
  } finally {
    process.umask(oldMask);
  }
  chmodSync(path, 0o600);
  return () =>
    new Promise((resolve) =>
      srv.close(() => {
        try {
          unlinkSync(path);
        } catch {
          /* gone already */
        }
        resolve();
      }),
    );
}

async function handle(server: Server, line: string): Promise<AdminReply> {
  let req: { op?: unknown };
  try {
    req = JSON.parse(line) as { op?: unknown };
  } catch {
    return { ok: false, error: "not JSON" };
  }
  if (typeof req.op !== "string" || !/^[a-z-]+$/.test(req.op)) return { ok: false, error: "missing op" };
  if (!server.bus.has(`admin/${req.op}`)) return { ok: false, error: `unknown op '${req.op}'` };
  const request: AdminRequest = { ...req, op: req.op };
  void server.bus.emit("admin-command", request);
  try {
    const result = await server.bus.fire(`admin/${req.op}`, request);
    return { ok: true, result };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

function isLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(path, () => {
      c.destroy();
      resolve(true);
    });
    c.on("error", () => resolve(false));
  });
}
