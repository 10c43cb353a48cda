// Account-page sign-ins ("browser sessions"). The cookie carries a random 32-byte id, made new
// at every sign-in (no session fixation), and is HttpOnly, SameSite=Strict, and Secure with the
// __Host- prefix over TLS. A session ends after IDLE_MS without a request from its user,
// ABSOLUTE_MS after sign-in, on sign-out, on a password change made elsewhere, or when revoked
// from another browser.
//
// The page uses the BrowserSessions interface; the composition root (src/app/compose.ts) picks
// the implementation and tells every node's open pages when a sign-in ends or changes (the
// live-update fan-out, live.ts). LocalBrowserSessions keeps them in this process's memory: a
// restart signs everyone out. The interface is synchronous because the page's handlers use it
// so, and they change a session's lastSeen, ip and flash in place. A shared implementation
// (Redis) needs those changes written back: the cluster backend makes this interface
// asynchronous with an explicit save, and the handlers await it; that change to the handlers is
// left out of this refactor, which keeps them as they are.
import { randomBytes, timingSafeEqual } from "node:crypto";
import type { HttpRequest } from "../server.js";

export const IDLE_MS = 30 * 60_000;
export const ABSOLUTE_MS = 12 * 3600_000;
/** Most sign-ins kept per account (the oldest go first) and in all. */
const MAX_PER_ACCOUNT = 50;
const MAX_TOTAL = 100_000;

export interface BrowserSession {
  /** The cookie value: a secret, never shown. */
  readonly id: string;
  /** The public name of this sign-in, for listing and revoking ("web/<handle>"). */
  readonly handle: string;
  readonly username: string;
  /** The CSRF token of every form of this session. */
  readonly csrf: string;
  readonly createdAt: number;
  /** When the password was proved (sign-in, or a password change on the page). */
  readonly authAt: number;
  /** The last request made by the user (not by live updates). */
  lastSeen: number;
  ip: string;
  /** A short description of the browser, from its User-Agent. */
  browser: string;
  /** A message for the next page view (after a redirect). */
  flash?: { kind: "ok" | "error"; text: string };
}

export function cookieName(req: HttpRequest): string {
  return req.secure ? "__Host-warden_account" : "warden_account";
}

export { readCookie } from "../browser.js";

export function sessionCookie(req: HttpRequest, value: string): string {
  return `${cookieName(req)}=${value}; Path=/; HttpOnly; SameSite=Strict${req.secure ? "; Secure" : ""}`;
}

export function clearCookie(req: HttpRequest, name = cookieName(req)): string {
  return `${name}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${req.secure ? "; Secure" : ""}`;
}

