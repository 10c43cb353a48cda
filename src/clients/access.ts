// What has access to an account right now: one entry per client (live session, SASL2 client,
// legacy client, FAST tokens) and per OAuth grant not already shown through a client. Shared
// by the manage-clients IQs, the admin shell and the account page.
import type { Server } from "../core/server.js";
import type { Session } from "../core/session.js";
import type { ClientRecord, ClientUserAgent, GrantRecord, TokenRecord } from "../storage/types.js";
import type { ClientHolding } from "../events.js";

export interface ClientEntry {
  /** "client/<id>" or "grant/<id>". */
  id: string;
  type: "session" | "access";
  connected: boolean;
  firstSeen: number;
  lastSeen: number;
  expires?: number;
  /** Last use of a password mechanism since the last password change. */
  password?: number;
  /** The valid grant the client holds (OAuth). */
  grant?: GrantRecord;
  /** Latest expiry among the client's valid FAST tokens. */
  fast?: number;
  userAgent: ClientUserAgent;
  ip?: string;
  legacy: boolean;
  /** "unrestricted" for full access; "restricted" for a grant limited by scope. */
  permission: "unrestricted" | "restricted";
  record?: ClientRecord;
  /** What the client holds besides its credentials (push registration, uploads, archive sync). */
  holdings: ClientHolding[];
}

/**
 * The id of the client record a session belongs to: its SASL2 client id, or the record id the
 * tracker gave a legacy client. Features that keep state per client (push, uploads) key it by this,
 * so the client list can show it and a revocation can end it.
 */
export function clientIdOf(s: Session): string | undefined {
  return s.data.clientId ?? s.data.clientRecordId;
}

/** OAUTHBEARER and HT-* prove a token, not the password. */
export function isTokenMechanism(name: string): boolean {
  return name === "OAUTHBEARER" || name.startsWith("HT-");
}

/** Every live session of an account: bound, still authenticating, or hibernating. */
export function liveSessionsOf(server: Server, username: string): Session[] {
  const out = new Set<Session>(server.registry.sessionsOf(username));
  for (const s of server.streams) if (s.username === username) out.add(s);
  return [...out];
}

function belongsTo(s: Session, rec: ClientRecord): boolean {
  if (!rec.legacy) return s.data.clientId === rec.id;
  return !s.data.clientId && (s.data.clientRecordId === rec.id || (!!rec.fullJid && s.jid?.toString() === rec.fullJid));
}

/** Live sessions that belong to a client record. */
export function sessionsOfClient(server: Server, rec: ClientRecord, live = liveSessionsOf(server, rec.username)): Session[] {
  return live.filter((s) => belongsTo(s, rec));
}

function usable(t: TokenRecord, now: number, pwChanged: number): boolean {
  return (t.expiresAt === undefined || t.expiresAt > now) && t.createdAt >= pwChanged;
}

/** What a grant says of its app (OAuth client name, software, device). */
export function grantUserAgent(g: GrantRecord): ClientUserAgent {
  const d = g.data;
  const ua: ClientUserAgent = {};
  if (d.clientName ?? d.software) ua.software = d.clientName ?? d.software;
  if (d.softwareId) ua.softwareId = d.softwareId;
  if (d.softwareVersion) ua.softwareVersion = d.softwareVersion;
  if (d.clientUri) ua.uri = d.clientUri;
  if (d.device) ua.device = d.device;
  return ua;
}

