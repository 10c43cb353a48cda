// The account page's HTML: plain forms and a semantic table that work without scripts; one
// same-origin script (live.ts) adds live updates and local times. Everything shown is escaped.
// Accessibility: every field has a label, the tables have captions and header cells, focus is
// always visible, text contrast is at least 7:1 (AAA) on white, and below 48rem the tables
// become one card per row.
import { createHash } from "node:crypto";
import { esc } from "../oauth/pages.js";
import { utcTime } from "../../features/new-client-notice.js";
import type { SecurityEvent } from "../../storage/types.js";
import { MAX_PASSWORD } from "../../auth/password-policy.js";

export const STYLE = `*{box-sizing:border-box}body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f3f4f6;color:#14171c}
main{max-width:76rem;margin:0 auto;padding:1rem}header.top{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;justify-content:space-between}
h1{font-size:1.5rem;margin:.5rem 0}h2{font-size:1.25rem;margin:0 0 .5rem}section,.card{background:#fff;border-radius:8px;box-shadow:0 1px 3px #0003;padding:1rem 1.25rem;margin:1rem 0}
.narrow{max-width:32rem;margin:2rem auto}.card h2{margin-top:1.5rem}.muted{color:#3f4652}.small{font-size:.9rem}
a{color:#163fa3}a:hover{color:#0b2a75}:focus-visible{outline:3px solid #163fa3;outline-offset:2px}
.flash{padding:.75rem 1rem;border-radius:6px;margin:1rem 0;border:1px solid}.ok{background:#e7f5ea;border-color:#1b6b2f;color:#0f3d1b}.error{background:#fdecee;border-color:#a1101f;color:#6d0a14}
label{display:block;font-weight:600;margin:.75rem 0 .25rem}.hint{display:block;font-weight:400;font-size:.9rem;color:#3f4652}
input[type=text],input[type=password]{width:100%;max-width:26rem;padding:.6rem;font:inherit;border:1px solid #5b6270;border-radius:4px;background:#fff;color:#14171c}
button,a.button{display:inline-block;font:inherit;padding:.5rem 1rem;min-height:2.75rem;border-radius:4px;border:1px solid #163fa3;background:#fff;color:#163fa3;cursor:pointer;text-decoration:none;line-height:1.6}
button.primary{background:#163fa3;color:#fff}button.danger,a.button.danger{border-color:#a1101f;color:#a1101f}button.danger.solid{background:#a1101f;color:#fff}
form.inline{display:inline}.actions{display:flex;flex-wrap:wrap;gap:.5rem;margin-top:1rem}
table{border-collapse:collapse;width:100%;font-size:.95rem}caption{text-align:left;font-weight:600;padding:.25rem 0 .5rem}
th,td{text-align:left;vertical-align:top;padding:.5rem .5rem;border-bottom:1px solid #d5d9e0}thead th{background:#eef0f4;border-bottom:2px solid #8a919e;white-space:nowrap}
tr.current{background:#eef4ff}.badge{display:inline-block;font-size:.8rem;font-weight:600;padding:0 .4rem;border-radius:4px;background:#163fa3;color:#fff;margin-left:.25rem;white-space:nowrap}
.yes{color:#0f5a25;font-weight:600}.vh{position:absolute!important;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
dl.details{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}dl.details dt{font-weight:600}dl.details dd{margin:0}
@media (max-width:48rem){main{padding:.5rem}section{padding:.75rem}table.cards thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
table.cards,table.cards caption,table.cards tbody,table.cards tr,table.cards td,table.cards th{display:block;width:100%}table.cards tr{border:1px solid #b5bbc6;border-radius:6px;margin:0 0 .75rem;padding:.25rem .5rem}
table.cards td,table.cards th{border:0;padding:.2rem 0}table.cards td[data-label]::before{content:attr(data-label) ": ";font-weight:600}dl.details{grid-template-columns:1fr}}`;

export { esc };

function page(title: string, body: string, opts: { live?: boolean } = {}): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin"><meta name="color-scheme" content="light"><title>${esc(title)}</title><style>${STYLE}</style>
${opts.live ? `<script src="/account/live.js" defer></script>` : ""}</head>
<body><main>
${body}
</main></body></html>`;
}

function time(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms <= 0) return "—";
  return `<time datetime="${new Date(ms).toISOString()}">${esc(utcTime(ms))}</time>`;
}

export function flashBox(flash: { kind: "ok" | "error"; text: string } | undefined): string {
  if (!flash) return "";
  return `<div class="flash ${flash.kind}" role="${flash.kind === "error" ? "alert" : "status"}">${esc(flash.text)}</div>`;
}

// --- sign-in ----------------------------------------------------------------------------------

export interface LoginView { domain: string; csrf: string; username?: string; error?: string; notice?: string }

export function loginPage(v: LoginView): string {
  return page(`Sign in: your ${v.domain} account`, `<div class="card narrow">
