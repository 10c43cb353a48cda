// StanzaJS 12 (the `stanza` package), an independent XMPP client for browsers and Node, for
// interop tests over WebSocket: it picks the strongest SASL mechanism offered by its own
// priorities, which is how Warden's -PLUS over WebSocket broke it (issue 10 §3). Also a TLS-ending
// reverse proxy for WebSocket, to put a real proxy hop between a client and the plain HTTP port.
import https from "node:https";
import net from "node:net";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as XMPP from "stanza";
import type { TestServer } from "./server.js";

process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0"; // the test server's certificate is self-signed

/** The mechanism StanzaJS would choose from this list (its own SASL factory), or undefined. */
export function stanzaPick(offered: string[]): string | undefined {
  const client = XMPP.createClient({});
  return (client.sasl.createMechanism(offered) as { name?: string } | null)?.name;
}

export interface StanzaLogin {
  jid: string;
  outgoing: string[];
  incoming: string[];
}

/** Logs in with StanzaJS over WebSocket and disconnects; rejects on an auth failure, a close or after `timeoutMs`. */
export function stanzaLogin(url: string, jid: string, password: string, timeoutMs = 15_000): Promise<StanzaLogin> {
  const client = XMPP.createClient({ jid, password, transports: { websocket: url, bosh: false }, allowResumption: false });
  const outgoing: string[] = [];
  const incoming: string[] = [];
  client.on("raw:outgoing", (d: string) => outgoing.push(d));
  client.on("raw:incoming", (d: string) => incoming.push(d));
  return new Promise<StanzaLogin>((resolve, reject) => {
    const wire = () => `\nsent:\n${outgoing.join("\n")}\nreceived:\n${incoming.join("\n")}`;
    const timer = setTimeout(() => {
      client.disconnect();
      reject(new Error(`StanzaJS: no session within ${timeoutMs} ms${wire()}`));
    }, timeoutMs);
    let started = false;
    client.on("auth:failed", () => {
      clearTimeout(timer);
      client.disconnect();
      reject(new Error(`StanzaJS: authentication failed${wire()}`));
    });
    client.on("session:started", () => {
      started = true;
      clearTimeout(timer);
      const bound = client.jid;
      client.on("disconnected", () => resolve({ jid: bound, outgoing, incoming }));
      client.disconnect();
    });
    client.on("disconnected", () => {
      if (!started) {
        clearTimeout(timer);
        reject(new Error(`StanzaJS: disconnected before the session started${wire()}`));
      }
    });
    client.connect();
  });
}

/**
 * A reverse proxy that ends TLS (with the test server's own certificate) and forwards WebSocket
 * upgrades to the server's plain HTTP port, adding `headers` (X-Forwarded-For/-Proto) as nginx
 * would be configured to.
 */
export async function tlsWebSocketProxy(server: TestServer, headers: Record<string, string>): Promise<{ port: number; close(): Promise<void> }> {
  const certs = join(server.dataDir, "data/certs");
  const proxy = https.createServer({ cert: readFileSync(join(certs, "localhost.crt")), key: readFileSync(join(certs, "localhost.key")) });
  const sockets = new Set<net.Socket>();
  proxy.on("upgrade", (req, socket: net.Socket, head: Buffer) => {
    const up = net.connect(server.httpPort, "127.0.0.1", () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        if (!/^x-forwarded-/i.test(req.rawHeaders[i]!)) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      }
      for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
      up.write(lines.join("\r\n") + "\r\n\r\n");
      up.write(head);
      socket.pipe(up).pipe(socket);
    });
    sockets.add(socket).add(up);
    up.on("error", () => socket.destroy());
    socket.on("error", () => up.destroy());
    up.on("close", () => {
      socket.destroy();
      sockets.delete(up);
    });
    socket.on("close", () => {
      up.destroy();
      sockets.delete(socket);
    });
  });
  await new Promise<void>((res) => proxy.listen(0, "127.0.0.1", () => res()));
  return {
    port: (proxy.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((res) => {
        for (const s of sockets) s.destroy();
        proxy.close(() => res());
      }),
  };
}
