// What the HTML forms (OAuth login and consent, the account page) share: the password check,
// reading a cookie, refusing posts from other sites, and the public base URL for links.
import { setTimeout as sleep } from "node:timers/promises";
import type { Server } from "../core/server.js";
import type { HttpRequest } from "./server.js";
import { accountName } from "../auth/accounts.js";
import { verifyPasswordAsync } from "../auth/credentials.js";
import { logSecurityEvent, triedName } from "../features/security-log.js";

export function readCookie(req: HttpRequest, name: string): string | undefined {
  const header = req.header("cookie");
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Whether a POST may come from our own pages: not from another site (Sec-Fetch-Site, Origin). */
export function sameOrigin(req: HttpRequest): boolean {
  const site = req.header("sec-fetch-site");
  if (site !== undefined && site !== "same-origin" && site !== "none") return false;
  const origin = req.header("origin");
  // "null" is what a browser sends under a no-referrer policy: accepted only with the
  // browser's own same-origin word for it.
  if (origin === "null") return site === "same-origin";
  if (origin !== undefined) {
    let expected: string;
    try {
      expected = new URL(req.base).origin;
    } catch {
      return false;
    }
    if (origin !== expected) return false;
  }
  return true;
}

/** http_external_url, else the first HTTPS listener on the server's domain; undefined without one. */
export function publicBaseUrl(server: Server): string | undefined {
  if (server.config.http_external_url) return server.config.http_external_url;
  const port = server.services.find("http")?.httpsPort;
  if (port === undefined) return undefined;
  return `https://${server.config.domain}${port === 443 ? "" : `:${port}`}`;
}

export type PasswordCheck = { ok: true; username: string } | { ok: false; status: 400 | 403 | 429; error: string };

export const THROTTLED = "Too many failed attempts. Wait a minute and try again.";

/**
 * Checks an account's password as an XMPP login would: refused without checking while the IP
 * or the account is over its failure limit; each failure counts, waits, and goes into the
 * account's security history.
 */
export async function checkPassword(
  server: Server,
  ip: string,
  rawUser: string | undefined,
  password: string | undefined,
  via: string,
  reentry = false,
): Promise<PasswordCheck> {
  if (!rawUser || !password) return { ok: false, status: 400, error: reentry ? "Enter your password." : "Enter your username and password." };
  let username = "";
  try {
    username = accountName(rawUser.trim(), server.config.domain);
  } catch {
    /* unknown to us: checked all the same */
  }
  // Admitted (and reserved) before the password is looked at, as for XMPP logins (src/auth/throttle.ts).
  const attempt = await server.services.get("loginThrottle").admit(ip, username || undefined);
  if (!attempt) return { ok: false, status: 429, error: THROTTLED };
  let user;
  try {
    user = username ? await server.storage.users.get(username) : undefined;
  } catch (err) {
    attempt.release();
    throw err;
  }
  // PBKDF2 runs whether or not the account exists, so timing does not tell which.
  const ok = await verifyPasswordAsync(user, password, server.config.scram_iterations);
  if (ok && user) {
    attempt.release();
    return { ok: true, username };
  }
  const delay = attempt.failed();
  // Not awaited: only real accounts have a history to write, and waiting for it would tell them apart.
  if (user) void server.bus.emit("login-failed", { username, ip, via }, (err) => server.log.error({ err }, "login-failed handler failed"));
  logSecurityEvent(server, { event: "login-failed", account: triedName(server, username, rawUser), ip, reason: "bad-credentials", via }, username || undefined);
  await sleep(delay);
  return { ok: false, status: 403, error: reentry ? "Wrong password." : "Wrong username or password." };
}
