// Unique and stable stanza ids (XEP-0359) as the archive assigns them. A message's archive id
// is stamped as <stanza-id by="user@domain"/> on what the user's clients receive: the
// delivered message, and the carbon copy of a message the user sent (XEP-0313 §5.2,
// XEP-0280), so a client can match a live message with the same one in the archive.
import { x, type Element } from "../../xml/element.js";

export const NS_SID = "urn:xmpp:sid:0";

// Outgoing messages the sender's archive took, until carbons copy them: the message itself
// goes on to the recipient without the sender's id, so the id rides beside it.
const sentIds = new WeakMap<Element, Element>();

export function stanzaIdElement(by: string, id: string): Element {
  return x("stanza-id", { xmlns: NS_SID, by, id });
}

/** Removes every <stanza-id/> claiming to be from `by`: only our server may say that (XEP-0359 §5.1). */
export function stripStanzaIds(stanza: Element, by: string): void {
  for (const el of stanza.getChildren("stanza-id", NS_SID)) if (el.attrs.by?.toLowerCase() === by) stanza.remove(el);
}

/** Notes the sender's archive id of an outgoing message, for its carbon copies. */
export function noteSentId(stanza: Element, by: string, id: string): void {
  sentIds.set(stanza, stanzaIdElement(by, id));
}

/** The message as the sender's own clients see it: a copy with the sender's archive id, when it was archived. */
export function asSenderSees(stanza: Element): Element {
  const sid = sentIds.get(stanza);
  if (!sid) return stanza;
  const copy = stanza.clone();
  stripStanzaIds(copy, sid.attrs.by!);
  copy.cnode(sid.clone());
  return copy;
}
