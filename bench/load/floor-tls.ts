// The memory floor: a bare Node TLS server with the same certificate and key as Warden, which
// answers one small exchange per connection and then just holds the socket. Run as a child
// process (child_process.fork) so its RSS can be measured on its own.
//
// IPC protocol: it sends {type:"ready", port, pid}; on {type:"gc"} it runs gc (when started
// with --expose-gc) and answers {type:"gc-done", sockets, memory}; on {type:"exit"} it exits.
import tls from "node:tls";
import { readFileSync } from "node:fs";

const [certPath, keyPath] = process.argv.slice(2);
if (!certPath || !keyPath || !process.send) {
  console.error("usage: forked with <cert.pem> <key.pem>");
  process.exit(2);
}

const sockets = new Set<tls.TLSSocket>();
const server = tls.createServer({ cert: readFileSync(certPath), key: readFileSync(keyPath), minVersion: "TLSv1.2", ALPNProtocols: ["xmpp-client"] }, (s) => {
  sockets.add(s);
  // Like Warden's transport: utf8 decoding and no Nagle; one reply to the first data.
  s.setEncoding("utf8");
  s.setNoDelay(true);
  s.once("data", () => s.write("pong\n"));
  s.on("error", () => {});
  s.on("close", () => sockets.delete(s));
});
server.on("tlsClientError", () => {});
server.listen(0, "127.0.0.1", () => {
  const addr = server.address() as { port: number };
  process.send!({ type: "ready", port: addr.port, pid: process.pid });
});

process.on("message", (m: { type: string }) => {
  if (m.type === "gc") {
    const g = (globalThis as { gc?: () => void }).gc;
    if (g) {
      g();
      g();
    }
    process.send!({ type: "gc-done", sockets: sockets.size, memory: process.memoryUsage() });
  } else if (m.type === "exit") {
    for (const s of sockets) s.destroy();
    server.close();
    process.exit(0);
  }
});
process.on("disconnect", () => process.exit(0));
