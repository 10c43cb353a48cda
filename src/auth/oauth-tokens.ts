// OAuth 2.0 grants and tokens on the grant/token store. Each authorisation an account owner
// gives an app is one grant of kind "oauth" holding the app's name, URI and software; its
// access tokens (purpose "oauth2") and refresh tokens ("oauth2-refresh") are tokens of that
// grant, so revoking the grant kills them all and closes the XMPP sessions they opened.
//
// Tokens are opaque: "secret-token:" (RFC 8959) + 32 random bytes, base64url. Only their
// SHA-256 is stored; they are never logged. A refresh token is rotated on every use; the used
// one stays behind as an "oauth2-refresh-used" marker until it would have expired, so that a
// second use is recognised as theft and revokes the whole grant.
import { createHash, randomBytes } from "node:crypto";
import type { Server } from "../core/server.js";
import type { GrantData, GrantRecord, TokenRecord } from "../storage/types.js";
import { tokenHash } from "./grants.js";
import { publicBaseUrl } from "../http/browser.js";

export const GRANT_KIND = "oauth";
export const ACCESS_PURPOSE = "oauth2";
export const REFRESH_PURPOSE = "oauth2-refresh";
export const REFRESH_USED_PURPOSE = "oauth2-refresh-used";
const TOKEN_PREFIX = "secret-token:";
/** Token syntax accepted from clients (RFC 6750 b64token, plus the ':' of the secret-token scheme). */
export const TOKEN_RE = /^[A-Za-z0-9\-._~+/:]{1,512}=*$/;

/** The scopes we know, with what the consent page says of them. */
export const SCOPES: Record<string, string> = {
  xmpp: "Full access to your account: chat as you, read and change your contacts, and see and revoke your other apps and devices",
  "xmpp:user": "Chat as you and read and change your contacts, but not see or revoke your other apps and devices",
  offline_access: "Keep this access when you are not using the app (until you revoke it)",
};
/** Scopes that give access to the account; a grant needs one. "xmpp" is full access, the others restrict it. */
export const ROLE_SCOPES = ["xmpp", "xmpp:user"];

/** A scope string split into known scopes (unknown ones are dropped, as in the reference), in a stable order. */
export function knownScopes(scope: string | undefined): string[] {
  const asked = new Set((scope ?? "").split(" ").filter((s) => s !== ""));
  return Object.keys(SCOPES).filter((s) => asked.has(s));
}

/** The role a set of scopes gives (the broadest role scope), or undefined when it gives none. */
export function roleOf(scopes: string[]): string | undefined {
  return ROLE_SCOPES.find((r) => scopes.includes(r));
}

export function newToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString("base64url");
}

/** base64url(SHA-256(client_id)): how a grant remembers its client without holding the id. */
export function clientIdHash(clientId: string): string {
  return createHash("sha256").update(clientId).digest("base64url");
}

export interface OAuthClientInfo {
  clientName: string;
  clientUri: string;
  softwareId?: string;
  softwareVersion?: string;
  clientIdHash: string;
}

export interface IssuedTokens {
  access_token: string;
  token_type: "bearer";
  expires_in: number;
  scope: string;
  refresh_token?: string;
}

/** A verified access token. */
export interface BearerInfo {
  username: string;
  grantId: string;
  tokenHash: string;
  scopes: string[];
  /** True when the token's scope is narrower than full access ("xmpp"). */
  restricted: boolean;
  grant: GrantRecord;
}

/** Grant data keys read by client management (src/clients/access.ts). */
export function grantData(client: OAuthClientInfo, scopes: string[]): GrantData {
  const data: GrantData = {
    clientName: client.clientName,
    clientUri: client.clientUri,
    clientIdHash: client.clientIdHash,
    scopes: scopes.join(" "),
    restricted: !scopes.includes("xmpp"),
  };
  if (client.softwareId) data.softwareId = client.softwareId;
  if (client.softwareVersion) data.softwareVersion = client.softwareVersion;
  return data;
}

export async function createOAuthGrant(server: Server, username: string, client: OAuthClientInfo, scopes: string[]): Promise<GrantRecord> {
  return server.services.get("grants").create(username, GRANT_KIND, { data: grantData(client, scopes) });
}

