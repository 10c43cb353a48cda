// Where the account page is, for pointers to it from outside a request (the new-client notice).
import type { Server } from "../../core/server.js";

export const ACCOUNT_PATH = "/account";

/** http_external_url, else the first HTTPS listener on the server's domain; undefined without HTTP. */
export function accountPageUrl(server: Server): string | undefined {
  let base = server.config.http_external_url;
  if (!base) {
    const port = server.http?.httpsPort;
    if (port === undefined) return undefined;
    base = `https://${server.config.domain}${port === 443 ? "" : `:${port}`}`;
  }
  return base + ACCOUNT_PATH;
}
