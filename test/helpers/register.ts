// In-band registration (XEP-0077) and invitation tokens (XEP-0445) from a raw client: the
// stream up to the form, and the form's answer as the server sent it.
import assert from "node:assert/strict";
import { RawClient } from "./raw-client.js";
import { waitForElement } from "./xmpp-assert.js";
import { child, show, type XmlEl } from "./xml.js";

export const NS_REGISTER = "jabber:iq:register";
let ids = 0;

/** A TLS stream up to its pre-authentication features, from `localAddress` when given. */
export async function preAuthStream(port: number, localAddress?: string): Promise<{ c: RawClient; features: string }> {
  const c = await RawClient.connect(port, localAddress ? { localAddress } : {});
  await c.startTls();
  c.openStream();
  const m = await c.waitFor(/<stream:features>[\s\S]*<\/stream:features>/);
  const features = m[0];
  c.clear();
  return { c, features };
}

/** Sends an IQ and waits for its answer. */
export async function iq(c: RawClient, type: "get" | "set", payload: string): Promise<XmlEl> {
  const id = `r${++ids}`;
  c.send(`<iq type='${type}' id='${id}'>${payload}</iq>`);
  return waitForElement(c, (el) => el.name === "iq" && el.attrs.id === id, `the answer to ${id}`);
}

export const preauth = (c: RawClient, token: string) => iq(c, "set", `<preauth xmlns='urn:xmpp:pars:0' token='${token}'/>`);

export function registerForm(c: RawClient): Promise<XmlEl> {
  return iq(c, "get", `<query xmlns='${NS_REGISTER}'/>`);
}

export function submit(c: RawClient, username: string, password: string): Promise<XmlEl> {
  const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  return iq(c, "set", `<query xmlns='${NS_REGISTER}'><username>${esc(username)}</username><password>${esc(password)}</password></query>`);
}

/** The stanza error condition of an IQ answer, or "result". */
export function outcome(reply: XmlEl): string {
  if (reply.attrs.type === "result") return "result";
  const err = child(reply, "error");
  assert.ok(err, `no error in ${show(reply)}`);
  const cond = err.children.find((ch) => ch.ns === "urn:ietf:params:xml:ns:xmpp-stanzas" && ch.name !== "text");
  return `${err.attrs.type}/${cond?.name}`;
}

/** Whether PLAIN login succeeds on a fresh connection. */
export async function canLogin(port: number, username: string, password: string): Promise<boolean> {
  const c = await RawClient.connect(port);
  try {
    return await c.plainAuth(username, password);
  } finally {
    c.close();
  }
}

/** The token at the end of `warden invite create`'s URL line. */
export function tokenOf(stdout: string): string {
  const m = /\/invite\/([A-Za-z0-9_-]+)\s/.exec(stdout);
  assert.ok(m, `no invite URL in ${stdout}`);
  return m[1]!;
}
