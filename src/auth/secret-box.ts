// Encryption at rest for the few secrets the server must be able to read back: a FAST token
// is the HMAC key of its own proof (XEP-0484), so a hash of it cannot verify a login. Such
// secrets are sealed with AES-256-GCM under a key kept in data_path, apart from the database:
// a copy of the database alone does not reveal them.
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto";
import { loadOrCreateKey } from "../core/keyfile.js";

declare module "../core/services.js" {
  interface Services {
    secrets: SecretBox;
  }
}

export class SecretBox {
  private constructor(private readonly key: Buffer) {}

  /** Loads data_path/secret.key, creating it (0600) on first use. */
  static open(dataPath: string): SecretBox {
    return new SecretBox(loadOrCreateKey(dataPath, "secret.key"));
  }

  /** A key for another purpose, derived from this one (HMAC with the purpose as label): as lasting as the box's key. */
  derive(purpose: string): Buffer {
    return createHmac("sha256", this.key).update(`warden derived key\0${purpose}`).digest();
  }

  seal(plain: Buffer, aad: string): Buffer {
    const iv = randomBytes(12);
    const c = createCipheriv("aes-256-gcm", this.key, iv);
    c.setAAD(Buffer.from(aad));
    const body = Buffer.concat([c.update(plain), c.final()]);
    return Buffer.concat([iv, c.getAuthTag(), body]);
  }

  /** Undefined when the box was not sealed by this key for this aad (tampered or moved). */
  open(sealed: Buffer, aad: string): Buffer | undefined {
    if (sealed.length < 28) return undefined;
    try {
      const d = createDecipheriv("aes-256-gcm", this.key, sealed.subarray(0, 12));
      d.setAAD(Buffer.from(aad));
      d.setAuthTag(sealed.subarray(12, 28));
      return Buffer.concat([d.update(sealed.subarray(28)), d.final()]);
    } catch {
      return undefined;
    }
  }
}
