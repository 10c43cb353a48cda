// SASL PLAIN (RFC 4616). Only offered over TLS, since the password crosses the wire.
import { saslFailures } from "../../core/errors.js";
import { verifyPasswordAsync } from "../credentials.js";
import type { SaslContext, SaslMechanism, SaslSession, SaslStep } from "../mechanism.js";
import { saslprep } from "../saslprep.js";

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Strict UTF-8 decoding; undefined on invalid sequences. */
export function decodeUtf8(data: Buffer): string | undefined {
  try {
    return utf8.decode(data);
  } catch {
    return undefined;
  }
}

/** SASLprep (query form) then the server's username rules; undefined when invalid. */
export function prepareUsername(ctx: SaslContext, raw: string): string | undefined {
  if (raw.length === 0) return undefined;
  try {
    return ctx.normaliseUsername(saslprep(raw, true));
  } catch {
    return undefined;
  }
}

/**
 * An authzid may only name the authenticating account: its username or its bare JID.
 * Returns null when it is refused, undefined when it adds nothing, or the bare JID,
 * whose domain the caller must still check against the domain being served.
 */
export function checkAuthzid(ctx: SaslContext, authzid: string, username: string): string | undefined | null {
  if (authzid === "") return undefined;
  const at = authzid.indexOf("@");
  if (at < 0) return prepareUsername(ctx, authzid) === username ? undefined : null;
  const local = authzid.slice(0, at);
  const domain = authzid.slice(at + 1);
  if (domain === "" || domain.includes("@") || domain.includes("/")) return null;
  return prepareUsername(ctx, local) === username ? authzid : null;
}

class PlainSession implements SaslSession {
  private done = false;
  private prompted = false;

  constructor(private readonly ctx: SaslContext) {}

  async step(data: Buffer | null): Promise<SaslStep> {
    if (this.done) return { kind: "failure", failure: saslFailures.malformed };
    if (data === null && !this.prompted) {
      // No initial response: RFC 6120 §6.4.2 has us send an empty challenge for it.
      this.prompted = true;
      return { kind: "challenge", data: Buffer.alloc(0) };
    }
    this.done = true;
    if (!this.ctx.secure) return { kind: "failure", failure: saslFailures.encryptionRequired };
    if (data === null) return { kind: "failure", failure: saslFailures.malformed };
    return this.check(data);
  }

  private async check(data: Buffer): Promise<SaslStep> {
    const text = decodeUtf8(data);
    const parts = text?.split("\0");
    if (!parts || parts.length !== 3) return { kind: "failure", failure: saslFailures.malformed };
    const [authzid, authcid, password] = parts as [string, string, string];
    const username = prepareUsername(this.ctx, authcid);
    if (username === undefined) return { kind: "failure", failure: saslFailures.notAuthorized };

    // Checked before the password: it depends only on what the client sent, so refusing it
    // early reveals nothing and saves the PBKDF2 work.
    const az = checkAuthzid(this.ctx, authzid, username);
    if (az === null) return { kind: "failure", failure: saslFailures.invalidAuthzid, username };

    // The throttle before the password: past the limit a right and a wrong one get the same answer.
    if (!(await this.ctx.admit(username))) return { kind: "failure", failure: saslFailures.throttled, username };
    let user;
    try {
      user = await this.ctx.getUser(username);
    } catch {
      return { kind: "failure", failure: saslFailures.temporary, username };
    }
    // Runs PBKDF2 whether or not the account exists, so timing does not reveal which.
    const ok = await verifyPasswordAsync(user, password, this.ctx.scramIterations);
    if (!ok || !user) return { kind: "failure", failure: saslFailures.notAuthorized, username };
    return az === undefined ? { kind: "success", username } : { kind: "success", username, authzid: az };
  }
}

export const plainMechanism: SaslMechanism = {
  name: "PLAIN",
  available: (ctx) => ctx.secure,
  start: (ctx) => new PlainSession(ctx),
};
