// Invitations (XEP-0401 "Easy User Onboarding", XEP-0445 "Pre-Authenticated In-Band
// Registration", XEP-0379 "Pre-Authenticated Roster Subscription"), shared by the `warden`
// command, the registration feature and the invite page. A token is 144 random bits; only its
// SHA-256 is stored, so a copy of the database redeems nothing. An account or reset invitation
// is single-use: taking it is one storage step (InviteStore.take).
import { createHash, randomBytes } from "node:crypto";
import type { Config } from "../core/config.js";
import { randomId } from "../core/random.js";
import type { InviteKind, InviteRecord, Storage } from "../storage/types.js";

export const INVITE_PATH = "/invite/";
/** What a token looks like: 24 base64url characters (18 bytes); anything else is not looked up. */
export const TOKEN_SHAPE = /^[A-Za-z0-9_-]{24}$/;

export function tokenHash(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export interface NewInvite {
  token: string;
  record: InviteRecord;
}

/** Creates and stores an invitation valid for `ttlSeconds`. */
export async function createInvite(storage: Storage, kind: InviteKind, ttlSeconds: number, username?: string, now = Date.now()): Promise<NewInvite> {
  const token = randomBytes(18).toString("base64url");
  const record: InviteRecord = { id: randomId(6), hash: tokenHash(token), kind, createdAt: now, expiresAt: now + ttlSeconds * 1000 };
  if (username !== undefined) record.username = username;
  await storage.invites.create(record);
  return { token, record };
}

export type InviteState = { ok: true; invite: InviteRecord } | { ok: false; why: "unknown" | "expired" };

/** Looks a token up without using it: unknown (never issued, used or revoked) or expired are told apart. */
export async function findInvite(storage: Storage, token: string | undefined, now = Date.now()): Promise<InviteState> {
  if (token === undefined || !TOKEN_SHAPE.test(token)) return { ok: false, why: "unknown" };
  const invite = await storage.invites.get(tokenHash(token));
  if (!invite) return { ok: false, why: "unknown" };
  if (invite.expiresAt <= now) return { ok: false, why: "expired" };
  return { ok: true, invite };
}

/** The invite page's URL: http_external_url, else the first HTTPS port on the domain. */
export function inviteUrl(config: Config, token: string, base?: string): string {
  const port = config.https_ports[0];
  const origin = base ?? config.http_external_url ?? `https://${config.domain}${port === undefined || port === 443 ? "" : `:${port}`}`;
  return `${origin}${INVITE_PATH}${token}`;
}

/** The xmpp: URI a client opens (XEP-0401 §4, XEP-0379 §3). */
export function inviteUri(config: Config, invite: InviteRecord, token: string): string {
  // ibr=y: the token also registers an account (XEP-0445 §3.3).
  if (invite.kind === "roster") return `xmpp:${invite.username}@${config.domain}?roster;preauth=${token};ibr=y`;
  const who = invite.kind === "reset" ? `${invite.username}@` : "";
  return `xmpp:${who}${config.domain}?register;preauth=${token}`;
}

/** "7d", "12h", "30m", "90s" or plain seconds, as seconds; undefined when not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d{1,9})([smhdw]?)$/.exec(text.trim());
  if (!m) return undefined;
  const unit = { "": 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2] as "" | "s" | "m" | "h" | "d" | "w"];
  const seconds = Number(m[1]) * unit;
  return seconds > 0 ? seconds : undefined;
}
