// The account page's checks: the password (sign-in and re-entry before revoking, signing out
// elsewhere or changing the password), throttled with the same per-IP and per-account failure
// counts as XMPP logins (server.loginThrottle); and CSRF on every form (a per-session token,
// or before sign-in an HMAC of a random cookie, plus a same-origin check).
import { createHmac, randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Server } from "../../core/server.js";
import type { HttpRequest } from "../server.js";
import { accountName } from "../../core/accounts.js";
import { verifyPasswordAsync } from "../../auth/credentials.js";
import { readCookie, sameSecret } from "./sessions.js";
import type { LoginFailedEvent } from "../../features/security-history.js";

export type PasswordCheck = { ok: true; username: string } | { ok: false; status: 400 | 403 | 429; error: string };

export const THROTTLED = "Too many failed attempts. Wait a minute and try again.";

/**
 * Checks an account's password as an XMPP login would: refused without checking while the IP
 * or the account is over its failure limit; each failure counts, waits, and goes into the
 * account's security history.
 */
export async function checkPassword(server: Server, ip: string, rawUser: string | undefined, password: string | undefined, via: string, reentry = false): Promise<PasswordCheck> {
  if (!rawUser || !password) return { ok: false, status: 400, error: reentry ? "Enter your password." : "Enter your username and password." };
  let username = "";
  try { username = accountName(rawUser.trim(), server.config.domain); } catch { /* unknown to us: checked all the same */ }
  const throttle = server.loginThrottle;
  if (throttle.blocked(ip, username || undefined)) return { ok: false, status: 429, error: THROTTLED };
  const user = username ? await server.storage.users.get(username) : undefined;
  // PBKDF2 runs whether or not the account exists, so timing does not tell which.
  const ok = await verifyPasswordAsync(user, password);
  if (ok && user) return { ok: true, username };
  const delay = throttle.fail(ip, username || undefined);
  if (user) await server.bus.emit("login-failed", { username, ip, via } satisfies LoginFailedEvent);
  server.log.info({ username: username || undefined, ip, via }, "account page: wrong password");
  await sleep(delay);
  return { ok: false, status: 403, error: reentry ? "Wrong password." : "Wrong username or password." };
}

/** Whether a POST may come from this page: not from another site (Sec-Fetch-Site, Origin). */
export function sameOrigin(req: HttpRequest): boolean {
  const site = req.header("sec-fetch-site");
  if (site !== undefined && site !== "same-origin" && site !== "none") return false;
  const origin = req.header("origin");
  // "null" is what a browser sends under a no-referrer policy (the pages use same-origin, but
  // an older cached page may not): accepted only with the browser's own same-origin word for it.
  if (origin === "null") return site === "same-origin";
  if (origin !== undefined) {
    let expected: string;
    try { expected = new URL(req.base).origin; } catch { return false; }
    if (origin !== expected) return false;
  }
  return true;
}

/** One value for a form field, or undefined when it is missing or repeated. */
export function field(params: URLSearchParams, name: string): string | undefined {
  const all = params.getAll(name);
  return all.length === 1 ? all[0] : undefined;
}

/** The CSRF check of a signed-in form: same origin and the session's token. */
export function checkSessionCsrf(req: HttpRequest, params: URLSearchParams, token: string): boolean {
  return sameOrigin(req) && sameSecret(field(params, "csrf"), token);
}

/**
 * Before sign-in there is no session to hold a token: the sign-in form carries an HMAC (with a
 * key that lives as long as the process) of a random cookie, and the POST must bring both.
 */
export class LoginCsrf {
  private readonly key = randomBytes(32);

  cookieName(req: HttpRequest): string { return req.secure ? "__Host-warden_account_login" : "warden_account_login"; }

  private mac(value: string): string {
    return createHmac("sha256", this.key).update(`account-login\0${value}`).digest("base64url");
  }

  /** The form's token, and a Set-Cookie header when the browser has no cookie yet. */
  issue(req: HttpRequest): { token: string; setCookie?: string } {
    const existing = readCookie(req, this.cookieName(req));
    if (existing && /^[A-Za-z0-9_-]{43}$/.test(existing)) return { token: this.mac(existing) };
    const value = randomBytes(32).toString("base64url");
    return {
      token: this.mac(value),
      setCookie: `${this.cookieName(req)}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=3600${req.secure ? "; Secure" : ""}`,
    };
  }

  check(req: HttpRequest, params: URLSearchParams): boolean {
    const value = readCookie(req, this.cookieName(req));
    if (!sameOrigin(req) || !value || !/^[A-Za-z0-9_-]{43}$/.test(value)) return false;
    return sameSecret(field(params, "csrf"), this.mac(value));
  }
}
