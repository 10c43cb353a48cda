// The account page's checks: the password (sign-in and re-entry before revoking, signing out
// elsewhere or changing the password), throttled with the same per-IP and per-account failure
// counts as XMPP logins (server.services.get("loginThrottle")); and CSRF on every form (a per-session token,
// or before sign-in an HMAC of a random cookie, plus a same-origin check).
import { createHmac, randomBytes } from "node:crypto";
import type { HttpRequest } from "../server.js";
import { readCookie, sameSecret } from "./sessions.js";
import { sameOrigin } from "../browser.js";
export { sameOrigin };

export { checkPassword, THROTTLED, type PasswordCheck } from "../browser.js";

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

  cookieName(req: HttpRequest): string {
    return req.secure ? "__Host-warden_account_login" : "warden_account_login";
  }

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
