// What the account page shows, from the server's state: one row per client, app or browser
// with access to the account, the revoked clients that can be allowed again, the security
// history, and the counts that the sign-out and password forms announce.
import type { Session } from "../../core/session.js";
import { listAccess, sessionsOfClient, type ClientEntry } from "../../clients/access.js";
import { revokedClients } from "../../clients/allow.js";
import type { BrowserSession } from "./sessions.js";
import type { AccountContext } from "./context.js";
import type { AccountView, ClientRow, RevokedRow } from "./pages.js";

const HISTORY_SHOWN = 50;

function entryRow(ctx: AccountContext, e: ClientEntry): ClientRow {
  const ua = e.userAgent;
  const resource = e.legacy && e.record?.fullJid ? e.record.fullJid.slice(e.record.fullJid.indexOf("/") + 1) : undefined;
  const auth: string[] = [];
  if (e.password !== undefined) auth.push("password");
  if (e.fast !== undefined) auth.push("FAST token");
  if (e.grant && e.grant.kind !== "fast") auth.push(e.permission === "restricted" ? "OAuth (limited access)" : "OAuth");
  const liveOnes: Session[] = e.record ? sessionsOfClient(ctx.server, e.record) : [];
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
    auth: [...new Set(auth)],
    firstSeen: e.firstSeen,
    lastSeen: e.lastSeen,
    connected: e.connected,
    current: false,
  };
  if (ua.softwareVersion) row.version = ua.softwareVersion;
  if (ua.device) row.device = ua.device;
  if (e.ip) row.ip = e.ip;
  if (e.expires !== undefined) row.expires = e.expires;
  else if (e.password !== undefined) row.expiresNote = "When revoked or the password changes";
  if (notes.size > 0) row.connectedNote = [...notes].join(", ");
  if (e.legacy && e.password !== undefined) row.reconnects = true;
  if (e.holdings.length > 0) row.holds = e.holdings.map((h) => h.text);
  return row;
}

function browserRow(ctx: AccountContext, b: BrowserSession, me: BrowserSession | undefined): ClientRow {
  const row: ClientRow = {
    id: `web/${b.handle}`,
    name: b.browser,
    type: "Account page (browser)",
    auth: ["password"],
    firstSeen: b.createdAt,
    lastSeen: b.lastSeen,
    expires: ctx.sessions.expiresAt(b),
    connected: ctx.live.connected(b),
    current: b === me,
  };
  if (ctx.server.config.client_ip_tracking) row.ip = b.ip;
  if (row.connected) row.connectedNote = "page open";
  return row;
}

export async function revokedRows(ctx: AccountContext, username: string): Promise<RevokedRow[]> {
  return (await revokedClients(ctx.server, username)).map((r) => {
    const row: RevokedRow = { id: `client/${r.id}`, name: r.userAgent?.software ?? "Unnamed client", revokedAt: r.revokedAt!, lastSeen: r.lastSeen };
    if (r.userAgent?.device) row.device = r.userAgent.device;
    return row;
  });
}

export async function rowsFor(ctx: AccountContext, username: string, me?: BrowserSession): Promise<ClientRow[]> {
  const entries = await listAccess(ctx.server, username);
  const browsers = ctx.sessions.ofUser(username).sort((a, b) => a.createdAt - b.createdAt);
  return [...entries.map((e) => entryRow(ctx, e)), ...browsers.map((b) => browserRow(ctx, b, me))];
}

export async function view(ctx: AccountContext, s: BrowserSession): Promise<AccountView> {
  const { server } = ctx;
  return {
    jid: `${s.username}@${server.config.domain}`,
    csrf: s.csrf,
    rows: await rowsFor(ctx, s.username, s),
    events: await server.storage.events.list(s.username, HISTORY_SHOWN),
    historyDays: server.config.security_history_days,
    ipTracking: server.config.client_ip_tracking,
    revoked: await revokedRows(ctx, s.username),
    passwordMinLength: server.config.password_min_length,
  };
}

/** A row of the account's list, by its selector (client/…, grant/…, web/…). */
export async function findRow(ctx: AccountContext, s: BrowserSession, id: string | null | undefined): Promise<ClientRow | undefined> {
  return id ? (await rowsFor(ctx, s.username, s)).find((r) => r.id === id) : undefined;
}

export async function findRevoked(ctx: AccountContext, s: BrowserSession, id: string | null | undefined): Promise<RevokedRow | undefined> {
  return id ? (await revokedRows(ctx, s.username)).find((r) => r.id === id) : undefined;
}

/** XMPP streams of an account (hibernating ones too). */
export function streamsOf(ctx: AccountContext, username: string): Session[] {
  return [...ctx.server.streams].filter((s) => s.username === username);
}

/** What signing out everywhere else (or a new password) ends, besides this browser. */
export async function counts(ctx: AccountContext, s: BrowserSession): Promise<{ connections: number; browsers: number; grants: number }> {
  return {
    connections: streamsOf(ctx, s.username).length,
    browsers: ctx.sessions.ofUser(s.username).filter((b) => b !== s).length,
    grants: (await ctx.server.storage.grants.list(s.username)).length,
  };
}
