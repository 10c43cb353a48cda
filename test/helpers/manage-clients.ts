// Client-side helpers for the client management tests (src/clients/): raw logins of each kind
// (legacy SASL + bind, SASL2 with or without Bind2, FAST), and the manage-clients IQs
// (`xmpp:prosody.im/protocol/manage-clients` and XEP-0494 `urn:xmpp:cam:0`) parsed as XML,
// with the raw text kept for checks on the exact serialisation.
import assert from "node:assert/strict";
import { RawClient } from "./raw-client.js";
import { NS_STANZAS, child, show, type XmlEl } from "./xml.js";
import { waitForElement } from "./xmpp-assert.js";
import {
  authenticateXml,
  bindXml,
  expectSasl2Success,
  ht2,
  plain2,
  plainInitialResponse,
  requestTokenXml,
  sasl2Stream,
  tokenOf,
  type UserAgent,
} from "./sasl2-client.js";
import type { TestServer } from "./server.js";

export const NS_MANAGE = "xmpp:prosody.im/protocol/manage-clients";
export const NS_CAM = "urn:xmpp:cam:0";
export const NS_HOLDINGS = "urn:warden:client-holdings:0";
const NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind";

let seq = 0;
export const nextId = (prefix = "q") => `${prefix}${++seq}`;

/** One <client/> of a list, parsed. */
export interface ListedClient {
  id: string;
  connected: string | undefined;
  type: string | undefined;
  firstSeen: string;
  lastSeen: string;
  /** Names of the children of <auth/>, in order. */
  auth: string[];
  permission?: string;
  software?: string;
  softwareAttrs?: Record<string, string>;
  device?: string;
  uri?: string;
  /** Names of the children of <client/>, in order. */
  children: string[];
  /** Names of the children of <user-agent/>, in order. */
  uaChildren: string[];
  el: XmlEl;
}

/** The exact text the server wrote for the IQ with this id (for attribute-order checks). */
export function rawIq(c: RawClient, id: string): string {
  const m = c.received.match(new RegExp(`<iq\\b[^>]*\\bid=(['"])${id}\\1[^>]*?(?:/>|>[\\s\\S]*?</iq>)`));
  assert.ok(m, `no raw <iq id='${id}'> in ${c.received}`);
  return m[0];
}

/** Sends an IQ (its `id` must be `id`) and waits for the reply; returns it parsed and raw. */
export async function iq(c: RawClient, id: string, xml: string, timeoutMs = 10_000): Promise<{ reply: XmlEl; raw: string }> {
  c.send(xml);
  const reply = await waitForElement(
    c,
    (el) => el.name === "iq" && el.attrs.id === id && (el.attrs.type === "result" || el.attrs.type === "error"),
    `the reply to <iq id='${id}'>`,
    timeoutMs,
  );
  return { reply, raw: rawIq(c, id) };
}

export function parseClient(el: XmlEl, ns: string): ListedClient {
  assert.equal(el.name, "client", `expected <client/>, got ${show(el)}`);
  assert.equal(el.ns, ns, `a <client/> in ${ns}: ${show(el)}`);
  // Warden's <holdings/> extension is in its own namespace (clients that do not know it ignore it).
  for (const ch of el.children) if (ch.ns !== NS_HOLDINGS) assert.equal(ch.ns, ns, `every child of <client/> is in ${ns}: ${show(el)}`);
  const text = (name: string) => {
    const ch = child(el, name, ns);
    assert.ok(ch, `<client/> without <${name}/>: ${show(el)}`);
    return ch.text;
  };
  const auth = child(el, "auth", ns);
  assert.ok(auth, `<client/> without <auth/>: ${show(el)}`);
  const ua = child(el, "user-agent", ns);
  assert.ok(ua, `<client/> without <user-agent/>: ${show(el)}`);
  const sw = child(ua, "software", ns);
  const out: ListedClient = {
    id: el.attrs.id!,
    connected: el.attrs.connected,
    type: el.attrs.type,
    firstSeen: text("first-seen"),
    lastSeen: text("last-seen"),
    auth: auth.children.map((c) => c.name),
    children: el.children.map((c) => c.name),
    uaChildren: ua.children.map((c) => c.name),
    el,
  };
  for (const a of auth.children) {
    assert.equal(a.ns, ns, `<auth/> children are in ${ns}: ${show(auth)}`);
    assert.equal(a.children.length + a.text.trim().length, 0, `<auth/> children are empty: ${show(auth)}`);
  }
  const perm = child(el, "permission", ns);
  if (perm) out.permission = perm.attrs.status;
  if (sw) {
    out.software = sw.text;
    out.softwareAttrs = sw.attrs;
  }
  const dev = child(ua, "device", ns);
  if (dev) out.device = dev.text;
  const uri = child(ua, "uri", ns);
  if (uri) out.uri = uri.text;
  return out;
}

