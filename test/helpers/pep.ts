// Raw-XML PEP clients for the end-to-end tests: log in, exchange presence subscriptions, send
// IQs, and announce entity capabilities (XEP-0115) the way a real client does — presence with
// <c hash='sha-1' ver/>, and the disco#info answer to the server's query. The `ver` is
// computed here, independently of the server's code (XEP-0115 §5.1, identities and features only).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { TestServer } from "./server.js";
import { RawClient } from "./raw-client.js";
import { child, show, type XmlEl } from "./xml.js";
import { waitForElement } from "./xmpp-assert.js";

export const NS_PUBSUB = "http://jabber.org/protocol/pubsub";
export const NS_OWNER = "http://jabber.org/protocol/pubsub#owner";
export const NS_EVENT = "http://jabber.org/protocol/pubsub#event";
export const NS_ERRORS = "http://jabber.org/protocol/pubsub#errors";
const NS_INFO = "http://jabber.org/protocol/disco#info";

export interface User {
  username: string;
  password: string;
  bare: string;
}
export interface Client {
  c: RawClient;
  jid: string;
  bare: string;
}

let count = 0;
const clients: RawClient[] = [];

export async function newUser(server: TestServer, prefix: string): Promise<User> {
  const username = `${prefix}${++count}`;
  const password = `pw-${username}-secret`;
  await server.addUser(username, password);
  return { username, password, bare: `${username}@localhost` };
}

/** Logs in (no presence yet). */
export async function online(server: TestServer, user: User, resource = "r"): Promise<Client> {
  const c = await RawClient.connect(server.c2sPort);
  clients.push(c);
  const jid = await c.login(user.username, user.password, resource);
  return { c, jid, bare: user.bare };
}

export function closeAll(): void {
  for (const c of clients) c.close();
}

export async function iq(cl: Client, type: "get" | "set", payload: string, to?: string): Promise<XmlEl> {
  const id = `i${++count}`;
  cl.c.send(`<iq type='${type}' id='${id}'${to ? ` to='${to}'` : ""}>${payload}</iq>`);
  return waitForElement(cl.c, (el) => el.name === "iq" && el.attrs.id === id, `the reply to ${id}`);
}

export async function ok(cl: Client, type: "get" | "set", payload: string, to?: string): Promise<XmlEl> {
  const r = await iq(cl, type, payload, to);
  assert.equal(r.attrs.type, "result", show(r));
  return r;
}

/** The stanza error condition of a reply, and its pubsub#errors condition if any. */
export function errorOf(reply: XmlEl): [string | undefined, string | undefined, string | undefined] {
  assert.equal(reply.attrs.type, "error", show(reply));
  const err = child(reply, "error")!;
  const cond = err.children.find((e) => e.ns === "urn:ietf:params:xml:ns:xmpp-stanzas" && e.name !== "text");
  return [err.attrs.type, cond?.name, child(err, undefined, NS_ERRORS)?.name];
}

/** `a` subscribes to `b`'s presence and `b` (available) approves: b's roster then says "from" (or "both") a. */
export async function subscribe(a: Client, b: Client): Promise<void> {
  a.c.send(`<presence to='${b.bare}' type='subscribe'/>`);
  await waitForElement(b.c, (el) => el.name === "presence" && el.attrs.type === "subscribe" && el.attrs.from === a.bare, "the subscription request");
  b.c.send(`<presence to='${a.bare}' type='subscribed'/>`);
  for (let i = 0; i < 50; i++) {
    const r = await ok(b, "get", "<query xmlns='jabber:iq:roster'/>");
    const item = child(r, "query")!.children.find((it) => it.attrs.jid === a.bare);
    if (item && /^(from|both)$/.test(item.attrs.subscription ?? "")) return;
    await new Promise((res) => setTimeout(res, 50));
  }
  assert.fail(`${b.bare} never approved ${a.bare}`);
}

/** XEP-0115 §5.1 for one identity and a list of features. */
export function capsVer(identity: string, features: string[]): string {
  const s =
    `${identity}<` +
    [...features]
      .sort()
      .map((f) => f + "<")
      .join("");
  return createHash("sha1").update(s).digest("base64");
}

/**
 * Sends available presence with caps for these +notify nodes, answers the server's disco#info
 * query (unless the ver is cached there) with `answerVer` features (the true ones by default),
 * and resolves when the presence is echoed back.
 */
export async function presenceWithCaps(cl: Client, notify: string[], opts: { expectQuery?: boolean; lie?: boolean } = {}): Promise<void> {
  const features = ["http://jabber.org/protocol/caps", NS_INFO, ...notify.map((n) => `${n}+notify`)];
  const ver = capsVer("client/pc//Test", features);
  cl.c.send(`<presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://test.example' ver='${ver}'/></presence>`);
  if (opts.expectQuery !== false) {
    const q = await waitForElement(
      cl.c,
      (el) => el.name === "iq" && el.attrs.type === "get" && child(el, "query", NS_INFO)?.attrs.node === `https://test.example#${ver}`,
      "the server's disco#info query",
    );
    const answered = opts.lie ? [...features, "urn:xmpp:extra+notify"] : features;
    const feats = answered.map((f) => `<feature var='${f}'/>`).join("");
    cl.c.send(
      `<iq type='result' id='${q.attrs.id}' to='${q.attrs.from}'><query xmlns='${NS_INFO}' node='https://test.example#${ver}'><identity category='client' type='pc' name='Test'/>${feats}</query></iq>`,
    );
  }
  await waitForElement(cl.c, (el) => el.name === "presence" && el.attrs.from === cl.jid && el.attrs.type === undefined, "the presence echo");
}

/** Waits for an event notification from `owner` about `node` whose show() includes `text`. */
export function notification(cl: Client, owner: string, node: string, text: string, timeoutMs = 5000): Promise<XmlEl> {
  return waitForElement(
    cl.c,
    (el) =>
      el.name === "message" &&
      el.attrs.from === owner &&
      child(el, "event", NS_EVENT) !== undefined &&
      show(el).includes(`node="${node}"`) &&
      show(el).includes(text),
    `a notification of ${node} (${text}) from ${owner}`,
    timeoutMs,
  );
}

/** Nothing matching arrives within `ms` (after a ping proves the stream is processed up to now). */
export async function noneArrives(cl: Client, pred: (el: XmlEl) => boolean, ms = 300): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
  await ok(cl, "get", "<ping xmlns='urn:xmpp:ping'/>", "localhost");
  await assert.rejects(waitForElement(cl.c, pred, "nothing", 1), /timed out/);
}

export function publishXml(node: string, payload: string, id?: string, options?: Record<string, string>): string {
  const opts = options
    ? `<publish-options><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/pubsub#publish-options</value></field>${Object.entries(
        options,
      )
        .map(([k, v]) => `<field var='${k}'><value>${v}</value></field>`)
        .join("")}</x></publish-options>`
    : "";
  return `<pubsub xmlns='${NS_PUBSUB}'><publish node='${node}'><item${id ? ` id='${id}'` : ""}>${payload}</item></publish>${opts}</pubsub>`;
}

/** The item ids (in order) of an items request. */
export async function itemIds(cl: Client, owner: string, node: string, extra = ""): Promise<string[]> {
  const r = await ok(cl, "get", `<pubsub xmlns='${NS_PUBSUB}'><items node='${node}'${extra}/></pubsub>`, owner);
  return child(child(r, "pubsub", NS_PUBSUB)!, "items")!.children.map((i) => i.attrs.id!);
}
