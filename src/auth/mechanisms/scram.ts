// SCRAM server side (RFC 5802, RFC 7677), with channel binding for the -PLUS variants.
// Works from StoredKey/ServerKey only: the server never learns the password.
import { randomId } from "../../core/random.js";
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { saslFailures, type SaslFailureDef } from "../../core/errors.js";
import type { ScramCredential } from "../../storage/types.js";
import { h, hashLength, hmac, type ScramHash } from "../credentials.js";
import type { ChannelBindingType, SaslContext, SaslMechanism, SaslSession, SaslStep } from "../mechanism.js";
import { checkAuthzid, decodeUtf8, prepareUsername } from "./plain.js";

export interface ScramOptions {
  /** Test hook: the server nonce. Defaults to 18 random bytes in base64. */
  nonce?: () => string;
}

const CB_TYPES: readonly ChannelBindingType[] = ["tls-exporter", "tls-server-end-point", "tls-unique"];
// Types a -PLUS mechanism is worth offering for; tls-unique is unsound with TLS 1.3 and never supplied.
const PLUS_TYPES: readonly ChannelBindingType[] = ["tls-exporter", "tls-server-end-point"];

// Keys the fake salts of unknown users when the context brings no key of its own (the server's
// is kept in data_path): stable within the process so that asking twice gives the same answer.
const fakeSaltSecret = randomBytes(32);

const PRINTABLE = /^[\x21-\x2b\x2d-\x7e]+$/; // RFC 5802 "printable": no comma
const SASLNAME = /^(?:[^\0=,]|=2C|=3D)+$/;
const CB_NAME = /^[A-Za-z0-9.-]+$/;
const ATTR_VAL = /^[A-Za-z]=/;

function unescapeSaslname(s: string): string | undefined {
  return SASLNAME.test(s) ? s.replace(/=2C|=3D/g, (m) => (m === "=2C" ? "," : "=")) : undefined;
}

