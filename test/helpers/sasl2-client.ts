// The client side of SASL2 (XEP-0388) with Bind2 (XEP-0386) and FAST (XEP-0484) for raw-socket
// tests: builds <authenticate/> by hand, runs SCRAM-SHA-256 / PLAIN / HT-SHA-256-* exchanges
// and returns the server's <success/> or <failure/> parsed as XML, so tests can check exactly
// what came back (and send what polite clients never do).
import assert from "node:assert/strict";
import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";
import { RawClient } from "./raw-client.js";
import { NS_SASL, NS_STREAM, child, parseServerOutput, show, type StreamItem, type XmlEl } from "./xml.js";

export const NS_SASL2 = "urn:xmpp:sasl:2";
export const NS_BIND2 = "urn:xmpp:bind:0";
export const NS_FAST = "urn:xmpp:fast:0";
export const NS_CARBONS = "urn:xmpp:carbons:2";

export interface UserAgent {
  id?: string;
  software?: string;
  device?: string;
}

export interface AuthOptions {
  userAgent?: UserAgent;
  /** Raw XML children appended after <initial-response/> and <user-agent/> (bind, fast, request-token…). */
  extra?: string;
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/'/g, "&apos;").replace(/"/g, "&quot;");

export function userAgentXml(ua: UserAgent | undefined): string {
  if (!ua) return "";
  const id = ua.id !== undefined ? ` id='${esc(ua.id)}'` : "";
  const sw = ua.software !== undefined ? `<software>${esc(ua.software)}</software>` : "";
  const dev = ua.device !== undefined ? `<device>${esc(ua.device)}</device>` : "";
  return `<user-agent${id}>${sw}${dev}</user-agent>`;
}

/** An <authenticate/>; `initial` is raw bytes (base64-encoded here) or already-encoded text. */
export function authenticateXml(mechanism: string | undefined, initial: Buffer | { raw: string } | undefined, opts: AuthOptions = {}): string {
  const mech = mechanism === undefined ? "" : ` mechanism='${esc(mechanism)}'`;
  const ir =
    initial === undefined
      ? ""
      : `<initial-response>${Buffer.isBuffer(initial) ? (initial.length === 0 ? "=" : initial.toString("base64")) : initial.raw}</initial-response>`;
  return `<authenticate xmlns='${NS_SASL2}'${mech}>${ir}${userAgentXml(opts.userAgent)}${opts.extra ?? ""}</authenticate>`;
}

/** Bind2 request: <bind><tag/>…enables…</bind>. */
export function bindXml(tag?: string, inner = ""): string {
  return `<bind xmlns='${NS_BIND2}'>${tag !== undefined ? `<tag>${esc(tag)}</tag>` : ""}${inner}</bind>`;
}

export function requestTokenXml(mechanism = "HT-SHA-256-NONE"): string {
  return `<request-token xmlns='${NS_FAST}' mechanism='${esc(mechanism)}'/>`;
}

export function fastXml(attrs: { count?: number | string; invalidate?: string } = {}): string {
  const a = Object.entries(attrs)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}='${esc(String(v))}'`)
    .join("");
  return `<fast xmlns='${NS_FAST}'${a}/>`;
}

/** HMAC-SHA-256(key = token, "Initiator" || cb): the client's HT proof. */
export function htInitiatorProof(token: string, cb: Buffer = Buffer.alloc(0)): Buffer {
  return createHmac("sha256", token)
    .update(Buffer.concat([Buffer.from("Initiator"), cb]))
    .digest();
}

/** HMAC-SHA-256(key = token, "Responder" || cb): the server's HT proof. */
export function htResponderProof(token: string, cb: Buffer = Buffer.alloc(0)): Buffer {
  return createHmac("sha256", token)
    .update(Buffer.concat([Buffer.from("Responder"), cb]))
    .digest();
}

/** The HT initial response: authcid NUL initiator-HMAC. */
export function htInitialResponse(username: string, token: string, cb?: Buffer): Buffer {
  return Buffer.concat([Buffer.from(username), Buffer.from([0]), htInitiatorProof(token, cb)]);
}

export function plainInitialResponse(username: string, password: string): Buffer {
  return Buffer.from(`\0${username}\0${password}`);
}

/** The first SASL2 element of one of the given names that the server sent (undefined if none yet). */
function firstSasl2(text: string, names: string[]): XmlEl | undefined {
  return parseServerOutput(text).flatMap((i) => (i.kind === "element" && i.el.ns === NS_SASL2 && names.includes(i.el.name) ? [i.el] : []))[0];
}

/** A TLS stream (STARTTLS, restarted) whose features have arrived; returns the client and the <stream:features/>. */
export async function sasl2Stream(port: number, opts: { from?: string; tls?: boolean } = {}): Promise<{ c: RawClient; features: XmlEl }> {
  const c = await RawClient.connect(port);
  try {
    if (opts.tls !== false) await c.startTls();
    const from = opts.from !== undefined ? ` from='${esc(opts.from)}'` : "";
    c.send(`<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='${NS_STREAM}' to='localhost'${from} version='1.0'>`);
    const features = await c.waitUntil(
      (text) => parseServerOutput(text).flatMap((i) => (i.kind === "element" && i.el.name === "features" && i.el.ns === NS_STREAM ? [i.el] : []))[0],
      "the stream features",
    );
    c.clear();
    return { c, features };
  } catch (err) {
    c.close();
    throw err;
  }
}

/** Waits for the server's SASL2 <success/> or <failure/> (answering nothing). */
export function sasl2Result(c: RawClient, timeoutMs = 15_000): Promise<XmlEl> {
  return c.waitUntil((text) => firstSasl2(text, ["success", "failure"]), "a SASL2 <success/> or <failure/>", timeoutMs);
}

/** The defined condition of a SASL2 <failure/>: its one child in the xmpp-sasl namespace. */
export function failureCondition(failure: XmlEl): string {
  const conds = failure.children.filter((ch) => ch.ns === NS_SASL && ch.name !== "text");
  assert.equal(conds.length, 1, `expected exactly one condition in the xmpp-sasl namespace in ${show(failure)}`);
  return conds[0]!.name;
}

/** Asserts a SASL2 failure with this condition (in the xmpp-sasl namespace) and, if given, this text. The stream stays open. */
export function assertSasl2Failure(el: XmlEl, condition: string, text?: string): void {
  assert.equal(el.name, "failure", `expected a SASL2 <failure><${condition}/></failure>, got ${show(el)}`);
  assert.equal(el.ns, NS_SASL2, `the failure is in ${NS_SASL2}: ${show(el)}`);
  assert.equal(failureCondition(el), condition, `wrong SASL2 failure condition: ${show(el)}`);
  if (text !== undefined) assert.equal(child(el, "text")?.text, text, `wrong failure text in ${show(el)}`);
}

export async function expectSasl2Failure(c: RawClient, condition: string, text?: string): Promise<XmlEl> {
  const el = await sasl2Result(c);
  assertSasl2Failure(el, condition, text);
  assert.equal(c.closed, false, "a SASL2 failure must not close the stream");
  c.clear();
  return el;
}

export interface Sasl2Success {
  success: XmlEl;
  /** The <stream:features/> sent right after <success/>. */
  features: XmlEl;
  /** Everything parsed from <success/> up to and including the features. */
  items: StreamItem[];
}

/**
 * Waits for a SASL2 <success/> followed by <stream:features/> (no stream restart: no stream
 * header in between), asserts that shape, clears the buffer and returns both.
 */
export async function expectSasl2Success(c: RawClient): Promise<Sasl2Success> {
  const items = await c.waitUntil(
    (text) => {
      const items = parseServerOutput(text);
      const i = items.findIndex((it) => it.kind === "element" && it.el.ns === NS_SASL2 && (it.el.name === "success" || it.el.name === "failure"));
      if (i < 0) return undefined;
      const el = (items[i] as { el: XmlEl }).el;
      if (el.name === "failure") return items.slice(i);
      const f = items.findIndex((it, j) => j > i && it.kind === "element" && it.el.name === "features" && it.el.ns === NS_STREAM);
      return f < 0 ? undefined : items.slice(i, f + 1);
    },
    "a SASL2 <success/> and then <stream:features/>",
    15_000,
  );
  const success = (items[0] as { el: XmlEl }).el;
  assert.equal(success.name, "success", `expected a SASL2 <success/>, got ${show(success)}`);
  assert.deepEqual(
    items.map((i) => (i.kind === "element" ? `${i.el.name}` : i.kind)),
    ["success", "features"],
    `expected <success/> followed straight by <stream:features/> (no restart), got ${JSON.stringify(items)}`,
  );
  const features = (items[1] as { el: XmlEl }).el;
  c.clear();
  return { success, features, items };
}

/** Sends an <authenticate/> with the given mechanism and initial response and waits for the final answer (no challenges). */
export async function authenticateOnce(
  c: RawClient,
  mechanism: string | undefined,
  initial: Buffer | { raw: string } | undefined,
  opts: AuthOptions = {},
): Promise<XmlEl> {
  c.clear();
  c.send(authenticateXml(mechanism, initial, opts));
  return sasl2Result(c);
}

/**
 * Runs SCRAM-SHA-256 (no channel binding) in SASL2 and returns the server's final element
 * (<success/> or <failure/>), leaving it in the buffer. On success, checks the server
 * signature in <additional-data/>.
 */
export async function scram2(c: RawClient, username: string, password: string, opts: AuthOptions = {}): Promise<XmlEl> {
  c.clear();
  const cnonce = randomBytes(18).toString("base64");
  const gs2 = "n,,";
  const bare = `n=${username.replace(/=/g, "=3D").replace(/,/g, "=2C")},r=${cnonce}`;
  c.send(authenticateXml("SCRAM-SHA-256", Buffer.from(gs2 + bare), opts));
  const first = await c.waitUntil((text) => firstSasl2(text, ["challenge", "success", "failure"]), "the SCRAM challenge", 15_000);
  if (first.name !== "challenge") return first;
  c.clear();
  const serverFirst = Buffer.from(first.text, "base64").toString();
  const attrs = Object.fromEntries(serverFirst.split(",").map((p) => [p[0]!, p.slice(2)] as const));
  assert.ok(attrs.r?.startsWith(cnonce) && attrs.s && attrs.i, `bad server-first message: ${serverFirst}`);
  const salted = pbkdf2Sync(password, Buffer.from(attrs.s, "base64"), Number(attrs.i), 32, "sha256");
  const clientKey = createHmac("sha256", salted).update("Client Key").digest();
  const storedKey = createHash("sha256").update(clientKey).digest();
  const withoutProof = `c=${Buffer.from(gs2).toString("base64")},r=${attrs.r}`;
  const authMessage = `${bare},${serverFirst},${withoutProof}`;
  const signature = createHmac("sha256", storedKey).update(authMessage).digest();
  const proof = Buffer.alloc(clientKey.length);
  for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i]! ^ signature[i]!;
  c.send(`<response xmlns='${NS_SASL2}'>${Buffer.from(`${withoutProof},p=${proof.toString("base64")}`).toString("base64")}</response>`);
  const result = await sasl2Result(c);
  if (result.name === "success") {
    const serverKey = createHmac("sha256", salted).update("Server Key").digest();
    const expected = "v=" + createHmac("sha256", serverKey).update(authMessage).digest("base64");
    const ad = child(result, "additional-data", NS_SASL2);
    assert.ok(ad, `SCRAM success without <additional-data/>: ${show(result)}`);
    assert.equal(Buffer.from(ad.text, "base64").toString(), expected, "the SCRAM server signature in <additional-data/>");
  }
  return result;
}

/** PLAIN in SASL2; returns the final element. */
export function plain2(c: RawClient, username: string, password: string, opts: AuthOptions = {}): Promise<XmlEl> {
  return authenticateOnce(c, "PLAIN", plainInitialResponse(username, password), opts);
}

/** HT-SHA-256-* with <fast/> in SASL2; returns the final element. */
export function ht2(
  c: RawClient,
  username: string,
  token: string,
  opts: AuthOptions & { mechanism?: string; fast?: { count?: number | string; invalidate?: string }; cb?: Buffer } = {},
): Promise<XmlEl> {
  const extra = fastXml(opts.fast) + (opts.extra ?? "");
  return authenticateOnce(c, opts.mechanism ?? "HT-SHA-256-NONE", htInitialResponse(username, token, opts.cb), { userAgent: opts.userAgent, extra });
}

/** The <token xmlns='urn:xmpp:fast:0'/> in a <success/>, if any. */
export function tokenOf(success: XmlEl): { token: string; expiry: string } | undefined {
  const t = child(success, "token", NS_FAST);
  return t ? { token: t.attrs.token!, expiry: t.attrs.expiry! } : undefined;
}

/** The last child of a <success/>: <authorization-identifier/> text. */
export function authzIdOf(success: XmlEl): string {
  const last = success.children[success.children.length - 1];
  assert.ok(
    last && last.name === "authorization-identifier" && last.ns === NS_SASL2,
    `the last child of <success/> must be <authorization-identifier/>: ${show(success)}`,
  );
  return last.text;
}
