// The account page on the HTTP service (feature; registered after the http feature):
//   GET  /account                  the list of clients, change of password, security history
//   GET  /account/login, POST      sign-in with the account's password
//   POST /account/logout           sign-out of this browser
//   GET  /account/revoke?id=, POST revoke one client, app or browser (password asked again, ASVS 7.5.2)
//   GET  /account/sign-out-others, POST   everything else out (password asked again)
//   POST /account/password         change of password (signs out everything else, says so)
//   POST /account/reset            change of password and sign-out of everything else in one step
//                                  (offered where a password client without client id is revoked)
//   GET  /account/allow?id=, POST  allow a revoked client again (password asked again)
//   GET  /account/events           Server-Sent Events for live updates; /account/fragment the tables
//   GET  /account/live.js          the page's one script
// Sessions: sessions.ts; password and CSRF checks: auth.ts; HTML: pages.ts; live updates: live.ts.
import type { Server } from "../../core/server.js";
import type { Session } from "../../core/session.js";
import { AccountError } from "../../auth/accounts.js";
import { listAccess, sessionsOfClient, type ClientEntry } from "../../clients/access.js";
import { revokedClients } from "../../clients/allow.js";
import { HttpError, RateLimiter, cspHash, redirect, sendHtml, type HttpRequest } from "../server.js";
import type { HistoryInput } from "../../events.js";
import { clearCookie, cookieName, readCookie, sessionCookie, type BrowserSession } from "./sessions.js";
import { LoginCsrf, THROTTLED, checkPassword, checkSessionCsrf, field } from "./auth.js";
import { LIVE_JS, LiveHub } from "./live.js";
import { ACCOUNT_PATH } from "./url.js";
import { passwordProblem } from "../../auth/password-policy.js";
import {
  STYLE, accountPage, allowPage, fragment, loginPage, messagePage, revokePage, signOutOthersPage,
  type AccountView, type ClientRow, type RevokedRow,
} from "./pages.js";
import { defineFeature } from "../../core/feature.js";

const VIA = "account page";
const HISTORY_SHOWN = 50;
const CSP = `default-src 'none'; style-src ${cspHash(STYLE)}; script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`;

export default defineFeature({ name: "account-page", needs: ["http", "grants", "loginThrottle", "access", "rateLimits", "browserSessions", "accountUpdates"], setup: accountPageFeature });