export async function listAccess(server: Server, username: string, now = Date.now()): Promise<ClientEntry[]> {
  const user = await server.storage.users.get(username);
  if (!user) return [];
  const pw = user.passwordChangedAt;
  const [records, grants, tokens] = await Promise.all([
    server.storage.clients.list(username),
    server.storage.grants.list(username),
    server.storage.grants.userTokens(username),
  ]);
  const tokensByGrant = new Map<string, TokenRecord[]>();
  for (const t of tokens) {
    if (!usable(t, now, pw)) continue;
    const l = tokensByGrant.get(t.grantId) ?? [];
    l.push(t);
    tokensByGrant.set(t.grantId, l);
  }
  const validGrant = (g: GrantRecord | undefined) =>
    !!g && (g.expiresAt === undefined || g.expiresAt > now) && g.createdAt >= pw && (tokensByGrant.get(g.id)?.length ?? 0) > 0;
  const grantById = new Map(grants.map((g) => [g.id, g]));
  const fastGrantByClient = new Map<string, GrantRecord>();
  for (const g of grants) if (g.kind === "fast" && g.clientId !== undefined && validGrant(g)) fastGrantByClient.set(g.clientId, g);
  const used = new Set<string>();
  const entries: ClientEntry[] = [];
  // One pass over the live sessions, not one per record: an account may have many records.
  const live = liveSessionsOf(server, username);
  const liveKeys = new Set<string>();
  for (const s of live) {
    if (s.data.clientId) liveKeys.add(`id:${s.data.clientId}`);
    else {
      if (s.data.clientRecordId) liveKeys.add(`legacy:${s.data.clientRecordId}`);
      if (s.jid) liveKeys.add(`jid:${s.jid.toString()}`);
    }
  }
  const isConnected = (rec: ClientRecord) =>
    rec.legacy ? liveKeys.has(`legacy:${rec.id}`) || (!!rec.fullJid && liveKeys.has(`jid:${rec.fullJid}`)) : liveKeys.has(`id:${rec.id}`);

  for (const rec of records) {
    const connected = isConnected(rec);
    if (rec.revokedAt !== undefined && rec.revokedAt >= pw && !connected) continue;
    let password: number | undefined;
    for (const [mech, at] of Object.entries(rec.mechanisms)) {
      if (!isTokenMechanism(mech) && at >= pw && at > (rec.revokedAt ?? -1)) password = Math.max(password ?? 0, at);
    }
    const fastGrant = rec.legacy ? undefined : fastGrantByClient.get(rec.id);
    const fast = fastGrant ? Math.max(...tokensByGrant.get(fastGrant.id)!.map((t) => t.expiresAt ?? 0)) : undefined;
    if (fastGrant) used.add(fastGrant.id);
    const g = rec.grantId ? grantById.get(rec.grantId) : undefined;
    const grant = validGrant(g) ? g : undefined;
    if (grant) used.add(grant.id);
    if (!connected && password === undefined && fast === undefined && !grant) continue;
    entries.push({
      id: `client/${rec.id}`,
      type: "session",
      connected,
      firstSeen: rec.firstSeen,
      lastSeen: rec.lastSeen,
      expires: fast,
      password,
      grant,
      fast,
      // An OAuth app's name, software and URI (its grant's data) fill in what the login did not say.
      userAgent: grant?.kind === "oauth" ? { ...grantUserAgent(grant), ...rec.userAgent } : (rec.userAgent ?? {}),
      ip: rec.lastIp,
      legacy: rec.legacy,
      permission: grant && grant.data.restricted ? "restricted" : "unrestricted",
      record: rec,
      holdings: [],
    });
  }

  for (const g of grants) {
    if (used.has(g.id) || g.kind === "fast" || !validGrant(g)) continue;
    const expires = g.expiresAt ?? Math.max(...tokensByGrant.get(g.id)!.map((t) => t.expiresAt ?? 0));
    entries.push({
      id: `grant/${g.id}`,
      type: "access",
      connected: false,
      firstSeen: g.createdAt,
      lastSeen: g.accessedAt,
      expires: expires || undefined,
      grant: g,
      userAgent: grantUserAgent(g),
      legacy: false,
      permission: g.data.restricted ? "restricted" : "unrestricted",
      holdings: [],
    });
  }
  const byClient = new Map(entries.flatMap((e) => (e.record ? [[e.record.id, e] as const] : [])));
  await server.bus.emit("client-holdings", {
    username,
    hold: (clientId, holding) => byClient.get(clientId)?.holdings.push(holding),
  });
  // Oldest use first, most recently used last (the reference's order).
  entries.sort((a, b) => a.lastSeen - b.lastSeen || a.firstSeen - b.firstSeen || (a.id < b.id ? -1 : 1));
  return entries;
}