/** Constant-time comparison of two strings. */
export function sameSecret(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  const x = Buffer.from(a),
    y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** "Firefox on Android", from a User-Agent header (best effort; only shown to the account's owner). */
export function describeBrowser(ua: string | undefined): string {
  if (!ua) return "Unknown browser";
  const browser = /Edg(?:e|A|iOS)?\//.test(ua)
    ? "Edge"
    : /OPR\/|Opera/.test(ua)
      ? "Opera"
      : /Firefox\/|FxiOS/.test(ua)
        ? "Firefox"
        : /Chrom(?:e|ium)\/|CriOS/.test(ua)
          ? "Chrome"
          : /Safari\//.test(ua)
            ? "Safari"
            : /curl\//.test(ua)
              ? "curl"
              : "Unknown browser";
  const os = /Android/.test(ua)
    ? "Android"
    : /iPhone|iPad|iPod/.test(ua)
      ? "iOS"
      : /Windows/.test(ua)
        ? "Windows"
        : /Mac OS X|Macintosh/.test(ua)
          ? "macOS"
          : /CrOS/.test(ua)
            ? "ChromeOS"
            : /Linux/.test(ua)
              ? "Linux"
              : "";
  return os ? `${browser} on ${os}` : browser;
}

export type EndReason = "signed-out" | "expired" | "revoked" | "password-changed" | "replaced";

declare module "../../core/services.js" {
  interface Services {
    browserSessions: BrowserSessions;
  }
}

/** The account page's sign-ins, as the page uses them. */
export interface BrowserSessions {
  /** A new sign-in (new random id, handle and CSRF token); past MAX_PER_ACCOUNT, the account's oldest end ("replaced"). */
  create(username: string, req: HttpRequest, authAt?: number): BrowserSession;
  expired(s: BrowserSession, now?: number): boolean;
  expiresAt(s: BrowserSession): number;
  /** The live session of this cookie value (an expired one ends here). */
  get(id: string | undefined): BrowserSession | undefined;
  byHandle(username: string, handle: string): BrowserSession | undefined;
  /** The account's live sign-ins. */
  ofUser(username: string): BrowserSession[];
  end(s: BrowserSession, reason: EndReason): void;
  /** Ends every session of an account but `except`; returns how many. */
  endUser(username: string, reason: EndReason, except?: BrowserSession): number;
}

/** The sign-ins of one process, by id in a Map, swept of expired ones every minute. */
export class LocalBrowserSessions implements BrowserSessions {
  private readonly byId = new Map<string, BrowserSession>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly onEnd: (s: BrowserSession, reason: EndReason) => void,
    private readonly onChange: (username: string) => void,
  ) {
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }

  create(username: string, req: HttpRequest, authAt = Date.now()): BrowserSession {
    const now = Date.now();
    const s: BrowserSession = {
      id: randomBytes(32).toString("base64url"),
      handle: randomBytes(9).toString("base64url"),
      username,
      csrf: randomBytes(32).toString("base64url"),
      createdAt: now,
      authAt,
      lastSeen: now,
      ip: req.ip,
      browser: describeBrowser(req.header("user-agent")),
    };
    const mine = this.ofUser(username).sort((a, b) => a.createdAt - b.createdAt);
    while (mine.length >= MAX_PER_ACCOUNT) this.end(mine.shift()!, "replaced");
    while (this.byId.size >= MAX_TOTAL) this.end(this.byId.values().next().value!, "replaced");
    this.byId.set(s.id, s);
    this.onChange(username);
    return s;
  }

  expired(s: BrowserSession, now = Date.now()): boolean {
    return now - s.lastSeen >= IDLE_MS || now - s.createdAt >= ABSOLUTE_MS;
  }

  expiresAt(s: BrowserSession): number {
    return Math.min(s.lastSeen + IDLE_MS, s.createdAt + ABSOLUTE_MS);
  }

  /** The live session of this cookie value (an expired one ends here). */
  get(id: string | undefined): BrowserSession | undefined {
    if (!id) return undefined;
    const s = this.byId.get(id);
    if (!s) return undefined;
    if (this.expired(s)) {
      this.end(s, "expired");
      return undefined;
    }
    return s;
  }

  byHandle(username: string, handle: string): BrowserSession | undefined {
    return this.ofUser(username).find((s) => s.handle === handle);
  }

  ofUser(username: string): BrowserSession[] {
    const out: BrowserSession[] = [];
    for (const s of this.byId.values()) if (s.username === username && !this.expired(s)) out.push(s);
    return out;
  }

  end(s: BrowserSession, reason: EndReason): void {
    if (!this.byId.delete(s.id)) return;
    this.onEnd(s, reason);
    this.onChange(s.username);
  }

  /** Ends every session of an account but `except`; returns how many. */
  endUser(username: string, reason: EndReason, except?: BrowserSession): number {
    let n = 0;
    for (const s of [...this.byId.values()])
      if (s.username === username && s !== except) {
        this.end(s, reason);
        n++;
      }
    return n;
  }

  sweep(now = Date.now()): void {
    for (const s of [...this.byId.values()]) if (this.expired(s, now)) this.end(s, "expired");
  }

  /** Server shutdown: everything is forgotten, and nobody is told (open pages just lose their connection). */
  stop(): void {
    clearInterval(this.sweeper);
    this.byId.clear();
  }
}
