// What a SASL mechanism is to the rest of the server. The same mechanisms serve legacy
// RFC 6120 SASL and SASL2 (XEP-0388): only the framing differs.
import type { SaslFailureDef } from "../core/errors.js";
import type { UserRecord } from "../storage/types.js";

export type ChannelBindingType = "tls-exporter" | "tls-server-end-point" | "tls-unique";

export interface SaslContext {
  /** True on a TLS-protected stream. */
  secure: boolean;
  /** The channel binding data this connection can provide, by type (absent = not available). */
  channelBinding: Partial<Record<ChannelBindingType, () => Buffer>>;
  /** True when the server offered any -PLUS mechanism on this stream (RFC 5802 §6 downgrade check). */
  plusAdvertised: boolean;
  /**
   * Keys the stable fake salts of unknown accounts (SCRAM): kept with the server's secrets so
   * that they survive a restart as real salts do. A random per-process key when absent.
   */
  fakeSaltKey?: Buffer;
  /** PBKDF2 iterations of new credentials (scram_iterations): what an unknown account seems to have. */
  scramIterations: number;
  /**
   * The login throttle, asked once the username is known and before any credential is checked
   * (src/auth/throttle.ts): false when the IP or the account is over its failure limit, and the
   * mechanism must then answer `throttled` whatever the credentials are. True reserves the
   * attempt until the step's outcome is known.
   */
  admit(username: string): Promise<boolean>;
  /** Whether the IP or the account is over its limit now (no reservation): for refusing early. */
  throttled(username: string): boolean;
  /** Looks up an account by its (already normalised) username. */
  getUser(username: string): Promise<UserRecord | undefined>;
  /** Normalises a username (nodeprep / RFC 7622 localpart); undefined when invalid. */
  normaliseUsername(raw: string): string | undefined;
  /**
   * OAUTHBEARER (RFC 7628): verifies an OAuth 2.0 access token and remembers its grant, so that
   * a successful login is bound to it (revoking the grant closes the session). Undefined when the
   * token is not valid.
   */
  verifyBearer?(token: string): Promise<{ username: string } | undefined>;
  /** The OAuth authorization server metadata URL, for OAUTHBEARER's error challenge. */
  oauthMetadataUrl?(): string | undefined;
}

export type SaslStep =
  | { kind: "challenge"; data: Buffer }
  | { kind: "success"; username: string; additionalData?: Buffer; authzid?: string }
  | { kind: "failure"; failure: SaslFailureDef; username?: string };

export interface SaslSession {
  /** Feeds the initial response (null when the client sent none) or a response to a challenge. */
  step(data: Buffer | null): Promise<SaslStep>;
}

export interface SaslMechanism {
  readonly name: string;
  /** Whether to offer it on this connection (e.g. PLAIN only over TLS, -PLUS only with a binding). */
  available(ctx: SaslContext): boolean;
  start(ctx: SaslContext): SaslSession;
}
