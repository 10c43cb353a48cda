// What legacy SASL (RFC 6120 §6) and SASL2 (XEP-0388) share: the mechanism context for a
// session, strict base64, and the list of mechanisms a session may be offered.
import type { Server } from "../core/server.js";
import type { Session } from "../core/session.js";
import type { SaslContext, SaslSession } from "./mechanism.js";
import type { TlsIdentity } from "../core/certificate.js";
import { saslFailures, type SaslFailureDef } from "../core/errors.js";
import { channelBindingsFor, endPointBinding } from "./channel-binding.js";
import { mechanisms } from "./mechanisms/index.js";
import { normaliseLocal } from "../core/jid.js";
import type { SaslMechanism } from "./mechanism.js";
import { metadataUrl, verifyBearer } from "./oauth-tokens.js";
import type { LoginAttempt } from "./throttle.js";

declare module "../core/session.js" {
  interface SessionData {
    /** What the mechanisms may use of this stream (channel bindings, limits); dropped after the login. */
    saslContext?: SaslContext;
    /** A login attempt counted against the throttles, settled when the exchange ends. */
    loginAttempt?: LoginAttempt;
    /** OAUTHBEARER checked a token; oauth-sessions binds the session to its grant once SASL succeeds. */
    bearerPending?: { grantId: string; tokenHash: string; restricted: boolean };
  }
}

const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decodes base64 strictly; "=" is the empty response (RFC 6120 §6.4.2). Undefined when invalid. */
export function decodeBase64(text: string): Buffer | undefined {
  const t = text.trim();
  if (t === "=") return Buffer.alloc(0);
  if (!B64.test(t)) return undefined;
  return Buffer.from(t, "base64");
}

export function encodeBase64(data: Buffer | undefined): string {
  return !data || data.length === 0 ? "" : data.toString("base64");
}

/** tls-server-end-point data of a certificate (RFC 5929), computed once per certificate in use. */
const endPoints = new WeakMap<TlsIdentity, Buffer | undefined>();
function endPointOf(identity: TlsIdentity): Buffer | undefined {
  if (!endPoints.has(identity)) endPoints.set(identity, endPointBinding(identity.cert));
  return endPoints.get(identity);
}

export function saslContext(server: Server, session: Session): SaslContext {
  const tlsSocket = session.transport.tlsSocket;
  const cached = session.data.saslContext;
  if (cached && cached.secure === session.secure) return cached;
  const ip = session.ip;
  // -PLUS only where the client can bind to the same TLS channel: our own TLS on a TCP stream.
  // A WebSocket client (a browser, a JS library) never sees the TLS under it, and behind a
  // reverse proxy that TLS is not even ours: offering -PLUS there makes clients that pick the
  // strongest mechanism (StanzaJS) choose one they cannot complete.
  const bindable = tlsSocket && session.transport.kind === "tcp" && server.config.sasl_channel_binding;
  const cb = bindable ? channelBindingsFor(tlsSocket, endPointOf(server.identity)) : {};
  const ctx: SaslContext = {
    secure: session.secure,
    channelBinding: cb,
    plusAdvertised: false,
    scramIterations: server.config.scram_iterations,
    fakeSaltKey: server.services.get("secrets").derive("scram-fake-salt"),
    admit: async (username) => {
      settleAttempt(session, undefined);
      const attempt = await server.services.get("loginThrottle").admit(ip, username);
      if (!attempt) return false;
      if (session.closed) {
        attempt.release();
        return false;
      }
      session.data.loginAttempt = attempt;
      return true;
    },
    throttled: (username) => server.services.get("loginThrottle").blocked(ip, username),
    getUser: (u) => server.storage.users.get(u),
    normaliseUsername: (raw) => normaliseLocal(raw),
    // OAUTHBEARER: the grant is remembered here and bound to the session on success (src/auth/oauth-sessions.ts).
    verifyBearer: async (token) => {
      const info = await verifyBearer(server, token);
      if (!info) return undefined;
      session.data.bearerPending = { grantId: info.grantId, tokenHash: info.tokenHash, restricted: info.restricted };
      return { username: info.username };
    },
    oauthMetadataUrl: () => metadataUrl(server),
  };
  ctx.plusAdvertised = mechanisms.some((m) => m.name.endsWith("-PLUS") && m.available(ctx));
  session.data.saslContext = ctx;
  return ctx;
}

/** Settles the attempt a mechanism had admitted: a failure counts (and returns its delay), anything else frees it. */
function settleAttempt(session: Session, failed: boolean | undefined): { attempt: LoginAttempt; delay: number } | undefined {
  const attempt = session.data.loginAttempt;
  if (!attempt) return undefined;
  delete session.data.loginAttempt;
  if (failed) return { attempt, delay: attempt.failed() };
  attempt.release();
  return { attempt, delay: 0 };
}

/** The password-based mechanisms this session may use, in our preference order. */
export function offeredMechanisms(server: Server, session: Session): SaslMechanism[] {
  if (!session.secure && server.config.c2s_require_encryption) return [];
  const ctx = saslContext(server, session);
  return mechanisms.filter((m) => m.available(ctx));
}

export type StepOutcome =
  | { kind: "challenge"; data: Buffer }
  | { kind: "failure"; failure: SaslFailureDef }
  | { kind: "success"; username: string; additionalData?: Buffer }
  | { kind: "closed" };

/**
 * One step of a SASL exchange, with the rules legacy SASL and SASL2 share: a wrong credential
 * counts against the login throttle, is answered late and announced on the bus; a success is
 * refused for an authzid of another domain. The throttle itself is asked by the mechanism
 * before it checks anything (SaslContext.admit), so that past the limit a right and a wrong
 * password get the same answer at the same speed; only mechanisms that cannot name the
 * account first (OAUTHBEARER: the token names it) are still checked here after a success.
 */
export async function runSaslStep(
  server: Server,
  session: Session,
  sasl: SaslSession,
  mechanism: string,
  data: Buffer | null,
  sasl2: boolean,
): Promise<StepOutcome> {
  const ip = session.ip;
  let result;
  try {
    result = await sasl.step(data);
  } catch (err) {
    settleAttempt(session, false); // a reservation left behind would shrink the limit for good
    throw err;
  }
  if (result.kind === "challenge") {
    if (session.closed) settleAttempt(session, false);
    return session.closed ? { kind: "closed" } : result;
  }
  if (result.kind === "failure") {
    const counts = result.failure.condition === "not-authorized" || result.failure.condition === "credentials-expired";
    // Counted even when the client is gone: hanging up early must not make a guess free.
    const settled = settleAttempt(session, counts);
    if (counts) {
      const delay = settled ? settled.delay : server.services.get("loginThrottle").fail(ip, result.username);
      if (!session.closed) await new Promise((r) => setTimeout(r, delay));
      void server.bus.emit("authentication-failure", { session, username: result.username, mechanism, sasl2 });
    }
    if (session.closed) return { kind: "closed" };
    return { kind: "failure", failure: result.failure };
  }
  const admitted = settleAttempt(session, false)?.attempt.username === result.username;
  if (session.closed) return { kind: "closed" };
  if (result.authzid && !result.authzid.toLowerCase().endsWith("@" + server.config.domain)) return { kind: "failure", failure: saslFailures.invalidAuthzid };
  if (!admitted && server.services.get("loginThrottle").blocked(ip, result.username)) return { kind: "failure", failure: saslFailures.throttled };
  return { kind: "success", username: result.username, additionalData: result.additionalData };
}