<h1>Your ${esc(v.domain)} account</h1>
<p>Sign in to see which clients and apps can use your account, to revoke them, and to change your password.</p>
${flashBox(v.error ? { kind: "error", text: v.error } : v.notice ? { kind: "ok", text: v.notice } : undefined)}
<form method="post" action="/account/login">
<input type="hidden" name="csrf" value="${esc(v.csrf)}">
<label for="username">Username <span class="hint">Your address, like alice@${esc(v.domain)}, or just alice</span></label>
<input type="text" id="username" name="username" value="${esc(v.username ?? "")}" autocomplete="username" autocapitalize="none" spellcheck="false" required>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<div class="actions"><button class="primary" type="submit">Sign in</button></div>
</form></div>`);
}

// --- the account page -----------------------------------------------------------------------------

export interface ClientRow {
  /** The revocation selector: client/…, grant/… or web/…. */
  id: string;
  name: string;
  version?: string;
  device?: string;
  type: string;
  auth: string[];
  firstSeen: number;
  lastSeen: number;
  ip?: string;
  expires?: number;
  /** Shown when there is no expiry. */
  expiresNote?: string;
  connected: boolean;
  connectedNote?: string;
  /** This browser's own sign-in. */
  current: boolean;
  /** It signed in with the password and has no client id: revoking cannot keep it out. */
  reconnects?: boolean;
}

/** A SASL2 client whose revocation holds (it is refused): it can be allowed again. */
export interface RevokedRow { id: string; name: string; device?: string; revokedAt: number; lastSeen: number }

export interface AccountView {
  jid: string;
  csrf: string;
  rows: ClientRow[];
  events: SecurityEvent[];
  historyDays: number;
  flash?: { kind: "ok" | "error"; text: string };
  ipTracking: boolean;
  revoked?: RevokedRow[];
  /** password_min_length (src/auth/password-policy.ts). */
  passwordMinLength: number;
}

/** A stable element id for a row's controls (keeps keyboard focus across live updates). */
function rowId(selector: string): string {
  return "c-" + createHash("sha256").update(selector).digest("hex").slice(0, 16);
}

function clientName(r: ClientRow): string {
  return `${esc(r.name)}${r.version ? ` <span class="muted">${esc(r.version)}</span>` : ""}${r.current ? ` <span class="badge">This browser</span>` : ""}`;
}

function rowHtml(r: ClientRow, csrf: string): string {
  const id = rowId(r.id);
  const action = r.current
    ? `<form class="inline" method="post" action="/account/logout"><input type="hidden" name="csrf" value="${esc(csrf)}"><button type="submit" id="${id}">Sign out<span class="vh"> of this browser</span></button></form>`
    : `<a class="button danger" id="${id}" href="/account/revoke?id=${esc(encodeURIComponent(r.id))}">Revoke<span class="vh"> ${esc(r.name)}${r.device ? ` on ${esc(r.device)}` : ""}</span>…</a>`;
  return `<tr${r.current ? ` class="current" aria-current="true"` : ""} data-client="${esc(r.id)}">
<th scope="row" data-label="Client">${clientName(r)}</th>
<td data-label="Device">${esc(r.device ?? "—")}</td>
<td data-label="Type">${esc(r.type)}</td>
<td data-label="Signed in with">${esc(r.auth.join(", ") || "—")}</td>
<td data-label="First seen">${time(r.firstSeen)}</td>
<td data-label="Last seen">${time(r.lastSeen)}</td>
<td data-label="IP address">${esc(r.ip ?? "—")}</td>
<td data-label="Expires">${r.expires !== undefined ? time(r.expires) : esc(r.expiresNote ?? "—")}</td>
<td data-label="Connected now" data-connected="${r.connected}">${r.connected ? `<span class="yes">Yes</span>${r.connectedNote ? ` <span class="small">(${esc(r.connectedNote)})</span>` : ""}` : "No"}</td>
<td data-label="Action">${action}</td>
</tr>`;
}

export function clientsTable(v: AccountView): string {
  const body = v.rows.length === 0
    ? `<tr><td colspan="10">Nothing has access to your account.</td></tr>`
    : v.rows.map((r) => rowHtml(r, v.csrf)).join("\n");
  return `<table class="cards" id="clients-table">