/** <list/> in `ns` (optionally addressed to `to`); asserts a result with exactly one <clients/>. */
export async function listClients(c: RawClient, ns = NS_MANAGE, to?: string): Promise<{ clients: ListedClient[]; reply: XmlEl; raw: string }> {
  const id = nextId("list");
  const { reply, raw } = await iq(c, id, `<iq type='get' id='${id}'${to ? ` to='${to}'` : ""}><list xmlns='${ns}'/></iq>`);
  assert.equal(reply.attrs.type, "result", `the list was refused: ${show(reply)}`);
  assert.equal(reply.children.length, 1, `exactly one child in the list result: ${show(reply)}`);
  const clients = reply.children[0]!;
  assert.equal(clients.name, "clients", `the list result holds <clients/>: ${show(reply)}`);
  assert.equal(clients.ns, ns, `<clients/> is in ${ns}: ${show(reply)}`);
  return { clients: clients.children.map((el) => parseClient(el, ns)), reply, raw };
}

/** <revoke id=selector/> (no id attribute when selector is undefined); returns the reply. */
export async function revokeClient(c: RawClient, selector: string | undefined, ns = NS_MANAGE, to?: string): Promise<{ reply: XmlEl; raw: string }> {
  const id = nextId("revoke");
  const sel = selector === undefined ? "" : ` id='${selector.replace(/&/g, "&amp;").replace(/'/g, "&apos;").replace(/</g, "&lt;")}'`;
  return iq(c, id, `<iq type='set' id='${id}'${to ? ` to='${to}'` : ""}><revoke xmlns='${ns}'${sel}/></iq>`);
}

/** The <error/> of an error reply: its type, the names of its children in order, and its text. */
export function stanzaError(reply: XmlEl): { type: string | undefined; children: Array<{ name: string; ns: string }>; text: string | undefined; el: XmlEl } {
  assert.equal(reply.attrs.type, "error", `expected an error reply, got ${show(reply)}`);
  const err = reply.children.find((ch) => ch.name === "error");
  assert.ok(err, `no <error/> in ${show(reply)}`);
  return { type: err.attrs.type, children: err.children.map((ch) => ({ name: ch.name, ns: ch.ns })), text: child(err, "text", NS_STANZAS)?.text, el: err };
}

/** Asserts the exact `Client not found` error. */
export function assertClientNotFound(reply: XmlEl, what: string): void {
  const e = stanzaError(reply);
  assert.equal(e.type, "cancel", `${what}: error type: ${show(reply)}`);
  assert.deepEqual(
    e.children,
    [
      { name: "item-not-found", ns: NS_STANZAS },
      { name: "text", ns: NS_STANZAS },
    ],
    `${what}: error children: ${show(reply)}`,
  );
  assert.equal(e.text, "Client not found", `${what}: error text: ${show(reply)}`);
}

/** Asserts the exact password-reset-required error (condition, text, then the element in `ns`). */
export function assertPasswordResetRequired(reply: XmlEl, ns: string, what: string): void {
  const e = stanzaError(reply);
  assert.equal(e.type, "cancel", `${what}: error type: ${show(reply)}`);
  assert.deepEqual(
    e.children,
    [
      { name: "service-unavailable", ns: NS_STANZAS },
      { name: "text", ns: NS_STANZAS },
      { name: "password-reset-required", ns },
    ],
    `${what}: the error is service-unavailable, then <text/>, then <password-reset-required xmlns='${ns}'/>: ${show(reply)}`,
  );
  assert.equal(e.text, "Password reset required", `${what}: error text: ${show(reply)}`);
}

/** Asserts a stanza error with this type and condition (no text check). */
export function assertStanzaError(reply: XmlEl, type: string, condition: string, what: string): void {
  const e = stanzaError(reply);
  assert.equal(e.type, type, `${what}: error type: ${show(reply)}`);
  const conds = e.children.filter((c) => c.ns === NS_STANZAS && c.name !== "text");
  assert.deepEqual(
    conds.map((c) => c.name),
    [condition],
    `${what}: condition: ${show(reply)}`,
  );
}

// ---- logins -------------------------------------------------------------------------------

/** RFC 6120 SASL PLAIN + iq bind of `resource`: a legacy client. */
export async function legacyLogin(port: number, user: string, password: string, resource?: string): Promise<{ c: RawClient; jid: string }> {
  const c = await RawClient.connect(port);
  try {
    const jid = await c.login(user, password, resource);
    return { c, jid };
  } catch (err) {
    c.close();
    throw err;
  }
}

