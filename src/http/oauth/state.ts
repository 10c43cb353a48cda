// Short-lived OAuth state kept in memory, as in the reference: authorization codes (single use,
// oauth2_code_ttl), codes already used (so that a replayed code revokes what it produced),
// consent tickets already answered (single use), and device authorizations (RFC 8628). A restart forgets them; the apps start over.
import { createHash, randomBytes, randomInt } from "node:crypto";

export function sha256(s: string): string {
  return createHash("sha256").update(s).digest("base64url");
}

export function randomCode(): string {
  return randomBytes(32).toString("base64url");
}

/** A bounded map whose entries carry their own expiry (ms); the oldest go first when it is full. */
export class ExpiringMap<V extends { exp: number }> {
  private readonly map = new Map<string, V>();

  constructor(private readonly max = 10_000) {}

  set(key: string, value: V): void {
    if (this.map.size >= this.max) this.sweep();
    while (this.map.size >= this.max) this.map.delete(this.map.keys().next().value!);
    this.map.set(key, value);
  }

  /** The entry, also when expired (callers answer expiry differently); expired ones are dropped later. */
  get(key: string): V | undefined { return this.map.get(key); }

  /** Removes and returns the entry: what makes a code single-use. */
  take(key: string): V | undefined {
    const v = this.map.get(key);
    this.map.delete(key);
    return v;
  }

  delete(key: string): void { this.map.delete(key); }

  sweep(now = Date.now()): void {
    for (const [k, v] of this.map) if (v.exp <= now) this.map.delete(k);
  }

  get size(): number { return this.map.size; }
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

export interface UsedCode { username: string; grantId: string; exp: number }

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
  readonly codes = new ExpiringMap<CodeRecord>();
  readonly usedCodes = new ExpiringMap<UsedCode>();
  readonly devices = new ExpiringMap<DeviceRecord>();
  /** user code → hash of the device code. */
  readonly userCodes = new ExpiringMap<{ deviceHash: string; exp: number }>();
  /** Consent tickets already answered (login.ts spendTicket), by their random id. */
  readonly spentTickets = new ExpiringMap<{ exp: number }>(100_000);
  private readonly sweeper: NodeJS.Timeout;

  constructor() {
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const m of [this.codes, this.usedCodes, this.devices, this.userCodes, this.spentTickets] as ExpiringMap<{ exp: number }>[]) m.sweep(now);
    }, 60_000);
    this.sweeper.unref();
  }

  stop(): void { clearInterval(this.sweeper); }
}
