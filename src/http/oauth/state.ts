// Short-lived OAuth state: authorization codes (single use, oauth2_code_ttl), codes already used
// (so that a replayed code revokes what it produced), consent tickets already answered (single
// use), and device authorizations (RFC 8628). Kept in the expiring stores the composition root
// provides (src/state/expiring-store.ts): this process's memory today, so a restart forgets
// them and the apps start over; a cluster's shared store lets any node finish what another began.
import { createHash, randomBytes, randomInt } from "node:crypto";
import type { ExpiringStore, ExpiringStores } from "../../state/expiring-store.js";

export function sha256(s: string): string {
  return createHash("sha256").update(s).digest("base64url");
}

export function randomCode(): string {
  return randomBytes(32).toString("base64url");
}

export interface CodeRecord {
  clientIdHash: string;
  redirectUri: string;
  /** Whether the authorization request named the redirect URI (then the token request must too). */
  redirectGiven: boolean;
  challenge: string;
  username: string;
  scopes: string[];
  /** When the user proved the password (ms): a password change after it voids the code. */
  authTime: number;
  exp: number;
}

export interface UsedCode {
  username: string;
  grantId: string;
  exp: number;
}

export interface DeviceRecord {
  clientId: string;
  clientIdHash: string;
  scopes: string[];
  userCode: string;
  state: "pending" | "approved" | "denied";
  username?: string;
  grantedScopes?: string[];
  authTime?: number;
  /** Seconds the device must wait between polls (grows by 5 on each slow_down, RFC 8628 §3.5). */
  interval: number;
  lastPoll?: number;
  exp: number;
}

/** RFC 8628 §6.1: consonants only (no vowels, so no words), case-insensitive, shown as XXXX-XXXX. */
const USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ";

export function newUserCode(): string {
  let s = "";
  for (let i = 0; i < 8; i++) s += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)];
  return s;
}

/** What the user typed, as stored: upper case, letters only. */
export function normaliseUserCode(input: string): string {
  return input.toUpperCase().replace(/[^A-Z]/g, "");
}

export function formatUserCode(code: string): string {
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

export class OAuthState {
  readonly codes: ExpiringStore<CodeRecord>;
  readonly usedCodes: ExpiringStore<UsedCode>;
  readonly devices: ExpiringStore<DeviceRecord>;
  /** user code → hash of the device code. */
  readonly userCodes: ExpiringStore<{ deviceHash: string; exp: number }>;
  /** Consent tickets already answered (login.ts spendTicket), by their random id. */
  readonly spentTickets: ExpiringStore<{ exp: number }>;

  constructor(stores: ExpiringStores) {
    this.codes = stores.open("oauth-codes");
    this.usedCodes = stores.open("oauth-used-codes");
    this.devices = stores.open("oauth-devices");
    this.userCodes = stores.open("oauth-user-codes");
    this.spentTickets = stores.open("oauth-spent-tickets", 100_000);
  }
}
