// What the login and consent forms share: CSRF protection, the password check (throttled like
// XMPP logins), and the signed ticket that carries "this browser proved this password at this
// time" from the login form to the consent form.
//
// CSRF: a random cookie (HttpOnly, SameSite=Strict, __Host- and Secure over TLS) and, in every
// form, an HMAC of it; a POST must carry both, and must not come from another site
// (Sec-Fetch-Site, Origin). Tickets are bound to the cookie too, so a ticket is useless in
// another browser.
import { randomBytes } from "node:crypto";
import type { HttpRequest } from "../server.js";
import type { OAuthContext } from "./context.js";
import { sha256 } from "./state.js";
import { checkPassword, readCookie, sameOrigin } from "../browser.js";

const COOKIE_RE = /^[A-Za-z0-9_-]{43}$/;
const TICKET_TTL_MS = 10 * 60_000;

function cookieName(req: HttpRequest): string {
  return req.secure ? "__Host-warden_csrf" : "warden_csrf";
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
  if (!sameOrigin(req)) return undefined;
  const value = readCookie(req, cookieName(req));
  const field = params.getAll("csrf");
  if (!value || !COOKIE_RE.test(value) || field.length !== 1 || !ctx.keys.checkMac("csrf", value, field[0]!)) return undefined;
  return sha256(value);
}

export type LoginResult = { ok: true; username: string; authTime: number } | { ok: false; status: number; error: string };

/** The password check behind both login forms: rate-limited and throttled per IP and account. */
export async function checkLogin(ctx: OAuthContext, req: HttpRequest, rawUser: string | undefined, password: string | undefined): Promise<LoginResult> {
  const r = await checkPassword(ctx.server, req.ip, rawUser, password, "oauth");
  return r.ok ? { ok: true, username: r.username, authTime: Date.now() } : r;
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
  /** A random id: what makes the ticket single-use (spendTicket). */
  n: string;
  exp: number;
}

export function makeTicket(ctx: OAuthContext, kind: string, username: string, authTime: number, ref: string, binding: string): string {
  const t: Ticket = { k: kind, u: username, at: authTime, r: ref, c: binding, n: randomBytes(16).toString("base64url"), exp: Date.now() + TICKET_TTL_MS };
  return ctx.keys.sign("ticket", t);
}

export function readTicket(ctx: OAuthContext, signed: string | undefined, kind: string, ref: string | undefined, binding: string): Ticket | undefined {
  if (!signed) return undefined;
  const t = ctx.keys.verify<Ticket>("ticket", signed);
  if (!t || t.k !== kind || t.c !== binding || typeof t.n !== "string" || t.exp <= Date.now() || (ref !== undefined && t.r !== ref)) return undefined;
  return t;
}

/**
 * Marks a ticket used; false when it already was. A consent form answered twice (a double
 * click, a replayed POST) must not yield a second code: the signature alone cannot tell, so
 * the spent tickets are remembered until they would have expired anyway.
 */
export function spendTicket(ctx: OAuthContext, t: Ticket): Promise<boolean> {
  return ctx.state.spentTickets.add(t.n, { exp: t.exp });
}