function strictBase64(s: string): Buffer | undefined {
  if (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return undefined;
  const buf = Buffer.from(s, "base64");
  return buf.toString("base64") === s ? buf : undefined;
}

const fail = (failure: SaslFailureDef, username?: string): SaslStep =>
  username === undefined ? { kind: "failure", failure } : { kind: "failure", failure, username };

interface ClientFirst {
  gs2Header: string;
  cbName?: string;
  flag: "n" | "y" | "p";
  authzid: string;
  rawUsername: string;
  clientNonce: string;
  bare: string;
}

function parseClientFirst(text: string): ClientFirst | SaslFailureDef {
  const parts = text.split(",");
  if (parts.length < 4) return saslFailures.malformed;
  const [cbflag, az, user, nonce] = parts as [string, string, string, string];

  let flag: ClientFirst["flag"];
  let cbName: string | undefined;
  if (cbflag === "n" || cbflag === "y") flag = cbflag;
  else if (cbflag.startsWith("p=") && CB_NAME.test(cbflag.slice(2))) {
    flag = "p";
    cbName = cbflag.slice(2);
  } else return saslFailures.malformed;

  let authzid = "";
  if (az !== "") {
    if (!az.startsWith("a=")) return saslFailures.malformed;
    const unescaped = unescapeSaslname(az.slice(2));
    if (unescaped === undefined) return saslFailures.malformed;
    authzid = unescaped;
  }

  // "m=" announces a mandatory extension we do not know, so we must fail (RFC 5802 §5.1).
  if (!user.startsWith("n=")) return saslFailures.malformed;
  const rawUsername = unescapeSaslname(user.slice(2));
  if (rawUsername === undefined) return saslFailures.malformed;
  if (!nonce.startsWith("r=") || !PRINTABLE.test(nonce.slice(2))) return saslFailures.malformed;
  // Optional extensions are ignored (RFC 5802 §5.1), but must still be attr=value.
  if (!parts.slice(4).every((p) => ATTR_VAL.test(p))) return saslFailures.malformed;

  const gs2Header = `${cbflag},${az},`;
  return { gs2Header, cbName, flag, authzid, rawUsername, clientNonce: nonce.slice(2), bare: text.slice(gs2Header.length) };
}

interface Exchange {
  first: ClientFirst;
  cbType?: ChannelBindingType;
  username: string;
  cred: ScramCredential;
  known: boolean;
  serverFirst: string;
  nonce: string;
}

class ScramSession implements SaslSession {
  private state: "first" | "final" | "done" = "first";
  private prompted = false;
  private ex: Exchange | undefined;

  constructor(
    private readonly ctx: SaslContext,
    private readonly hash: ScramHash,
    private readonly plus: boolean,
    private readonly options: ScramOptions,
  ) {}

  async step(data: Buffer | null): Promise<SaslStep> {
    if (this.state === "first" && data === null && !this.prompted) {
      // No initial response: RFC 6120 §6.4.2 has us send an empty challenge for it.
      this.prompted = true;
      return { kind: "challenge", data: Buffer.alloc(0) };
    }
    const state = this.state;
    this.state = state === "first" ? "final" : "done";
    try {
      const text = data === null ? undefined : decodeUtf8(data);
      if (text === undefined || state === "done") return this.end(fail(saslFailures.malformed, this.ex?.username));
      return this.end(state === "first" ? await this.clientFirst(text) : await this.clientFinal(text, this.ex!));
    } catch {
      return this.end(fail(saslFailures.malformed, this.ex?.username));
    }
  }

  private end(step: SaslStep): SaslStep {
    if (step.kind !== "challenge") this.state = "done";
    return step;
  }

  private async clientFirst(text: string): Promise<SaslStep> {
    const first = parseClientFirst(text);
    if (!("gs2Header" in first)) return fail(first);
    if (this.plus !== (first.flag === "p")) return fail(saslFailures.malformed);
    let cbType: ChannelBindingType | undefined;
    if (first.cbName !== undefined) {
      // hasOwn: a name like "constructor" must not find something on the prototype.
      cbType = CB_TYPES.find((t) => t === first.cbName && Object.hasOwn(this.ctx.channelBinding, t));
      if (cbType === undefined) return fail(saslFailures.cbUnsupported);
    }
    // The client could bind but thinks we cannot: someone may have stripped -PLUS (RFC 5802 §6).
    if (first.flag === "y" && this.ctx.plusAdvertised) return fail(saslFailures.cbDowngrade);

    const username = prepareUsername(this.ctx, first.rawUsername);
    if (username === undefined) return fail(saslFailures.notAuthorized);
    if (checkAuthzid(this.ctx, first.authzid, username) === null) return fail(saslFailures.invalidAuthzid, username);
    // Over the limit already: say so now, before any proof exists (clientFinal asks again, reserving).
    if (this.ctx.throttled(username)) return fail(saslFailures.throttled, username);

    let stored: ScramCredential | undefined;
    try {
      stored = (await this.ctx.getUser(username))?.scram[this.hash];
    } catch {
      return fail(saslFailures.temporary, username);
    }
    // An unknown account gets a stable fake salt, so that the exchange looks the same
    // whether or not it exists; it fails only at the proof.
    const cred = stored ?? this.fakeCredential(username);
    const nonce = first.clientNonce + (this.options.nonce?.() ?? randomId(18, "base64"));
    const serverFirst = `r=${nonce},s=${cred.salt.toString("base64")},i=${cred.iterations}`;
    this.ex = { first, cbType, username, cred, known: stored !== undefined, serverFirst, nonce };
    return { kind: "challenge", data: Buffer.from(serverFirst) };
  }

  private fakeCredential(username: string): ScramCredential {
    const salt = createHmac("sha256", this.ctx.fakeSaltKey ?? fakeSaltSecret)
      .update(`${this.hash}\0${username}`)
      .digest()
      .subarray(0, 16);
    const len = hashLength(this.hash);
    // The iterations new accounts get: a fixed default here would set unknown accounts apart.
    return { salt, iterations: this.ctx.scramIterations, storedKey: randomBytes(len), serverKey: randomBytes(len) };
  }

  private async clientFinal(text: string, ex: Exchange): Promise<SaslStep> {
    const { username } = ex;
    const parts = text.split(",");
    if (parts.length < 3) return fail(saslFailures.malformed, username);
    const c = parts[0]!;
    const r = parts[1]!;
    const p = parts[parts.length - 1]!;
    if (!c.startsWith("c=") || !r.startsWith("r=") || !p.startsWith("p=")) return fail(saslFailures.malformed, username);
    if (!parts.slice(2, -1).every((x) => ATTR_VAL.test(x))) return fail(saslFailures.malformed, username);
    const proof = strictBase64(p.slice(2));
    if (!proof || proof.length !== hashLength(this.hash)) return fail(saslFailures.malformed, username);
    // The throttle before the proof: past the limit a right and a wrong one get the same answer.
    if (!(await this.ctx.admit(username))) return fail(saslFailures.throttled, username);

    let cbData: Buffer = Buffer.alloc(0);
    try {
      if (ex.cbType !== undefined) cbData = this.ctx.channelBinding[ex.cbType]!();
    } catch {
      return fail(saslFailures.temporary, username);
    }
    const expectedC = Buffer.concat([Buffer.from(ex.first.gs2Header), cbData]).toString("base64");
    if (c.slice(2) !== expectedC) return fail(saslFailures.cbMismatch, username);
    if (r.slice(2) !== ex.nonce) return fail(saslFailures.notAuthorized, username);

    const withoutProof = parts.slice(0, -1).join(",");
    const authMessage = `${ex.first.bare},${ex.serverFirst},${withoutProof}`;
    const clientSignature = hmac(this.hash, ex.cred.storedKey, authMessage);
    const clientKey = Buffer.alloc(proof.length);
    for (let i = 0; i < proof.length; i++) clientKey[i] = proof[i]! ^ clientSignature[i]!;
    const matches = timingSafeEqual(h(this.hash, clientKey), ex.cred.storedKey);
    if (!matches || !ex.known) return fail(saslFailures.notAuthorized, username);

    const serverSignature = hmac(this.hash, ex.cred.serverKey, authMessage);
    const authzid = checkAuthzid(this.ctx, ex.first.authzid, username) ?? undefined;
    return {
      kind: "success",
      username,
      additionalData: Buffer.from(`v=${serverSignature.toString("base64")}`),
      ...(authzid === undefined ? {} : { authzid }),
    };
  }
}

export function scramMechanism(hash: ScramHash, plus: boolean, options: ScramOptions = {}): SaslMechanism {
  return {
    name: `SCRAM-${hash}${plus ? "-PLUS" : ""}`,
    available: (ctx) => !plus || PLUS_TYPES.some((t) => Object.hasOwn(ctx.channelBinding, t)),
    start: (ctx) => new ScramSession(ctx, hash, plus, options),
  };
}