/** New token records for a grant (not stored yet) and the response that hands them out. */
function mintTokens(
  server: Server,
  grant: GrantRecord,
  scopes: string[],
  withRefresh: boolean,
  now: number,
): { records: TokenRecord[]; response: IssuedTokens } {
  const ttl = server.config.oauth2_access_token_ttl;
  const access = newToken();
  const role = roleOf(scopes);
  const accessRec: TokenRecord = {
    hash: tokenHash(access),
    grantId: grant.id,
    username: grant.username,
    purpose: ACCESS_PURPOSE,
    createdAt: now,
    expiresAt: now + ttl * 1000,
    data: { scope: scopes.join(" ") },
  };
  if (role) accessRec.role = role;
  const records = [accessRec];
  const response: IssuedTokens = { access_token: access, token_type: "bearer", expires_in: ttl, scope: scopes.join(" ") };
  if (withRefresh) {
    const refresh = newToken();
    records.push({
      hash: tokenHash(refresh),
      grantId: grant.id,
      username: grant.username,
      purpose: REFRESH_PURPOSE,
      createdAt: now,
      expiresAt: now + server.config.oauth2_refresh_token_ttl * 1000,
    });
    response.refresh_token = refresh;
  }
  return { records, response };
}

/** Issues an access token (and a refresh token when asked) for a grant. */
export async function issueTokens(server: Server, grant: GrantRecord, scopes: string[], withRefresh: boolean): Promise<IssuedTokens> {
  const { records, response } = mintTokens(server, grant, scopes, withRefresh, Date.now());
  for (const r of records) await server.services.get("grants").addToken(r);
  return response;
}

/**
 * Refresh rotation in one transaction: the used refresh token becomes a "used" marker (kept
 * until it would have expired, for reuse detection) and a new access and refresh token are
 * added. Undefined when the old token was already gone (a concurrent use: the caller treats it
 * as reuse).
 */
export async function rotateRefresh(server: Server, grant: GrantRecord, old: TokenRecord, scopes: string[]): Promise<IssuedTokens | undefined> {
  const now = Date.now();
  const { records, response } = mintTokens(server, grant, scopes, true, now);
  const marker: TokenRecord = { hash: old.hash, grantId: grant.id, username: grant.username, purpose: REFRESH_USED_PURPOSE, createdAt: now };
  if (old.expiresAt !== undefined) marker.expiresAt = old.expiresAt;
  if (!(await server.storage.grants.replaceToken(old.hash, [marker, ...records]))) return undefined;
  for (const t of records) await server.bus.emit("token-created", { username: t.username, grantId: t.grantId, hash: t.hash, purpose: t.purpose });
  return response;
}

export function tokenScopes(t: TokenRecord, grant: GrantRecord): string[] {
  const s = t.data?.scope ?? grant.data.scopes;
  return knownScopes(s);
}

/** Moves the grant's last-seen forward on use, at most once a second (the list shows whole seconds). */
export async function touchGrant(server: Server, grant: GrantRecord, now = Date.now()): Promise<void> {
  if (now - grant.accessedAt < 1000) return;
  await server.storage.grants.touch(grant.username, grant.id, now);
}

/**
 * Looks up a live token of an OAuth grant: undefined when unknown, expired, of another purpose,
 * or when its grant is gone, expired or older than the last password change.
 */
export async function liveToken(server: Server, token: string, purpose: string, now = Date.now()): Promise<{ t: TokenRecord; grant: GrantRecord } | undefined> {
  if (!token.startsWith(TOKEN_PREFIX) || !TOKEN_RE.test(token)) return undefined;
  const t = await server.storage.grants.getToken(tokenHash(token));
  if (!t || t.purpose !== purpose) return undefined;
  if (t.expiresAt !== undefined && t.expiresAt <= now) return undefined;
  const grant = await server.storage.grants.get(t.username, t.grantId);
  if (!grant || grant.kind !== GRANT_KIND) return undefined;
  if (!(await server.services.get("grants").valid(grant, now))) return undefined;
  return { t, grant };
}

/** Verifies an access token (REST, SASL OAUTHBEARER) and records the use on its grant. */
export async function verifyBearer(server: Server, token: string): Promise<BearerInfo | undefined> {
  const now = Date.now();
  const live = await liveToken(server, token, ACCESS_PURPOSE, now);
  if (!live) return undefined;
  const { t, grant } = live;
  await touchGrant(server, grant, now);
  const scopes = tokenScopes(t, grant);
  return { username: t.username, grantId: grant.id, tokenHash: t.hash, scopes, restricted: !scopes.includes("xmpp"), grant };
}

/** The URL of the authorization server metadata, for the OAUTHBEARER error challenge. */
export function metadataUrl(server: Server): string | undefined {
  const base = publicBaseUrl(server);
  return base === undefined ? undefined : `${base}/.well-known/oauth-authorization-server`;
}
