// What the login and consent forms share: CSRF protection, the password check (throttled like
// XMPP logins), and the signed ticket that carries "this browser proved this password at this
// time" from the login form to the consent form.
//
// CSRF: a random cookie (HttpOnly, SameSite=Strict, __Host- and Secure over TLS) and, in every
// form, an HMAC of it; a POST must carry both, and must not come from another site
// (Sec-Fetch-Site, Origin). Tickets are bound to the cookie too, so a ticket is useless in
// another browser.
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { HttpRequest } from "../server.js";
import type { OAuthContext } from "./router.js";
import { accountName } from "../../core/accounts.js";
import { verifyPasswordAsync } from "../../auth/credentials.js";
import { sha256 } from "./state.js";

const COOKIE_RE = /^[A-Za-z0-9_-]{43}$/;
const TICKET_TTL_MS = 10 * 60_000;

function cookieName(req: HttpRequest): string {
  return req.secure ? "__Host-warden_csrf" : "warden_csrf";
}

function readCookie(req: HttpRequest, name: string): string | undefined {
  const header = req.header("cookie");
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export interface CsrfToken {
  /** The value for the forms' hidden "csrf" field. */
  field: string;
  /** Headers to send with the page (a new cookie), if any. */
  headers: Record<string, string>;
}

/** The CSRF field for this browser, creating its cookie when it has none. */
export function csrfFor(ctx: OAuthContext, req: HttpRequest): CsrfToken {
  const name = cookieName(req);
  let value = readCookie(req, name);
  const headers: Record<string, string> = {};
  if (!value || !COOKIE_RE.test(value)) {
    value = randomBytes(32).toString("base64url");
    headers["Set-Cookie"] = `${name}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=3600${req.secure ? "; Secure" : ""}`;
  }
  return { field: ctx.keys.mac("csrf", value), headers };
}

/** Checks a form POST: same-site, cookie present, field matching it. Returns the cookie's binding for tickets. */
export function checkCsrf(ctx: OAuthContext, req: HttpRequest, params: URLSearchParams): string | undefined {
  const site = req.header("sec-fetch-site");
  if (site !== undefined && site !== "same-origin" && site !== "none") return undefined;
  const origin = req.header("origin");
  if (origin !== undefined && origin !== "null" && origin !== new URL(req.base).origin) return undefined;
  const value = readCookie(req, cookieName(req));
  const field = params.getAll("csrf");
  if (!value || !COOKIE_RE.test(value) || field.length !== 1 || !ctx.keys.checkMac("csrf", value, field[0]!)) return undefined;
  return sha256(value);
}

export type LoginResult = { ok: true; username: string; authTime: number } | { ok: false; status: number; error: string };

/** The password check behind both login forms: rate-limited and throttled per IP and account. */
export async function checkLogin(ctx: OAuthContext, req: HttpRequest, rawUser: string | undefined, password: string | undefined): Promise<LoginResult> {
  const { server } = ctx;
  const throttle = server.loginThrottle;
  if (!rawUser || !password) return { ok: false, status: 400, error: "Enter your username and password." };
  let username: string;
  try {
    username = accountName(rawUser.trim(), server.config.domain);
  } catch {
    username = "";
  }
  if (throttle.blocked(req.ip, username || undefined)) return { ok: false, status: 429, error: "Too many failed attempts. Try again later." };
  const user = username ? await server.storage.users.get(username) : undefined;
  // PBKDF2 runs whether or not the account exists, so timing does not tell which.
  const ok = await verifyPasswordAsync(user, password);
  if (!ok || !user) {
    const delay = throttle.fail(req.ip, username || undefined);
    await sleep(delay);
    server.log.info({ username: username || undefined, ip: req.ip }, "oauth login failed");
    // (account page helper) the account's security history counts it with other failed logins.
    if (user) await server.bus.emit("login-failed", { username, ip: req.ip, via: "oauth" });
    return { ok: false, status: 403, error: "Wrong username or password." };
  }
  return { ok: true, username, authTime: Date.now() };
}

export interface Ticket {
  /** "authorize" or "device". */
  k: string;
  u: string;
  at: number;
  /** What it is for: a hash of the signed authorization request, or the device code's hash. */
  r: string;
  /** The CSRF cookie's binding. */
  c: string;
  exp: number;
}

export function makeTicket(ctx: OAuthContext, kind: string, username: string, authTime: number, ref: string, binding: string): string {
  const t: Ticket = { k: kind, u: username, at: authTime, r: ref, c: binding, exp: Date.now() + TICKET_TTL_MS };
  return ctx.keys.sign("ticket", t);
}

export function readTicket(ctx: OAuthContext, signed: string | undefined, kind: string, ref: string | undefined, binding: string): Ticket | undefined {
  if (!signed) return undefined;
  const t = ctx.keys.verify<Ticket>("ticket", signed);
  if (!t || t.k !== kind || t.c !== binding || t.exp <= Date.now() || (ref !== undefined && t.r !== ref)) return undefined;
  return t;
}
