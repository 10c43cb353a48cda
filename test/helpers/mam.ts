// Client-side helpers for the message archive tests (XEP-0313): an archive query over a raw
// client, its <result/> messages and <fin/> parsed independently of the server's XML code.
import assert from "node:assert/strict";
import type { RawClient } from "./raw-client.js";
import { child, parseServerOutput, show, type XmlEl } from "./xml.js";
import { waitForElement } from "./xmpp-assert.js";

export const NS_MAM = "urn:xmpp:mam:2";
export const NS_RSM = "http://jabber.org/protocol/rsm";
export const NS_SID = "urn:xmpp:sid:0";
export const NS_FORWARD = "urn:xmpp:forward:0";
export const NS_DELAY = "urn:xmpp:delay";

let seq = 0;
export const nextId = (p = "mam") => `${p}${++seq}-${Math.random().toString(36).slice(2, 8)}`;

export interface Result {
  /** The archive id (<result id/>). */
  id: string;
  stamp: string;
  /** The archived message. */
  message: XmlEl;
  body: string | undefined;
}

export interface QueryReply {
  results: Result[];
  fin: XmlEl | undefined;
  first?: string;
  last?: string;
  count?: number;
  complete: boolean;
  reply: XmlEl;
}

/** A data form of the query: field name → value(s). */
export function form(fields: Record<string, string | string[]>): string {
  const f = Object.entries(fields)
    .map(([k, v]) => `<field var='${k}'>${(Array.isArray(v) ? v : [v]).map((x) => `<value>${x}</value>`).join("")}</field>`)
    .join("");
  return `<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>${NS_MAM}</value></field>${f}</x>`;
}

export function rsm(parts: { max?: number; after?: string; before?: string | true }): string {
  let s = "";
  if (parts.max !== undefined) s += `<max>${parts.max}</max>`;
  if (parts.after !== undefined) s += `<after>${parts.after}</after>`;
  if (parts.before === true) s += "<before/>";
  else if (parts.before !== undefined) s += `<before>${parts.before}</before>`;
  return `<set xmlns='${NS_RSM}'>${s}</set>`;
}

/** Sends an archive query with `inner` (form, RSM, flip-page) and collects its results and the final IQ. */
export async function query(c: RawClient, inner = "", opts: { to?: string; timeoutMs?: number } = {}): Promise<QueryReply> {
  const id = nextId("q");
  const queryid = nextId("qid");
  c.send(`<iq type='set' id='${id}'${opts.to ? ` to='${opts.to}'` : ""}><query xmlns='${NS_MAM}' queryid='${queryid}'>${inner}</query></iq>`);
  const reply = await waitForElement(c, (el) => el.name === "iq" && el.attrs.id === id, `the reply to query ${id}`, opts.timeoutMs ?? 10_000);
  const results: Result[] = [];
  for (const item of parseServerOutput(c.received)) {
    if (item.kind !== "element" || item.el.name !== "message") continue;
    const r = child(item.el, "result", NS_MAM);
    if (!r || r.attrs.queryid !== queryid) continue;
    const fwd = child(r, "forwarded", NS_FORWARD);
    assert.ok(fwd, `a result without <forwarded/>: ${show(item.el)}`);
    const delay = child(fwd, "delay", NS_DELAY);
    const message = child(fwd, "message");
    assert.ok(delay && message, `a result without <delay/> or <message/>: ${show(item.el)}`);
    results.push({ id: r.attrs.id!, stamp: delay.attrs.stamp!, message, body: child(message, "body")?.text });
  }
  const fin = child(reply, "fin", NS_MAM);
  const set = fin && child(fin, "set", NS_RSM);
  const out: QueryReply = { results, fin, complete: fin?.attrs.complete === "true", reply };
  const text = (n: string) => (set ? child(set, n)?.text : undefined);
  if (text("first") !== undefined) out.first = text("first");
  if (text("last") !== undefined) out.last = text("last");
  if (text("count") !== undefined) out.count = Number(text("count"));
  return out;
}

/** Like query, and asserts that it succeeded. */
export async function queryOk(c: RawClient, inner = "", opts: { to?: string } = {}): Promise<QueryReply> {
  const r = await query(c, inner, opts);
  assert.equal(r.reply.attrs.type, "result", `the query failed: ${show(r.reply)}`);
  assert.ok(r.fin, `no <fin/> in ${show(r.reply)}`);
  return r;
}

/** The stanza-id the server stamped (by = `by`), if any. */
export function stanzaIdOf(msg: XmlEl, by: string): string | undefined {
  return msg.children.filter((ch) => ch.name === "stanza-id" && ch.ns === NS_SID && ch.attrs.by === by).map((ch) => ch.attrs.id)[0];
}
