// A stand-in for a push app server (XEP-0357 §7) that the test itself runs: a local account's
// client session that receives the notifications (pubsub publish IQs) over real XMPP, answers
// them (a result, or an error to make the server disable the registration), and hands them to
// the test parsed.
import assert from "node:assert/strict";
import type { RawClient } from "./raw-client.js";
import { legacyLogin } from "./manage-clients.js";
import { child, elementsOf, show, type XmlEl } from "./xml.js";
import { waitForElement } from "./xmpp-assert.js";

export const NS_PUSH = "urn:xmpp:push:0";
const NS_PUBSUB = "http://jabber.org/protocol/pubsub";
const NS_DATA = "jabber:x:data";

export interface Notification {
  from: string;
  to: string;
  node: string;
  /** The urn:xmpp:push:summary form, var → values. */
  summary: Record<string, string[]>;
  /** The publish-options form, when sent. */
  options: Record<string, string[]> | undefined;
  el: XmlEl;
}

export function formFields(x: XmlEl): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const f of x.children.filter((c) => c.name === "field" && c.ns === NS_DATA)) {
    out[f.attrs.var!] = f.children.filter((v) => v.name === "value").map((v) => v.text);
  }
  return out;
}

const isPush = (el: XmlEl) => el.name === "iq" && el.attrs.type === "set" && !!child(el, "pubsub", NS_PUBSUB);

export class PushService {
  private readonly seen = new Set<string>();
  /** How the next notifications are answered: a result, or an error of this type and condition. */
  answer: "result" | { type: string; condition: string } = "result";

  private constructor(
    readonly c: RawClient,
    readonly jid: string,
  ) {}

  static async connect(port: number, username: string, password: string): Promise<PushService> {
    const { c, jid } = await legacyLogin(port, username, password, "app");
    return new PushService(c, jid);
  }

  /** Waits for the next notification, answers it, and returns it parsed. */
  async next(timeoutMs = 5000): Promise<Notification> {
    const el = await waitForElement(this.c, (e) => isPush(e) && !this.seen.has(e.attrs.id!), "a push notification", timeoutMs);
    this.seen.add(el.attrs.id!);
    const a = this.answer;
    const reply =
      a === "result"
        ? `<iq type='result' id='${el.attrs.id}' to='${el.attrs.from}'/>`
        : `<iq type='error' id='${el.attrs.id}' to='${el.attrs.from}'><error type='${a.type}'><${a.condition} xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`;
    this.c.send(reply);
    const pubsub = child(el, "pubsub", NS_PUBSUB)!;
    const publish = child(pubsub, "publish", NS_PUBSUB);
    assert.ok(publish, `no <publish/> in ${show(el)}`);
    const notification = child(child(publish, "item", NS_PUBSUB) ?? publish, "notification", NS_PUSH);
    assert.ok(notification, `no <item><notification xmlns='${NS_PUSH}'/></item> in ${show(el)}`);
    const summary = child(notification, "x", NS_DATA);
    assert.ok(summary, `no summary form in ${show(el)}`);
    assert.equal(summary.attrs.type, "submit", `the summary form is a submitted one: ${show(el)}`);
    const po = child(pubsub, "publish-options", NS_PUBSUB);
    const poForm = po && child(po, "x", NS_DATA);
    return { from: el.attrs.from!, to: el.attrs.to!, node: publish.attrs.node!, summary: formFields(summary), options: poForm && formFields(poForm), el };
  }

  /** Asserts that no notification came (after waiting `ms`). */
  async none(ms: number, what: string): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
    const extra = elementsOf(this.c.received).filter((e) => isPush(e) && !this.seen.has(e.attrs.id!));
    assert.equal(extra.length, 0, `${what}: no push notification expected, got ${extra.map(show).join(" ")}`);
  }

  close(): void {
    this.c.close();
  }
}
