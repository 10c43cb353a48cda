// The `warden` command's side of the admin socket.
import net from "node:net";
import type { AdminReply } from "./socket.js";

/** Sends one request; resolves undefined when no server is listening. */
export function adminRequest(path: string, req: Record<string, unknown>, timeoutMs = 10_000): Promise<AdminReply | undefined> {
  return new Promise((resolve, reject) => {
    const conn = net.connect(path);
    let buf = "";
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new Error("the server did not answer on the admin socket"));
    }, timeoutMs);
    conn.setEncoding("utf8");
    conn.on("connect", () => conn.write(JSON.stringify(req) + "\n"));
    conn.on("data", (d: string) => {
      buf += d;
      const nl = buf.indexOf("\n");
      if (nl >= 0) {
        clearTimeout(timer);
        conn.end();
        try {
          resolve(JSON.parse(buf.slice(0, nl)) as AdminReply);
        } catch {
          reject(new Error("garbled answer on the admin socket"));
        }
      }
    });
    conn.on("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code === "ENOENT" || err.code === "ECONNREFUSED") resolve(undefined);
      else reject(err);
    });
  });
}
