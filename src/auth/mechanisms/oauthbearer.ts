// SASL OAUTHBEARER (RFC 7628): an OAuth 2.0 access token instead of a password. Only offered
// over TLS. The client's message is a GS2 header then key/value pairs separated by ^A:
//   n,a=juliet@example.com,^Aauth=Bearer secret-token:…^Ahost=…^A^A
// A bad token gets the JSON error challenge; the client answers a single ^A and then gets
// not-authorized (RFC 7628 §3.2.3).
import { saslFailures } from "../../core/errors.js";
import type { SaslContext, SaslMechanism, SaslSession, SaslStep } from "../mechanism.js";
import { checkAuthzid, decodeUtf8 } from "./plain.js";
import { TOKEN_RE } from "../oauth-tokens.js";

const KVSEP = "\x01";
const KEY_RE = /^[A-Za-z]+$/;
const VALUE_RE = /^[\x21-\x7e \t\r\n]*$/;

interface Parsed {
  authzid: string;
  token: string;
}

/** Decodes a GS2 saslname (RFC 5801): "=2C" is ",", "=3D" is "="; any other "=" is invalid. */
function saslname(s: string): string | undefined {
  if (/=(?!2C|3D)/.test(s)) return undefined;
  return s.replace(/=2C/g, ",").replace(/=3D/g, "=");
}

export function parseOAuthBearer(text: string): Parsed | undefined {
  // gs2-header: cb-flag "," [authzid] ","; OAUTHBEARER has no channel binding, so "p=" is refused.
  const m = /^([ny]),(?:a=([^,]*))?,/.exec(text);
  if (!m) return undefined;
  const authzid = m[2] === undefined ? "" : saslname(m[2]);
  if (authzid === undefined || (m[2] !== undefined && authzid === "")) return undefined;
  const body = text.slice(m[0].length);
  if (!body.startsWith(KVSEP) || !body.endsWith(KVSEP + KVSEP)) return undefined;
  const pairs = body.slice(1, -1).split(KVSEP);
  pairs.pop(); // each pair ends with ^A: the last piece is empty
  const kv = new Map<string, string>();
  for (const p of pairs) {
    const eq = p.indexOf("=");
    if (eq <= 0) return undefined;
    const key = p.slice(0, eq);
    const value = p.slice(eq + 1);
    if (!KEY_RE.test(key) || !VALUE_RE.test(value) || kv.has(key)) return undefined;
    kv.set(key, value);
  }
  const auth = kv.get("auth");
  const bm = auth === undefined ? null : /^Bearer +(\S+)$/i.exec(auth);
  if (!bm || !TOKEN_RE.test(bm[1]!)) return undefined;
  return { authzid, token: bm[1]! };
}

class OAuthBearerSession implements SaslSession {
  private state: "start" | "prompted" | "rejected" | "done" = "start";

  constructor(private readonly ctx: SaslContext) {}

  async step(data: Buffer | null): Promise<SaslStep> {
    if (this.state === "done") return { kind: "failure", failure: saslFailures.malformed };
    if (this.state === "rejected") {
      // The client acknowledges the error challenge with ^A (or anything: it failed either way).
      this.state = "done";
      return { kind: "failure", failure: saslFailures.notAuthorized };
    }
    if (data === null && this.state === "start") {
      this.state = "prompted";
      return { kind: "challenge", data: Buffer.alloc(0) };
    }
    this.state = "done";
    if (!this.ctx.secure) return { kind: "failure", failure: saslFailures.encryptionRequired };
    if (data === null) return { kind: "failure", failure: saslFailures.malformed };
    const text = decodeUtf8(data);
    const parsed = text === undefined ? undefined : parseOAuthBearer(text);
    if (!parsed) return { kind: "failure", failure: saslFailures.malformed };
    let info: { username: string } | undefined;
    try {
      info = await this.ctx.verifyBearer?.(parsed.token);
    } catch {
      return { kind: "failure", failure: saslFailures.temporary };
    }
    if (!info) {
      this.state = "rejected";
      const err: Record<string, string> = { status: "invalid_token", scope: "xmpp" };
      const url = this.ctx.oauthMetadataUrl?.();
      if (url) err["openid-configuration"] = url;
      return { kind: "challenge", data: Buffer.from(JSON.stringify(err)) };
    }
    const az = checkAuthzid(this.ctx, parsed.authzid, info.username);
    if (az === null) return { kind: "failure", failure: saslFailures.invalidAuthzid, username: info.username };
    return az === undefined ? { kind: "success", username: info.username } : { kind: "success", username: info.username, authzid: az };
  }
}

export const oauthBearerMechanism: SaslMechanism = {
  name: "OAUTHBEARER",
  available: (ctx) => ctx.secure && ctx.verifyBearer !== undefined,
  start: (ctx) => new OAuthBearerSession(ctx),
};
