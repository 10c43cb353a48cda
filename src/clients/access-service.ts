// The access service: the one place that decides what a revocation ends. Every way in — the
// manage-clients IQs, the account page, the admin shell, OAuth's revocation endpoint — calls
// it to revoke a client, a grant or a piece of software, allow a client again, sign out
// everywhere else, change or reset the password, or delete the account; and it is the only
// code that closes sessions for access reasons. When a grant or token ends however it ended
// (expiry, reuse detected, a password reset), it ends the sessions that used it.
//
// Sessions are chosen by a SessionSelector, plain data rather than a closure: this is where a
// cluster will send the decision to every node (the cluster issue), each ending its own.
import type { Server } from "../core/server.js";
import { streamErrors, type StreamErrorDef } from "../core/errors.js";
import { defineFeature } from "../core/feature.js";
import type { Actor } from "../events.js";
import type { PayloadOf } from "../core/events.js";
import type { TokenRecord } from "../storage/types.js";
import { changePassword, resetPassword as resetStored } from "../auth/accounts.js";
import { grantUserAgent, listAccess, liveSessionsOf, type ClientEntry } from "./access.js";
import { allowClient, type AllowResult } from "./allow.js";
import { clientLabel, revokedText, type RevokeResult } from "./revoke-text.js";
import { clientSelector, selects, type SessionSelector } from "./session-selector.js";

declare module "../core/services.js" {
  interface Services {
    access: AccessService;
  }
}

const SELECTOR = /^([A-Za-z0-9]+)\/(.+)$/s;

export interface PasswordContext extends Actor {
  /** Runs between the change and the sign-outs: the account page signs its own browser in again here. */
  changed?: (changedAt: number) => void;
}
export interface ResetResult {
  changedAt: number;
  connections: number;
  grants: number;
}

export class AccessService {
  constructor(private readonly server: Server) {}

  private get grants() {
    return this.server.services.get("grants");
  }

  /**
   * Ends the live sessions of an account that the selector names (hibernating ones too, which
   * then cannot be resumed), each with the stream error and text given. The only place that
   * closes sessions for access reasons; returns how many it closed.
   */
  end(username: string, which: SessionSelector, error: StreamErrorDef, text?: string): number {
    let n = 0;
    for (const s of liveSessionsOf(this.server, username)) {
      if (!s.closed && selects(s, which)) {
        s.close(error, text);
        n++;
      }
    }
    return n;
  }

  /** Everything that has access to the account now. */
  list(username: string): Promise<ClientEntry[]> {
    return listAccess(this.server, username);
  }

  /** Revokes `client/ID`, `grant/ID` or `software/NAME[/VERSION]`. */
  async revoke(username: string, selector: string | undefined, actor: Actor = {}): Promise<RevokeResult> {
    const m = selector === undefined ? null : SELECTOR.exec(selector);
    if (!m) return "not-found";
    const kind = m[1],
      rest = m[2] ?? "";
    if (kind === "client") return this.revokeClient(username, rest, actor);
    if (kind === "grant") return this.revokeGrantOf(username, rest, actor);
    if (kind === "software") {
      const hit = (await this.list(username)).find((e) => {
        const sw = e.userAgent.software;
        return sw !== undefined && (sw === rest || (e.userAgent.softwareVersion !== undefined && `${sw}/${e.userAgent.softwareVersion}` === rest));
      });
      return hit ? this.revoke(username, hit.id, actor) : "not-found";
    }
    return "not-found";
  }

  /**
   * A client loses all of it, even while connected, in this order: its live sessions end (no
   * resumption), its FAST tokens and grant are revoked, the revocation is remembered (its id is
   * refused until the password changes), and only then is the answer given.
   */
  private async revokeClient(username: string, id: string, actor: Actor): Promise<RevokeResult> {
    const entry = (await this.list(username)).find((e) => e.id === `client/${id}`);
    const rec = entry?.record;
    if (!entry || !rec) return "not-found";
    const jid = rec.legacy ? rec.fullJid : undefined;
    const label = clientLabel(entry.userAgent, jid?.includes("/") ? jid.slice(jid.indexOf("/") + 1) : undefined);
    this.end(username, clientSelector(rec), streamErrors.clientAccessRevoked, revokedText(label, actor));
    // Let the closed sockets flush before the synchronous database work below holds the loop.
    await new Promise((resolve) => setImmediate(resolve));
    if (!rec.legacy) {
      for (const g of await this.server.storage.grants.list(username)) {
        if (g.kind === "fast" && g.clientId === rec.id) await this.grants.revokeGrant(username, g.id, "client revoked");
      }
    }
    if (rec.grantId) await this.grants.revokeGrant(username, rec.grantId, "client revoked");
    await this.server.storage.clients.put({ ...rec, revokedAt: Date.now() });
    await this.server.bus.emit("client-revoked", { username, clientId: rec.id, legacy: rec.legacy, ...actor });
    if (entry.password === undefined) return "revoked";
    return rec.legacy ? "can-sign-in-again" : "password-reset-required";
  }

