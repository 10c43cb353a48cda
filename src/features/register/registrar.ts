// Creating an account from outside it: open in-band registration (XEP-0077 §3.1, when
// allow_registration is on) and invitations (XEP-0445 §4, the invite page), through the same
// account code as `warden user add` (src/auth/accounts.ts) and the one password policy. Limits
// come first, before any work: registration_rate_limit a minute for the whole server, and for
// open registration min_seconds_between_registrations per IP address (Prosody's
// mod_register_limits), counted from the last registration that succeeded.
import type { Server } from "../../core/server.js";
import { stanzaErrors, type StanzaErrorDef } from "../../core/errors.js";
import { AccountError, accountName, createAccount } from "../../auth/accounts.js";
import { passwordProblem } from "../../auth/password-policy.js";
import type { ExpiringStore } from "../../state/expiring-store.js";
import type { InviteRecord } from "../../storage/types.js";
import { befriend } from "./contact.js";

declare module "../../core/services.js" {
  interface Services {
    registration: Registrar;
  }
}

/** An invitation accepted at `acceptedAt`: its expiry is judged then, not at registration (XEP-0445 §4). */
export interface AcceptedInvite {
  invite: InviteRecord;
  acceptedAt: number;
}

export interface RegistrationRequest {
  username: string | undefined;
  password: string | undefined;
  ip: string;
  via: "xmpp" | "invite page";
  invite?: AcceptedInvite;
}

export type RegistrationResult = { ok: true; username: string; reset: boolean } | { ok: false; error: StanzaErrorDef; text?: string };

const refuse = (error: StanzaErrorDef, text?: string): RegistrationResult => (text === undefined ? { ok: false, error } : { ok: false, error, text });

export class Registrar {
  constructor(
    private readonly server: Server,
    private readonly lastByIp: ExpiringStore<{ exp: number }>,
  ) {}

  /** Whether anyone may register without an invitation. */
  get open(): boolean {
    return this.server.config.allow_registration;
  }

  async register(req: RegistrationRequest, now = Date.now()): Promise<RegistrationResult> {
    const cfg = this.server.config;
    if (!req.invite && !this.open) return refuse(stanzaErrors.registrationClosed);
    if (!req.username || !req.password) return refuse(stanzaErrors.registrationIncomplete);
    if (this.server.services.get("rateLimits").hit("registration:all", cfg.registration_rate_limit, now) !== undefined)
      return refuse(stanzaErrors.registrationTooSoon);
    if (!req.invite && (await this.tooSoon(req.ip, now))) return refuse(stanzaErrors.registrationTooSoon);
    const username = this.validName(req.username);
    if (username === undefined) return refuse(stanzaErrors.registrationBadUsername);
    const problem = passwordProblem(req.password, cfg.password_min_length);
    if (problem) return refuse(stanzaErrors.notAcceptable, `The password ${problem}`);
    const result = req.invite?.invite.kind === "reset" ? await this.reset(username, req.password, req) : await this.create(username, req.password, req);
    if (result.ok) {
      if (!req.invite && cfg.min_seconds_between_registrations > 0)
        await this.lastByIp.set(req.ip, { exp: now + cfg.min_seconds_between_registrations * 1000 });
      this.server.log.info({ user: username, ip: req.ip, via: req.via, invite: req.invite?.invite.id, reset: result.reset }, "account registered");
    }
    return result;
  }

  private async tooSoon(ip: string, now: number): Promise<boolean> {
    const last = await this.lastByIp.get(ip);
    return last !== undefined && last.exp > now;
  }

  /** The local part as registered: a plain name (no '@' or '/'), normalised as logins normalise it. */
  private validName(raw: string): string | undefined {
    const trimmed = raw.trim();
    if (trimmed === "" || /[@/\s]/.test(trimmed)) return undefined;
    try {
      return accountName(trimmed, this.server.config.domain);
    } catch {
      return undefined;
    }
  }

  /** A reset invitation: a new password for its account, through the access service (every session and grant ends). */
  private async reset(username: string, password: string, req: RegistrationRequest): Promise<RegistrationResult> {
    const invite = req.invite!;
    if (invite.invite.username !== username) return refuse(stanzaErrors.registrationWrongAccount);
    if (!(await this.server.storage.invites.take(invite.invite.hash, invite.acceptedAt))) return refuse(stanzaErrors.inviteInvalid);
    try {
      await this.server.services.get("access").resetPassword(username, password, { via: req.via, ip: req.ip });
    } catch (err) {
      if (err instanceof AccountError) return refuse(stanzaErrors.inviteInvalid);
      throw err;
    }
    return { ok: true, username, reset: true };
  }

  private async create(username: string, password: string, req: RegistrationRequest): Promise<RegistrationResult> {
    const storage = this.server.storage;
    // Taken names are refused before an invitation is spent on them.
    if (await storage.users.get(username)) return refuse(stanzaErrors.registrationTaken);
    const invite = req.invite;
    if (invite && !(await storage.invites.take(invite.invite.hash, invite.acceptedAt))) return refuse(stanzaErrors.inviteInvalid);
    try {
      await createAccount(storage, username, password, this.server.config.scram_iterations);
    } catch (err) {
      if (!(err instanceof AccountError)) throw err;
      // Not used after all: the invitation stays good for another try.
      if (invite) await storage.invites.create(invite.invite);
      return err.code === "exists" ? refuse(stanzaErrors.registrationTaken) : refuse(stanzaErrors.notAcceptable, err.message.replace(/^the/, "The"));
    }
    // A contact invitation (XEP-0379) makes the inviter and the new account contacts.
    if (invite?.invite.kind === "roster" && invite.invite.username) await befriend(this.server, username, invite.invite.username);
    return { ok: true, username, reset: false };
  }
}