function accountPageFeature(server: Server): () => void {
  const live = new LiveHub(server.services.get("accountUpdates"));
  const sessions = server.services.get("browserSessions");
  const loginCsrf = new LoginCsrf();
  // The OAuth login endpoints' limit (oauth2_rate_limit a minute per IP) applies to these forms too.
  const limiter = new RateLimiter(server.services.get("rateLimits"), () => server.config.oauth2_rate_limit);
  const history = (e: HistoryInput) => server.bus.emit("security-history", e, (err) => server.log.error({ err }, "security history failed"));

  // --- responses ------------------------------------------------------------------------------

  const html = (req: HttpRequest, status: number, body: string, headers: Record<string, string | string[]> = {}) => {
    for (const [k, v] of Object.entries(headers)) if (Array.isArray(v)) req.res.setHeader(k, v);
    const single = Object.fromEntries(Object.entries(headers).filter(([, v]) => !Array.isArray(v))) as Record<string, string>;
    // Referrer-Policy same-origin (not no-referrer): browsers then send a real Origin with the forms' POSTs.
    sendHtml(req, status, body, { styles: [STYLE], headers: { "Content-Security-Policy": CSP, "Referrer-Policy": "same-origin", ...single } });
  };
  const formExpired = (req: HttpRequest) => html(req, 403, messagePage("This form has expired",
    "The form was too old, or it did not come from this page. Go back, reload the page and try again.", `<a href="${ACCOUNT_PATH}">Back to your account</a>`));
  const signedOut = (req: HttpRequest) => html(req, 403, messagePage("You are signed out",
    "Your sign-in has ended. Sign in again to continue.", `<a href="${ACCOUNT_PATH}/login">Sign in</a>`));

  /** Runs a handler, answering HTTP errors (rate limit, body type or size) as a page. */
  const page = (handler: (req: HttpRequest) => Promise<void> | void) => async (req: HttpRequest) => {
    try {
      await handler(req);
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      if (err.status === 413) req.res.setHeader("Connection", "close");
      const text = err.status === 429 ? THROTTLED : err.description ?? err.code;
      html(req, err.status, messagePage(err.status === 429 ? "Too many requests" : "This request cannot be completed", text), err.headers);
    }
  };

  /** A form of a signed-in page: rate-limited, then the browser session and its CSRF token checked. */
  const signedInForm = (handler: (req: HttpRequest, params: URLSearchParams, s: BrowserSession) => Promise<void>) => page(async (req) => {
    limiter.take(`account:${req.ip}`);
    const params = await req.form();
    const s = await current(req);
    if (!s) return signedOut(req);
    if (!checkSessionCsrf(req, params, s.csrf)) return formExpired(req);
    touch(s, req);
    await handler(req, params, s);
  });

  // --- the signed-in browser --------------------------------------------------------------------

  const current = async (req: HttpRequest): Promise<BrowserSession | undefined> => {
    const s = sessions.get(readCookie(req, cookieName(req)));
    if (!s) return undefined;
    const user = await server.storage.users.get(s.username);
    if (!user || user.passwordChangedAt > s.authAt) { sessions.end(s, user ? "password-changed" : "revoked"); return undefined; }
    return s;
  };

  /** A request by the user (not by live updates): the session's last use and address. */
  const touch = (s: BrowserSession, req: HttpRequest) => { s.lastSeen = Date.now(); s.ip = req.ip; };

  const liveSessionsOf = (e: ClientEntry): Session[] => (e.record ? sessionsOfClient(server, e.record) : []);

  const entryRow = (e: ClientEntry): ClientRow => {
    const ua = e.userAgent;
    const resource = e.legacy && e.record?.fullJid ? e.record.fullJid.slice(e.record.fullJid.indexOf("/") + 1) : undefined;
    const auth: string[] = [];
    if (e.password !== undefined) auth.push("password");
    if (e.fast !== undefined) auth.push("FAST token");
    if (e.grant && e.grant.kind !== "fast") auth.push(e.permission === "restricted" ? "OAuth (limited access)" : "OAuth");
    const liveOnes = liveSessionsOf(e);
    if (auth.length === 0) for (const s of liveOnes) if (s.authMechanism) auth.push(s.authMechanism);
    const notes = new Set<string>();
    for (const s of liveOnes) {
      if (s.hibernating) notes.add("reconnecting");
      else if (s.data.transport === "websocket") notes.add("WebSocket");
    }
    const row: ClientRow = {
      id: e.id,
      name: ua.software ?? (resource !== undefined ? `Resource “${resource}”` : e.type === "access" ? "Unnamed app" : "Unnamed client"),
      type: e.type === "access" ? "App (OAuth)" : e.legacy ? "XMPP client (no client id)" : "XMPP client",
      auth: [...new Set(auth)], firstSeen: e.firstSeen, lastSeen: e.lastSeen, connected: e.connected, current: false,
    };
    if (ua.softwareVersion) row.version = ua.softwareVersion;
    if (ua.device) row.device = ua.device;
    if (e.ip) row.ip = e.ip;
    if (e.expires !== undefined) row.expires = e.expires;
    else if (e.password !== undefined) row.expiresNote = "When revoked or the password changes";
    if (notes.size > 0) row.connectedNote = [...notes].join(", ");
    if (e.legacy && e.password !== undefined) row.reconnects = true;
    return row;
  };

  const revokedRows = async (username: string): Promise<RevokedRow[]> => (await revokedClients(server, username)).map((r) => {
    const row: RevokedRow = { id: `client/${r.id}`, name: r.userAgent?.software ?? "Unnamed client", revokedAt: r.revokedAt!, lastSeen: r.lastSeen };
    if (r.userAgent?.device) row.device = r.userAgent.device;
    return row;
  });

  const browserRow = (b: BrowserSession, me: BrowserSession | undefined): ClientRow => {
    const row: ClientRow = {
      id: `web/${b.handle}`, name: b.browser, type: "Account page (browser)", auth: ["password"], firstSeen: b.createdAt, lastSeen: b.lastSeen,
      expires: sessions.expiresAt(b), connected: live.connected(b), current: b === me,
    };
    if (server.config.client_ip_tracking) row.ip = b.ip;
    if (row.connected) row.connectedNote = "page open";
    return row;
  };

  const rowsFor = async (username: string, me?: BrowserSession): Promise<ClientRow[]> => {
    const entries = await listAccess(server, username);
    const browsers = sessions.ofUser(username).sort((a, b) => a.createdAt - b.createdAt);
    return [...entries.map(entryRow), ...browsers.map((b) => browserRow(b, me))];
  };

  const view = async (s: BrowserSession): Promise<AccountView> => ({
    jid: `${s.username}@${server.config.domain}`, csrf: s.csrf, rows: await rowsFor(s.username, s),
    events: await server.storage.events.list(s.username, HISTORY_SHOWN), historyDays: server.config.security_history_days,
    ipTracking: server.config.client_ip_tracking, revoked: await revokedRows(s.username),
    passwordMinLength: server.config.password_min_length,
  });

  /** XMPP streams of an account (hibernating ones too). */
  const streamsOf = (username: string): Session[] => [...server.streams].filter((s) => s.username === username);

  // --- routes ------------------------------------------------------------------------------

  const http = server.services.get("http");

  http.route("GET", ACCOUNT_PATH, page(async (req) => {
    const s = await current(req);
    if (!s) return redirect(req, `${ACCOUNT_PATH}/login`);
    touch(s, req);
    const v = await view(s);
    if (s.flash) { v.flash = s.flash; delete s.flash; }
    html(req, 200, accountPage(v));
  }));

  http.route("GET", `${ACCOUNT_PATH}/fragment`, page(async (req) => {
    const s = await current(req);
    if (!s) throw new HttpError(401, "login_required", "Sign in again");
    html(req, 200, fragment(await view(s)));
  }));

  http.route("GET", `${ACCOUNT_PATH}/events`, async (req) => {
    const s = await current(req);
    if (!s) throw new HttpError(401, "login_required", "Sign in again");
    if (req.method === "HEAD") { req.res.writeHead(200, { "Content-Type": "text/event-stream; charset=utf-8" }); req.res.end(); return; }
    live.open(req, s);
  });

  http.route("GET", `${ACCOUNT_PATH}/live.js`, (req) => {
    const res = req.res;
    res.setHeader("Content-Type", "text/javascript; charset=utf-8");
    res.setHeader("Cross-Origin-Resource-Policy", "same-origin");
    res.setHeader("Content-Length", Buffer.byteLength(LIVE_JS));
    res.writeHead(200);
    res.end(req.method === "HEAD" ? undefined : LIVE_JS);
  });

  const showLogin = (req: HttpRequest, status: number, extra: { username?: string; error?: string; notice?: string } = {}) => {
    const { token, setCookie } = loginCsrf.issue(req);
    html(req, status, loginPage({ domain: server.config.domain, csrf: token, ...extra }), setCookie ? { "Set-Cookie": setCookie } : {});
  };

  http.route("GET", `${ACCOUNT_PATH}/login`, page(async (req) => {
    if (await current(req)) return redirect(req, ACCOUNT_PATH);
    const q = req.url.searchParams;
    const notice = q.has("signed_out") ? "You are signed out." : q.has("ended") ? "Your sign-in has ended. Sign in again to continue." : undefined;
    showLogin(req, 200, notice ? { notice } : {});
  }));

  http.route("POST", `${ACCOUNT_PATH}/login`, page(async (req) => {
    limiter.take(`account:${req.ip}`);
    const params = await req.form();
    const rawUser = field(params, "username");
    if (!loginCsrf.check(req, params)) {
      return showLogin(req, 403, { username: rawUser, error: "The sign-in form expired or did not come from this page. Please try again." });
    }
    const check = await checkPassword(server, req.ip, rawUser, field(params, "password"), VIA);
    if (!check.ok) return showLogin(req, check.status, { username: rawUser, error: check.error });
    // A new session id at every sign-in: an id planted before it (session fixation) is worthless.
    const old = sessions.get(readCookie(req, cookieName(req)));
    if (old) sessions.end(old, "replaced");
    const s = sessions.create(check.username, req);
    req.res.setHeader("Set-Cookie", [sessionCookie(req, s.id), clearCookie(req, loginCsrf.cookieName(req))]);
    await history({ username: s.username, kind: "account-login", ip: req.ip, data: { browser: s.browser } });
    redirect(req, ACCOUNT_PATH);
  }));

  http.route("POST", `${ACCOUNT_PATH}/logout`, page(async (req) => {
    limiter.take(`account:${req.ip}`);
    const params = await req.form();
    const s = await current(req);
    if (!s) { req.res.setHeader("Set-Cookie", clearCookie(req)); return redirect(req, `${ACCOUNT_PATH}/login?signed_out=1`); }
    if (!checkSessionCsrf(req, params, s.csrf)) return formExpired(req);
    sessions.end(s, "signed-out");
    req.res.setHeader("Set-Cookie", clearCookie(req));
    redirect(req, `${ACCOUNT_PATH}/login?signed_out=1`);
  }));

  // Revoking one entry: a confirmation form that asks for the password again.
  const findRow = async (s: BrowserSession, id: string | null | undefined) =>
    id ? (await rowsFor(s.username, s)).find((r) => r.id === id) : undefined;

  http.route("GET", `${ACCOUNT_PATH}/revoke`, page(async (req) => {
    const s = await current(req);
    if (!s) return redirect(req, `${ACCOUNT_PATH}/login`);
    touch(s, req);
    const row = await findRow(s, req.url.searchParams.get("id"));
    if (!row || row.current) {
      s.flash = { kind: "error", text: row ? "To end this browser's sign-in, use Sign out." : "That client no longer has access to your account." };
      return redirect(req, ACCOUNT_PATH);
    }
    html(req, 200, revokePage({ row, csrf: s.csrf, passwordMinLength: server.config.password_min_length }));
  }));

  http.route("POST", `${ACCOUNT_PATH}/revoke`, signedInForm(async (req, params, s) => {
    const id = field(params, "id");
    const row = await findRow(s, id);
    if (!row || row.current) {
      s.flash = { kind: "error", text: "That client no longer has access to your account." };
      return redirect(req, ACCOUNT_PATH);
    }
    const check = await checkPassword(server, req.ip, s.username, field(params, "password"), VIA, true);
    if (!check.ok) return html(req, check.status, revokePage({ row, csrf: s.csrf, passwordMinLength: server.config.password_min_length, error: check.error }));
    const label = `${row.name}${row.device ? ` on ${row.device}` : ""}`;
    if (row.id.startsWith("web/")) {
      const target = sessions.byHandle(s.username, row.id.slice(4));
      if (target) sessions.end(target, "revoked");
      await history({ username: s.username, kind: "client-revoked", ip: req.ip, data: { software: row.name, via: VIA, browser: true } });
      s.flash = { kind: "ok", text: `${label} was signed out of the account page.` };
      return redirect(req, ACCOUNT_PATH);
    }
    const result = await server.services.get("access").revoke(s.username, row.id, { via: VIA, ip: req.ip });
    s.flash = result === "not-found"
      ? { kind: "error", text: "That client no longer has access to your account." }
      : {
        kind: "ok",
        text: `Revoked ${label}: its connections were closed and its tokens cancelled.`
          + (result === "password-reset-required" ? " It knew your password: it cannot sign in again as this client unless you allow it again, but change your password if you do not trust the device." : "")
          + (result === "can-sign-in-again" ? " It knows your password and can sign in again: to keep it out, change your password (this signs out everything else)." : ""),
      };
    redirect(req, ACCOUNT_PATH);
  }));

  // Allowing a revoked client again: a confirmation form that asks for the password again.
  const findRevoked = async (s: BrowserSession, id: string | null | undefined) =>
    id ? (await revokedRows(s.username)).find((r) => r.id === id) : undefined;

  http.route("GET", `${ACCOUNT_PATH}/allow`, page(async (req) => {
    const s = await current(req);
    if (!s) return redirect(req, `${ACCOUNT_PATH}/login`);
    touch(s, req);
    const row = await findRevoked(s, req.url.searchParams.get("id"));
    if (!row) {
      s.flash = { kind: "error", text: "That client is not revoked." };
      return redirect(req, ACCOUNT_PATH);
    }
    html(req, 200, allowPage({ row, csrf: s.csrf }));
  }));

  http.route("POST", `${ACCOUNT_PATH}/allow`, signedInForm(async (req, params, s) => {
    const row = await findRevoked(s, field(params, "id"));
    if (!row) {
      s.flash = { kind: "error", text: "That client is not revoked." };
      return redirect(req, ACCOUNT_PATH);
    }
    const check = await checkPassword(server, req.ip, s.username, field(params, "password"), VIA, true);
    if (!check.ok) return html(req, check.status, allowPage({ row, csrf: s.csrf, error: check.error }));
    const result = await server.services.get("access").allow(s.username, row.id, { via: VIA, ip: req.ip });
    s.flash = result === "allowed"
      ? { kind: "ok", text: `${row.name}${row.device ? ` on ${row.device}` : ""} may sign in again.` }
      : { kind: "error", text: "That client is not revoked." };
    redirect(req, ACCOUNT_PATH);
  }));

  // Signing out everything else: every XMPP stream, every token and app grant, every other browser.
  const counts = async (s: BrowserSession) => ({
    connections: streamsOf(s.username).length,
    browsers: sessions.ofUser(s.username).filter((b) => b !== s).length,
    grants: (await server.storage.grants.list(s.username)).length,
  });

  http.route("GET", `${ACCOUNT_PATH}/sign-out-others`, page(async (req) => {
    const s = await current(req);
    if (!s) return redirect(req, `${ACCOUNT_PATH}/login`);
    touch(s, req);
    html(req, 200, signOutOthersPage({ csrf: s.csrf, ...(await counts(s)) }));
  }));

  http.route("POST", `${ACCOUNT_PATH}/sign-out-others`, signedInForm(async (req, params, s) => {
    const check = await checkPassword(server, req.ip, s.username, field(params, "password"), VIA, true);
    if (!check.ok) return html(req, check.status, signOutOthersPage({ csrf: s.csrf, error: check.error, ...(await counts(s)) }));
    const { connections, grants } = await server.services.get("access").signOutEverywhere(s.username);
    const browsers = sessions.endUser(s.username, "revoked", s);
    await history({ username: s.username, kind: "signed-out-others", ip: req.ip, data: { closed: connections, browsers, grants } });
    s.flash = {
      kind: "ok",
      text: `Signed out everywhere else: ${connections} XMPP ${connections === 1 ? "connection" : "connections"} closed, ${browsers} other ${browsers === 1 ? "browser" : "browsers"} signed out, ${grants} ${grants === 1 ? "token or app authorization" : "tokens and app authorizations"} cancelled. Clients that remember your password can sign in again; change your password to keep them out.`,
    };
    redirect(req, ACCOUNT_PATH);
  }));

  /** The new password of a form, or the reason it is refused. */
  const newPasswordProblem = (params: URLSearchParams): string | undefined => {
    const next = field(params, "new_password") ?? "";
    if (next !== field(params, "confirm_password")) return "The new password and its confirmation are different. Nothing was changed.";
    const weak = passwordProblem(next, server.config.password_min_length);
    return weak ? `The new password ${weak}. Nothing was changed.` : undefined;
  };

  http.route("POST", `${ACCOUNT_PATH}/password`, signedInForm(async (req, params, s) => {
    const fail = async (status: number, text: string) => {
      const v = await view(s);
      v.flash = { kind: "error", text };
      html(req, status, accountPage(v));
    };
    const next = field(params, "new_password") ?? "";
    const problem = newPasswordProblem(params);
    if (problem) return fail(400, problem);
    const check = await checkPassword(server, req.ip, s.username, field(params, "current_password"), VIA, true);
    if (!check.ok) return fail(check.status, check.status === 403 ? "The current password is wrong. Nothing was changed." : check.error);
    const before = await counts(s);
    let fresh: BrowserSession | undefined;
    try {
      // This browser stays signed in, under a new session id; the access service ends the XMPP
      // streams, grants and tokens, and the other browsers go with "password-changed".
      await server.services.get("access").changePassword(s.username, next, {
        via: VIA, ip: req.ip,
        changed: (changedAt) => { fresh = sessions.create(s.username, req, changedAt); sessions.end(s, "replaced"); },
      });
    } catch (err) {
      if (err instanceof AccountError) return fail(400, `${err.message.replace(/^the password/, "The new password")}. Nothing was changed.`);
      throw err;
    }
    if (!fresh) throw new Error("the password changed without a new browser session");
    fresh.flash = {
      kind: "ok",
      text: `Your password was changed. ${before.connections} XMPP ${before.connections === 1 ? "connection was" : "connections were"} closed and ${before.browsers} other ${before.browsers === 1 ? "browser was" : "browsers were"} signed out; ${before.grants} ${before.grants === 1 ? "token or app authorization" : "tokens and app authorizations"} from before the change no longer ${before.grants === 1 ? "works" : "work"}. Sign in again on your devices with the new password.`,
    };
    req.res.setHeader("Set-Cookie", sessionCookie(req, fresh.id));
    redirect(req, ACCOUNT_PATH);
  }));

  // Change password and sign out everywhere else, in one step (AccessService.resetPassword): offered
  // where a password client without client id is revoked, the one thing that keeps it out.
  http.route("POST", `${ACCOUNT_PATH}/reset`, signedInForm(async (req, params, s) => {
    const fail = async (status: number, text: string) => {
      const row = await findRow(s, field(params, "id"));
      if (row && !row.current) return html(req, status, revokePage({ row, csrf: s.csrf, passwordMinLength: server.config.password_min_length, error: text }));
      const v = await view(s);
      v.flash = { kind: "error", text };
      html(req, status, accountPage(v));
    };
    const problem = newPasswordProblem(params);
    if (problem) return fail(400, problem);
    const check = await checkPassword(server, req.ip, s.username, field(params, "current_password"), VIA, true);
    if (!check.ok) return fail(check.status, check.status === 403 ? "The current password is wrong. Nothing was changed." : check.error);
    const browsers = sessions.ofUser(s.username).filter((b) => b !== s).length;
    let fresh: BrowserSession | undefined;
    let done;
    try {
      done = await server.services.get("access").resetPassword(s.username, field(params, "new_password")!, {
        via: VIA, ip: req.ip,
        // This browser stays signed in, under a new session id, before the other sign-ins end.
        changed: (changedAt) => { fresh = sessions.create(s.username, req, changedAt); sessions.end(s, "replaced"); },
      });
    } catch (err) {
      if (err instanceof AccountError) return fail(400, `${err.message.replace(/^the password/, "The new password")}. Nothing was changed.`);
      throw err;
    }
    fresh!.flash = {
      kind: "ok",
      text: `Your password was changed and everything else was signed out: ${done.connections} XMPP ${done.connections === 1 ? "connection was" : "connections were"} closed, ${browsers} other ${browsers === 1 ? "browser was" : "browsers were"} signed out and ${done.grants} ${done.grants === 1 ? "token or app authorization was" : "tokens and app authorizations were"} cancelled. Sign in again on your own devices with the new password.`,
    };
    req.res.setHeader("Set-Cookie", sessionCookie(req, fresh!.id));
    redirect(req, ACCOUNT_PATH);
  }));

  // --- what ends sign-ins, and what the open pages hear about -----------------------------------

  const offs = [
    server.bus.on("password-changed", async ({ username }) => {
      const user = await server.storage.users.get(username);
      for (const b of sessions.ofUser(username)) if (!user || b.authAt < user.passwordChangedAt) sessions.end(b, "password-changed");
    }),
    server.bus.on("user-deleted", ({ username }) => { sessions.endUser(username, "revoked"); }),
  ];
  const byUser = (ev: { username?: string }) => { if (ev.username) live.changed(ev.username); };
  const bySession = (ev: { session?: Session }) => { if (ev.session?.username) live.changed(ev.session.username); };
  for (const name of ["new-client", "client-revoked", "client-allowed", "password-changed", "grant-created", "grant-revoked", "security-event"] as const) offs.push(server.bus.on(name, byUser, "fallback"));
  for (const name of ["authenticated", "resource-bound", "session-closed"] as const) offs.push(server.bus.on(name, bySession, "fallback"));

  return () => {
    for (const off of offs) off();
    live.stop();
  };
}
