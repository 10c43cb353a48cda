// Starts a listener and resolves with the address it got (port 0 picks a free one).
import type net from "node:net";

export function listen(srv: net.Server, port: number, host: string): Promise<net.AddressInfo> {
  return new Promise((resolve, reject) => {
    srv.once("error", reject);
    srv.listen(port, host, () => {
      srv.removeListener("error", reject);
      resolve(srv.address() as net.AddressInfo);
    });
  });
}
