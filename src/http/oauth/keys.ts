// The OAuth service's own secret: data_path/oauth2.key (32 random bytes, 0600, made on first
// start). From it come one HMAC key per purpose: dynamically registered client ids (which are
// signed metadata, as in the reference: no registration table), their client secrets, CSRF
// tokens, and the signed hidden fields that carry an authorization request from the login page
// to the consent page. Replacing the file unregisters every dynamically registered client; it
// does not touch issued tokens (those live in the grant store).
import { createHmac, timingSafeEqual } from "node:crypto";
import { loadOrCreateKey } from "../../core/keyfile.js";

export class OAuthKeys {
  private readonly subkeys = new Map<string, Buffer>();

  private constructor(private readonly master: Buffer) {}

  static open(dataPath: string): OAuthKeys {
    return new OAuthKeys(loadOrCreateKey(dataPath, "oauth2.key"));
  }

  private key(purpose: string): Buffer {
    let k = this.subkeys.get(purpose);
    if (!k) {
      k = createHmac("sha256", this.master).update(`warden-oauth2:${purpose}`).digest();
      this.subkeys.set(purpose, k);
    }
    return k;
  }

  /** base64url HMAC-SHA-256 of `data` under the purpose's key. */
  mac(purpose: string, data: string): string {
    return createHmac("sha256", this.key(purpose)).update(data).digest("base64url");
  }

  /** Constant-time check of a MAC made by `mac`. */
  checkMac(purpose: string, data: string, mac: string): boolean {
    const want = Buffer.from(this.mac(purpose, data));
    const got = Buffer.from(mac);
    return got.length === want.length && timingSafeEqual(got, want);
  }

  /** A tamper-proof string carrying `payload`: base64url(JSON) "." MAC. */
  sign(purpose: string, payload: unknown): string {
    const body = Buffer.from(JSON.stringify(payload)).toString("base64url");
    return `${body}.${this.mac(purpose, body)}`;
  }

  /** The payload of a string made by `sign` for this purpose; undefined when forged or malformed. */
  verify<T>(purpose: string, signed: string): T | undefined {
    const dot = signed.lastIndexOf(".");
    if (dot <= 0 || signed.length > 16384) return undefined;
    const body = signed.slice(0, dot);
    if (!/^[A-Za-z0-9_-]+$/.test(body) || !this.checkMac(purpose, body, signed.slice(dot + 1))) return undefined;
    try {
      return JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as T;
    } catch {
      return undefined;
    }
  }
}