<caption>Clients and apps with access to ${esc(v.jid)} (${v.rows.length})</caption>
<thead><tr><th scope="col">Client</th><th scope="col">Device</th><th scope="col">Type</th><th scope="col">Signed in with</th><th scope="col">First seen</th><th scope="col">Last seen</th><th scope="col">IP address</th><th scope="col">Expires</th><th scope="col">Connected now</th><th scope="col"><span class="vh">Action</span></th></tr></thead>
<tbody>
${body}
</tbody></table>`;
}

function via(v: unknown): string {
  return v === "account page" ? "on the account page" : v === "xmpp" ? "by an XMPP client" : v === "admin" ? "by the server administrator" : v === "oauth" ? "on the app sign-in page" : typeof v === "string" ? `(${v})` : "";
}

function named(d: Record<string, unknown>): string {
  const sw = typeof d.software === "string" ? `“${d.software}”` : typeof d.resource === "string" ? `a client with resource “${d.resource}”` : "a client";
  return typeof d.device === "string" ? `${sw} on “${d.device}”` : sw;
}

export function describeEvent(e: SecurityEvent): string {
  const d = e.data;
  switch (e.kind) {
    case "new-client": return `New client: ${named(d)}${typeof d.mechanism === "string" ? `, signed in with ${d.mechanism}` : ""}${d.transport === "websocket" ? " over WebSocket" : ""}`;
    case "new-grant": return `App authorized: ${named(d)}`;
    case "client-revoked": return `Access revoked: ${d.software || d.device || d.resource ? named(d) : d.grant ? "an app" : "a client"} ${via(d.via)}`.trim();
    case "client-allowed": return `Access allowed again: ${d.software || d.device ? named(d) : "a client"} ${via(d.via)}`.trim();
    case "password-changed": return `Password changed ${via(d.via)}`.trim();
    case "password-reset": return `Password changed and everything else signed out ${via(d.via)}${typeof d.connections === "number" ? ` (connections closed: ${d.connections}; tokens and app authorizations cancelled: ${d.grants ?? 0})` : ""}`.trim();
    case "login-failed": return `${e.count} failed ${e.count === 1 ? "login" : "logins"} ${via(d.via)}${e.count > 1 ? ", the last one" : ""}${e.ip ? ` from ${e.ip}` : ""}`.trim();
    case "account-login": return `Signed in to the account page${typeof d.browser === "string" ? ` (${d.browser})` : ""}`;
    case "signed-out-others": return `Signed out everywhere else${typeof d.closed === "number" ? ` (${d.closed} connections, ${d.browsers ?? 0} browsers, ${d.grants ?? 0} tokens)` : ""}`;
    default: return e.kind;
  }
}

/** Revoked clients that are refused, each with "Allow again" (not live-updated: rare and deliberate). */
export function revokedTable(v: AccountView): string {
  if (!v.revoked || v.revoked.length === 0) return "";
  const rows = v.revoked.map((r) => `<tr data-revoked="${esc(r.id)}">
<th scope="row" data-label="Client">${esc(r.name)}${r.device ? ` <span class="muted">on ${esc(r.device)}</span>` : ""}</th>
<td data-label="Revoked">${time(r.revokedAt)}</td>
<td data-label="Last seen">${time(r.lastSeen)}</td>
<td data-label="Action"><a class="button" id="${rowId(r.id)}" href="/account/allow?id=${esc(encodeURIComponent(r.id))}">Allow again<span class="vh"> ${esc(r.name)}</span>…</a></td></tr>`).join("\n");
  return `<table class="cards" id="revoked-table">
<caption>Revoked clients (${v.revoked.length}): they are refused even with your password, until you allow them again or change the password</caption>
<thead><tr><th scope="col">Client</th><th scope="col">Revoked</th><th scope="col">Last seen</th><th scope="col"><span class="vh">Action</span></th></tr></thead>
<tbody>
${rows}
</tbody></table>`;
}

export function historyTable(v: AccountView): string {
  const rows = v.events.map((e) => `<tr data-kind="${esc(e.kind)}">