export interface Sasl2LoginOptions {
  userAgent?: UserAgent;
  /** Bind2 with this tag; `false`: no Bind2 (then the resource is bound with an RFC 6120 iq unless `legacyBind` is false). */
  bind?: string | false;
  legacyBind?: boolean;
  requestToken?: boolean;
}

export interface Sasl2Login {
  c: RawClient;
  success: XmlEl;
  jid: string | undefined;
  token: string | undefined;
}

async function bindTheOldWay(c: RawClient, resource?: string): Promise<string> {
  const id = nextId("bind");
  c.send(`<iq type='set' id='${id}'><bind xmlns='${NS_BIND}'>${resource ? `<resource>${resource}</resource>` : ""}</bind></iq>`);
  const reply = await waitForElement(c, (el) => el.name === "iq" && el.attrs.id === id, "the bind result");
  assert.equal(reply.attrs.type, "result", `bind failed: ${show(reply)}`);
  const jid = child(child(reply, "bind", NS_BIND)!, "jid")!.text;
  c.clear();
  return jid;
}

function bindExtra(opts: Sasl2LoginOptions): string {
  const bind = opts.bind === false ? "" : bindXml(opts.bind ?? "warden-test");
  return bind + (opts.requestToken ? requestTokenXml("HT-SHA-256-NONE") : "");
}

async function afterSuccess(c: RawClient, success: XmlEl, opts: Sasl2LoginOptions, resource?: string): Promise<Sasl2Login> {
  const token = tokenOf(success)?.token;
  let jid: string | undefined;
  const bound = success.children.find((ch) => ch.name === "bound");
  if (bound) jid = success.children.find((ch) => ch.name === "authorization-identifier")?.text;
  else if (opts.legacyBind !== false) jid = await bindTheOldWay(c, resource);
  return { c, success, jid, token };
}

/** SASL2 PLAIN (with a user agent, Bind2 unless `bind: false`, a FAST token if asked); asserts success. */
export async function sasl2Login(port: number, user: string, password: string, opts: Sasl2LoginOptions = {}): Promise<Sasl2Login> {
  const { c } = await sasl2Stream(port);
  try {
    c.send(authenticateXml("PLAIN", plainInitialResponse(user, password), { userAgent: opts.userAgent, extra: bindExtra(opts) }));
    const { success } = await expectSasl2Success(c);
    return await afterSuccess(c, success, opts);
  } catch (err) {
    c.close();
    throw err;
  }
}

/** SASL2 PLAIN that is expected to fail; returns the open stream and the <failure/>. */
export async function sasl2LoginFails(port: number, user: string, password: string, userAgent?: UserAgent): Promise<{ c: RawClient; failure: XmlEl }> {
  const { c } = await sasl2Stream(port);
  const failure = await plain2(c, user, password, { userAgent, extra: bindXml("warden-test") });
  return { c, failure };
}

/** FAST (HT-SHA-256-NONE) login with a token; returns the final element (the caller checks it) and the stream. */
export async function fastLogin(
  port: number,
  user: string,
  token: string,
  userAgent: UserAgent,
  opts: { bind?: string | false; requestToken?: boolean } = {},
): Promise<{ c: RawClient; result: XmlEl }> {
  const { c } = await sasl2Stream(port);
  const extra = (opts.bind === false ? "" : bindXml(opts.bind ?? "warden-test")) + (opts.requestToken ? requestTokenXml("HT-SHA-256-NONE") : "");
  const result = await ht2(c, user, token, { userAgent, extra });
  return { c, result };
}

/** `warden user passwd` against the running server. */
export async function passwd(server: TestServer, user: string, password: string): Promise<void> {
  const r = await server.cli(["user", "passwd", user], `${password}\n`);
  assert.equal(r.code, 0, `user passwd ${user} failed (${r.code}): ${r.stdout}${r.stderr}`);
}

/** XEP-0082 date-time with whole seconds in UTC. */
export const XEP82 = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\dZ$/;

/** Asserts a XEP-0082 UTC timestamp within [from, to] (from rounded down to the second). */
export function assertStamp(value: string, from: number, to: number, what: string): number {
  assert.match(value, XEP82, `${what} is XEP-0082 UTC with whole seconds: '${value}'`);
  const t = Date.parse(value);
  assert.ok(t >= Math.floor(from / 1000) * 1000 && t <= to, `${what} ${value} lies between ${new Date(from).toISOString()} and ${new Date(to).toISOString()}`);
  return t;
}

export function byId(clients: ListedClient[], id: string): ListedClient | undefined {
  return clients.find((c) => c.id === id);
}

export function getById(clients: ListedClient[], id: string): ListedClient {
  const c = byId(clients, id);
  assert.ok(c, `${id} is listed; the list has ${JSON.stringify(clients.map((x) => x.id))}`);
  return c;
}
