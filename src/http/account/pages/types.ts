// What the account page's templates are given (built by ../rows.ts from the server's state).
import type { SecurityEvent } from "../../../storage/types.js";

export interface ClientRow {
  /** The revocation selector: client/…, grant/… or web/…. */
  id: string;
  name: string;
  version?: string;
  device?: string;
  type: string;
  auth: string[];
  firstSeen: number;
  lastSeen: number;
  ip?: string;
  expires?: number;
  /** Shown when there is no expiry. */
  expiresNote?: string;
  connected: boolean;
  connectedNote?: string;
  /** This browser's own sign-in. */
  current: boolean;
  /** It signed in with the password and has no client id: revoking cannot keep it out. */
  reconnects?: boolean;
  /** What it holds besides its credentials, in plain words (push notifications, uploads, archive sync). */
  holds?: string[];
}

/** A SASL2 client whose revocation holds (it is refused): it can be allowed again. */
export interface RevokedRow {
  id: string;
  name: string;
  device?: string;
  revokedAt: number;
  lastSeen: number;
}

export interface AccountView {
  jid: string;
  csrf: string;
  rows: ClientRow[];
  events: SecurityEvent[];
  historyDays: number;
  flash?: { kind: "ok" | "error"; text: string };
  ipTracking: boolean;
  revoked?: RevokedRow[];
  /** password_min_length (src/auth/password-policy.ts). */
  passwordMinLength: number;
}