<td data-label="When">${e.count > 1 && e.firstAt !== e.at ? `${time(e.firstAt)} to ${time(e.at)}` : time(e.at)}</td>
<td data-label="What">${esc(describeEvent(e))}</td>
<td data-label="IP address">${esc(e.ip ?? "—")}</td></tr>`).join("\n");
  return `<table class="cards" id="history-table">
<caption>Recent security events, newest first (kept ${v.historyDays} days)</caption>
<thead><tr><th scope="col">When</th><th scope="col">What happened</th><th scope="col">IP address</th></tr></thead>
<tbody>
${rows || `<tr><td colspan="3">Nothing yet.</td></tr>`}
</tbody></table>`;
}

export function accountPage(v: AccountView): string {
  return page(`Your account: ${v.jid}`, `<header class="top">
<h1>Your account <span class="muted small">${esc(v.jid)}</span></h1>
<form method="post" action="/account/logout"><input type="hidden" name="csrf" value="${esc(v.csrf)}"><button type="submit">Sign out</button></form>
</header>
${flashBox(v.flash)}
<p id="live-status" class="vh" aria-live="polite"></p>
<section id="clients" aria-labelledby="clients-h">
<h2 id="clients-h">Clients and apps</h2>
<p class="muted small">Everything that can use your account: XMPP clients, apps you authorized, and your sign-ins to this page.${v.ipTracking ? "" : " IP addresses are not recorded on this server."} Revoking a client closes its connections at once and cancels its tokens.</p>
${clientsTable(v)}
<div class="actions"><a class="button danger" href="/account/sign-out-others">Sign out everywhere else…</a></div>
${revokedTable(v)}
</section>
<section id="password" aria-labelledby="password-h">
<h2 id="password-h">Change password</h2>
<p class="muted small" id="password-effect">Changing your password signs out every other client and browser, and cancels all tokens and app authorizations given before the change.</p>
<form method="post" action="/account/password" aria-describedby="password-effect">
<input type="hidden" name="csrf" value="${esc(v.csrf)}">
<label for="current_password">Current password</label>
<input type="password" id="current_password" name="current_password" autocomplete="current-password" required>
${newPasswordFields(v.passwordMinLength)}
<div class="actions"><button class="primary" type="submit">Change password</button></div>
</form>
</section>
<section id="history" aria-labelledby="history-h">
<h2 id="history-h">Security history</h2>
${historyTable(v)}
</section>`, { live: true });
}

/** The two live parts of the page, fetched by live.js after a change. */
export function fragment(v: AccountView): string {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>update</title></head><body>${clientsTable(v)}${historyTable(v)}</body></html>`;
}


// --- confirmations (password re-entry, OWASP ASVS 7.5.2) --------------------------------------

function details(r: ClientRow): string {
  const item = (k: string, val: string) => `<dt>${k}</dt><dd>${val}</dd>`;
  return `<dl class="details">${item("Client", clientName(r))}${item("Device", esc(r.device ?? "—"))}${item("Type", esc(r.type))}${item("Signed in with", esc(r.auth.join(", ") || "—"))}${item("Last seen", time(r.lastSeen))}${item("IP address", esc(r.ip ?? "—"))}${item("Connected now", r.connected ? "Yes" : "No")}</dl>`;
}

/** The new-password fields, shared by the password form and the combined reset form. */
function newPasswordFields(minLength: number): string {
  return `<label for="new_password">New password <span class="hint" id="new-hint">At least ${minLength} characters</span></label>
<input type="password" id="new_password" name="new_password" autocomplete="new-password" minlength="${minLength}" maxlength="${MAX_PASSWORD}" aria-describedby="new-hint" required>
<label for="confirm_password">New password again</label>
<input type="password" id="confirm_password" name="confirm_password" autocomplete="new-password" minlength="${minLength}" maxlength="${MAX_PASSWORD}" required>`;
}