  private async revokeGrantOf(username: string, id: string, actor: Actor): Promise<RevokeResult> {
    const grant = await this.server.storage.grants.get(username, id);
    if (!grant || !(await this.grants.valid(grant))) return "not-found";
    // Its sessions hear which app lost access before the grant's own end closes them plainly.
    this.end(username, { grantId: id }, streamErrors.clientAccessRevoked, revokedText(clientLabel(grantUserAgent(grant)), actor));
    await this.grants.revokeGrant(username, id, "revoked by the user");
    const name = grantUserAgent(grant).software;
    await this.server.bus.emit("client-revoked", { username, grantId: id, ...(name ? { name } : {}), ...actor });
    return "revoked";
  }

  /** A grant ends (OAuth revocation, a reused code or refresh token); its sessions end with it. */
  revokeGrant(username: string, grantId: string, reason: string): Promise<boolean> {
    return this.grants.revokeGrant(username, grantId, reason);
  }

  /** A token ends (FAST invalidation or expiry); the sessions opened with it end with it. */
  revokeToken(token: TokenRecord, reason: string): Promise<boolean> {
    return this.grants.revokeToken(token, reason);
  }

  /** Lifts a client's revocation ("client/<id>"). */
  allow(username: string, selector: string | undefined, actor: Actor = {}): Promise<AllowResult> {
    return allowClient(this.server, username, selector, actor);
  }

  /** Every XMPP stream and every grant and token of the account end; the account page signs out its other browsers. */
  async signOutEverywhere(username: string): Promise<{ connections: number; grants: number }> {
    const connections = this.end(username, { all: true }, streamErrors.accessRevoked, "Signed out from the account page");
    let grants = 0;
    for (const g of await this.server.storage.grants.list(username)) if (await this.grants.revokeGrant(username, g.id, "signed out everywhere")) grants++;
    return { connections, grants };
  }

  /** A new password: every session and every grant or token from before it ends. */
  async changePassword(username: string, password: string, context: PasswordContext = {}): Promise<number> {
    const changedAt = await changePassword(this.server.storage, username, password, this.server.config.scram_iterations);
    context.changed?.(changedAt);
    await this.passwordChanged(username, { via: context.via, ip: context.ip });
    return changedAt;
  }

  /**
   * "Change password and sign out everywhere else", in one step: the only thing that keeps out
   * a client that knows the password and has no client id. The new password and the end of
   * every grant and token are one storage transaction; then every session ends.
   */
  async resetPassword(username: string, password: string, context: PasswordContext = {}): Promise<ResetResult> {
    const connections = liveSessionsOf(this.server, username).length;
    const { changedAt, grants } = await resetStored(this.server.storage, username, password, this.server.config.scram_iterations);
    context.changed?.(changedAt);
    for (const grantId of grants) await this.server.bus.emit("grant-revoked", { username, grantId, reason: "password reset" });
    this.end(username, { all: true }, streamErrors.passwordChanged);
    await this.announcePassword({ username, via: context.via, ip: context.ip, reset: { connections, grants: grants.length } });
    return { changedAt, connections, grants: grants.length };
  }

  /** The password was changed (here, or by the `warden` command in the database): what came before it ends. */
  async passwordChanged(username: string, actor: Actor = {}): Promise<void> {
    this.end(username, { all: true }, streamErrors.passwordChanged);
    // Grants and tokens from before the change die with it (their sessions already ended above).
    await this.grants.purge();
    await this.announcePassword({ username, ...actor });
  }

  private announcePassword(ev: PayloadOf<"password-changed">): Promise<void> {
    return this.server.bus.emit("password-changed", ev, (err) => this.server.log.error({ err }, "password-changed handler failed"));
  }

  /** The account was deleted (by the `warden` command): its sessions end, then everyone hears of it. */
  async accountDeleted(username: string): Promise<void> {
    this.end(username, { all: true }, streamErrors.accountDeleted);
    await this.server.bus.emit("user-deleted", { username });
  }
}

export default defineFeature({ name: "access", needs: ["grants"], provides: ["access"], setup: access });

function access(server: Server): void {
  const service = new AccessService(server);
  server.services.provide("access", service);
  // However a grant or token ended, the sessions it opened end with it.
  server.bus.on("grant-revoked", ({ username, grantId }) => {
    service.end(username, { grantId }, streamErrors.accessRevoked);
  });
  server.bus.on("token-revoked", ({ username, hash }) => {
    service.end(username, { tokenHash: hash }, streamErrors.accessRevoked);
  });
}
