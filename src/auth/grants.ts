// The grant/token store's rules, over storage: creating grants and tokens, revoking them (with
// the bus events that let live sessions be closed at once), and the periodic clean-up.
import { createHash, randomBytes } from "node:crypto";
import type { Server } from "../core/server.js";
import type { GrantData, GrantRecord, TokenRecord } from "../storage/types.js";
import { defineFeature } from "../core/feature.js";

declare module "../core/services.js" {
  interface Services {
    grants: Grants;
  }
}

declare module "../core/session.js" {
  interface SessionData {
    /** The grant this session logged in with (FAST, OAuth): revoking it closes the session. */
    grantId?: string;
    /** The token it logged in with: revoking that token closes the session. */
    tokenHash?: string;
  }
}

export function tokenHash(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export function newGrantId(): string {
  return randomBytes(9).toString("base64url");
}

export class Grants {
  constructor(private readonly server: Server) {}

  private get store() {
    return this.server.storage.grants;
  }

  async create(username: string, kind: string, opts: { clientId?: string; ttlMs?: number; data?: GrantData } = {}): Promise<GrantRecord> {
    const now = Date.now();
    const grant: GrantRecord = { id: newGrantId(), username, kind, createdAt: now, accessedAt: now, data: opts.data ?? {} };
    if (opts.clientId !== undefined) grant.clientId = opts.clientId;
    if (opts.ttlMs !== undefined) grant.expiresAt = now + opts.ttlMs;
    await this.store.create(grant);
    await this.server.bus.emit("grant-created", { username, grant });
    return grant;
  }

  /** Stores a token of a grant (only its hash, plus the sealed secret when given) and announces it. */
  async addToken(token: TokenRecord): Promise<void> {
    await this.store.addToken(token);
    await this.server.bus.emit("token-created", { username: token.username, grantId: token.grantId, hash: token.hash, purpose: token.purpose });
  }

  async revokeGrant(username: string, grantId: string, reason = "revoked"): Promise<boolean> {
    const ok = await this.store.revoke(username, grantId);
    if (ok) await this.server.bus.emit("grant-revoked", { username, grantId, reason });
    return ok;
  }

  async revokeToken(token: TokenRecord, reason = "revoked"): Promise<boolean> {
    const ok = await this.store.deleteToken(token.hash);
    if (ok) await this.server.bus.emit("token-revoked", { username: token.username, grantId: token.grantId, hash: token.hash, reason });
    return ok;
  }

  /** Whether a grant may still be used: not expired, not older than the last password change. */
  async valid(grant: GrantRecord, now = Date.now()): Promise<boolean> {
    if (grant.expiresAt !== undefined && grant.expiresAt <= now) return false;
    const user = await this.server.storage.users.get(grant.username);
    return !!user && grant.createdAt >= user.passwordChangedAt;
  }

  async purge(): Promise<number> {
    const dead = await this.store.purge(Date.now());
    for (const g of dead) await this.server.bus.emit("grant-revoked", { username: g.username, grantId: g.id, reason: "expired" });
    return dead.length;
  }
}

export default defineFeature({ name: "grants", provides: ["grants"], setup: grants });

/** Provides the grant store and runs its clean-up job. */
function grants(server: Server): () => void {
  const store = new Grants(server);
  server.services.provide("grants", store);
  const timer = setInterval(() => {
    store.purge().catch((err) => server.log.error({ err }, "grant clean-up failed"));
  }, 3600_000);
  timer.unref();
  void store.purge().catch((err) => server.log.error({ err }, "grant clean-up failed"));
  return () => clearInterval(timer);
}
