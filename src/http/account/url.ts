// Where the account page is, for pointers to it from outside a request (the new-client notice).
import type { Server } from "../../core/server.js";
import { publicBaseUrl } from "../browser.js";

export const ACCOUNT_PATH = "/account";

/** The account page's public URL; undefined without an HTTPS listener or http_external_url. */
export function accountPageUrl(server: Server): string | undefined {
  const base = publicBaseUrl(server);
  return base === undefined ? undefined : base + ACCOUNT_PATH;
}
