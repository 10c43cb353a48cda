// Every security event goes into the server's log at `info`, one line each, with one stable
// schema an operator can filter and fail2ban can match (the README lists the events and their
// fields): `event` first, then `account` (a bare JID) and `ip`, then what else the event has.
// When X happens on the bus (a login, a failed login, a revocation, a password change, a new
// grant, an admin command…), write one such line; it is the same events the account page's
// security history records (security-history.ts), seen by the operator.
// Addresses are logged whatever client_ip_tracking says: that key is about what is kept in the
// database and shown to users; blocking an attacker (fail2ban) needs the address in the log.
import type { Server } from "../core/server.js";
import type { Session } from "../core/session.js";
import { grantUserAgent, isTokenMechanism } from "../clients/access.js";
import { defineFeature } from "../core/feature.js";

/**
 * The event's name: "login", "login-failed", "login-throttled", "client-revoked", "client-allowed",
 * "password-changed", "grant-issued", "grant-revoked", "account-deleted", "admin-command",
 * "new-client", or a kind the account page records itself ("signed-out-others"…).
 */
type SecurityEventName = string;

export interface SecurityEvent {
  event: SecurityEventName;
  /** The account concerned, as a bare JID; for a failed login, the one tried (which may not exist). */
  account?: string;
  ip?: string;
  [field: string]: unknown;
}

/** Per server: which address/account pairs have been reported as throttled, until when. */
const throttled = new WeakMap<Server, Map<string, number>>();

const jidOf = (server: Server, username: string | undefined) => (username ? `${username}@${server.config.domain}` : undefined);

/**
 * Writes one security event; undefined fields are left out, so the schema stays what the README
 * says. For a failed login, `username` is the account's local part when it is one (to see
 * whether the failure used up the account's allowance).
 */
export function logSecurityEvent(server: Server, e: SecurityEvent, username?: string): void {
  const line: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) if (v !== undefined && v !== "") line[k] = v;
  server.log.info(line, `security: ${e.event}`);
  if (e.event === "login-failed" && typeof e.ip === "string") reportThrottle(server, e.ip, username, e.account);
}

/** A login name as tried, for the log: attacker-chosen, so bounded (JSON escaping keeps it on its line). */
export function triedName(server: Server, username: string | undefined, raw: string | undefined): string | undefined {
  return username ? jidOf(server, username) : raw?.slice(0, 256);
}

/** After a failure: when it used up the address's or the account's allowance, say so once per window. */
function reportThrottle(server: Server, ip: string, username: string | undefined, account: string | undefined): void {
  if (!server.services.get("loginThrottle").blocked(ip, username)) return;
  const scope = server.services.get("loginThrottle").blocked(ip, undefined) ? "ip" : "account";
  const key = scope === "ip" ? `ip:${ip}` : `user:${username}`;
  const seen = throttled.get(server) ?? new Map<string, number>();
  throttled.set(server, seen);
  const now = Date.now();
  for (const [k, until] of seen) if (until <= now) seen.delete(k);
  if (seen.has(key)) return;
  seen.set(key, now + server.config.login_failure_window * 1000);
  server.log.info(
    { event: "login-throttled", ...(scope === "account" && account ? { account } : {}), ip, scope, seconds: server.config.login_failure_window },
    "security: login-throttled",
  );
}

/** Only plain values from a history entry's data: it is written by several features. */
function plainFields(data: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data ?? {})) if (["string", "number", "boolean"].includes(typeof v)) out[k] = v;
  return out;
}

/** Fields an admin request may carry that are worth a log line; anything else (a password one day) is not logged. */
const ADMIN_FIELDS = ["jid", "username", "selector"] as const;

export default defineFeature({ name: "security-log", needs: ["loginThrottle"], setup: securityLog });

function securityLog(server: Server): () => void {
  const log = (e: SecurityEvent) => logSecurityEvent(server, e);
  const ipOf = (s: Session) => s.ip;

  const offs = [
    server.bus.on("authenticated", ({ session, mechanism, sasl2 }) => {
      const ua = session.data.userAgent ?? {};
      log({
        event: "login",
        account: session.bareJid,
        ip: ipOf(session),
        client: session.data.clientId,
        software: ua.software,
        device: ua.device,
        mechanism,
        via: sasl2 ? "sasl2" : "sasl",
        transport: session.data.transport ?? "tcp",
      });
    }),
    server.bus.on("authentication-failure", ({ session, username, mechanism, sasl2 }) => {
      // A stale token (expired, revoked, older than the password) is routine, not a guess: its own reason.
      logSecurityEvent(
        server,
        {
          event: "login-failed",
          account: jidOf(server, username),
          ip: ipOf(session),
          reason: mechanism && isTokenMechanism(mechanism) ? "bad-token" : "bad-credentials",
          mechanism,
          via: sasl2 ? "sasl2" : "sasl",
          transport: session.data.transport ?? "tcp",
        },
        username,
      );
    }),
    server.bus.on("new-client", ({ username, client, session }) =>
      log({
        event: "new-client",
        account: jidOf(server, username),
        ip: ipOf(session),
        client: client.id,
        software: client.userAgent?.software,
        device: client.userAgent?.device,
      }),
    ),
    server.bus.on("client-revoked", (e) =>
      log({
        event: "client-revoked",
        account: jidOf(server, e.username),
        ip: e.ip,
        client: e.clientId,
        grant: e.grantId,
        software: e.name,
        via: e.via ?? "xmpp",
      }),
    ),
    server.bus.on("client-allowed", (e) => log({ event: "client-allowed", account: jidOf(server, e.username), ip: e.ip, client: e.clientId, via: e.via })),
    server.bus.on("password-changed", (e) => log({ event: "password-changed", account: jidOf(server, e.username), ip: e.ip, via: e.via ?? "admin" })),
    server.bus.on("grant-created", ({ username, grant }) =>
      log({
        event: "grant-issued",
        account: jidOf(server, username),
        grant: grant.id,
        kind: grant.kind,
        client: grant.clientId,
        software: grantUserAgent(grant).software,
      }),
    ),
    server.bus.on("grant-revoked", (e) => log({ event: "grant-revoked", account: jidOf(server, e.username), grant: e.grantId, reason: e.reason })),
    server.bus.on("user-deleted", ({ username }) => log({ event: "account-deleted", account: jidOf(server, username) })),
    // What the account page records itself (its sign-ins, browser revocations, sign-out-everywhere).
    server.bus.on("security-history", (e) => {
      if (e.kind === "login-failed") return; // logged where it happens (logSecurityEvent from the login forms)
      log({
        event: e.kind === "account-login" ? "login" : e.kind,
        account: jidOf(server, e.username),
        ip: e.ip,
        ...plainFields(e.data),
        ...(e.kind === "account-login" ? { via: "account page" } : {}),
      });
    }),
    server.bus.on("admin-command", (req) => {
      if (req.op === "status") return; // `warden check` asks it; nothing changes
      const fields: Record<string, unknown> = {};
      for (const k of ADMIN_FIELDS) if (typeof req[k] === "string") fields[k] = req[k];
      log({ event: "admin-command", op: req.op, ...fields, via: "admin socket" });
    }),
  ];
  return () => {
    for (const off of offs) off();
  };
}