export function revokePage(v: { row: ClientRow; csrf: string; passwordMinLength: number; error?: string }): string {
  const r = v.row;
  // A password client without a client id comes back with the password (the server cannot
  // tell it from a new client): say so before anything is confirmed, and offer what works.
  if (r.reconnects) {
    return page(`Revoke ${r.name}?`, `<div class="card narrow">
<h1>This app can sign in again</h1>
${flashBox(v.error ? { kind: "error", text: v.error } : undefined)}
${details(r)}
<div class="flash error" role="note" id="reconnect-warning"><p><strong>This app knows your password and will be able to sign in again.</strong> It signed in with your password and without a client id, so the server cannot tell it apart from a new client: revoking it closes its connections now, but it can reconnect at any time.</p>
<p>To keep it out, change your password: that signs out every other client, app and browser at once. This browser stays signed in.</p></div>
<form method="post" action="/account/reset" aria-describedby="reconnect-warning">
<input type="hidden" name="csrf" value="${esc(v.csrf)}">
<input type="hidden" name="id" value="${esc(r.id)}">
<label for="current_password">Your current password</label>
<input type="password" id="current_password" name="current_password" autocomplete="current-password" required autofocus>
${newPasswordFields(v.passwordMinLength)}
<div class="actions"><button class="danger solid" type="submit">Change password and sign out everywhere else</button><a class="button" href="/account">Cancel</a></div>
</form>
<h2>Or only close its connections now</h2>
<form method="post" action="/account/revoke">
<input type="hidden" name="csrf" value="${esc(v.csrf)}">
<input type="hidden" name="id" value="${esc(r.id)}">
<label for="password">Your password <span class="hint">Enter it again to confirm</span></label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<div class="actions"><button class="danger" type="submit">Revoke (it can sign in again)</button></div>
</form></div>`);
  }
  return page(`Revoke ${r.name}?`, `<div class="card narrow">
<h1>Revoke access?</h1>
${flashBox(v.error ? { kind: "error", text: v.error } : undefined)}
${details(r)}
<p>Its connections close at once and its tokens stop working.${r.auth.includes("password") ? " It used your password: it cannot sign in again as this client until you allow it again or change the password, but you should change the password anyway if you do not trust the device." : ""}</p>
<form method="post" action="/account/revoke">
<input type="hidden" name="csrf" value="${esc(v.csrf)}">
<input type="hidden" name="id" value="${esc(r.id)}">
<label for="password">Your password <span class="hint">Enter it again to confirm</span></label>
<input type="password" id="password" name="password" autocomplete="current-password" required autofocus>
<div class="actions"><button class="danger solid" type="submit">Revoke</button><a class="button" href="/account">Cancel</a></div>
</form></div>`);
}

export function allowPage(v: { row: RevokedRow; csrf: string; error?: string }): string {
  const name = `${v.row.name}${v.row.device ? ` on ${v.row.device}` : ""}`;
  return page(`Allow ${v.row.name} again?`, `<div class="card narrow">
<h1>Allow ${esc(name)} again?</h1>
${flashBox(v.error ? { kind: "error", text: v.error } : undefined)}
<p>You revoked this client on ${time(v.row.revokedAt)}. Since then it is refused, even with your password. Allowing it again lets it sign in with your password (or a new token) as before.</p>
<form method="post" action="/account/allow">
<input type="hidden" name="csrf" value="${esc(v.csrf)}">
<input type="hidden" name="id" value="${esc(v.row.id)}">
<label for="password">Your password <span class="hint">Enter it again to confirm</span></label>
<input type="password" id="password" name="password" autocomplete="current-password" required autofocus>
<div class="actions"><button class="primary" type="submit">Allow again</button><a class="button" href="/account">Cancel</a></div>
</form></div>`);
}

export function signOutOthersPage(v: { csrf: string; error?: string; connections: number; browsers: number; grants: number }): string {
  return page("Sign out everywhere else?", `<div class="card narrow">
<h1>Sign out everywhere else?</h1>
${flashBox(v.error ? { kind: "error", text: v.error } : undefined)}
<p>This closes ${v.connections} XMPP ${v.connections === 1 ? "connection" : "connections"}, signs out ${v.browsers} other ${v.browsers === 1 ? "browser" : "browsers"}, and cancels ${v.grants} ${v.grants === 1 ? "token or app authorization" : "tokens and app authorizations"}. This browser stays signed in.</p>
<p>Clients that remember your password can sign in again. To keep them out, change your password instead.</p>
<form method="post" action="/account/sign-out-others">
<input type="hidden" name="csrf" value="${esc(v.csrf)}">
<label for="password">Your password <span class="hint">Enter it again to confirm</span></label>
<input type="password" id="password" name="password" autocomplete="current-password" required autofocus>
<div class="actions"><button class="danger solid" type="submit">Sign out everywhere else</button><a class="button" href="/account">Cancel</a></div>
</form></div>`);
}

export function messagePage(title: string, text: string, link = `<a href="/account">Back to your account</a>`): string {
  return page(title, `<div class="card narrow"><h1>${esc(title)}</h1><p>${esc(text)}</p><p>${link}</p></div>`);
}
