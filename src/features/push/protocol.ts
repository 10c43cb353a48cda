// The client's side of XEP-0357: <enable jid node> with an optional publish-options form (§5),
// <disable jid [node]> (§6). Checked whole before anything is stored: bad input changes nothing.
import type { Element } from "../../xml/element.js";
import { parseJid } from "../../core/jid.js";
import { stanzaErrors, type StanzaErrorDef } from "../../core/errors.js";
import type { PushRegistration } from "../../storage/types.js";

const NS_DATA = "jabber:x:data";
const PUBLISH_OPTIONS = "http://jabber.org/protocol/pubsub#publish-options";
/** Bounds on what a client may have stored and sent with every notification. */
const MAX_NODE = 1023;
const MAX_FIELDS = 16;
const MAX_VALUES = 8;
const MAX_NAME = 256;
const MAX_VALUE = 1024;

export type Parsed<T> = { ok: T } | { error: StanzaErrorDef };

/** <enable/>: the registration it asks for, or the error to answer. */
export function parseEnable(el: Element): Parsed<Pick<PushRegistration, "jid" | "node" | "options">> {
  const jid = parseJid(el.attrs.jid ?? "");
  const node = el.attrs.node ?? "";
  if (!jid || node === "" || node.length > MAX_NODE) return { error: stanzaErrors.pushBadEnable };
  const forms = el.getChildren("x", NS_DATA);
  if (forms.length > 1) return { error: stanzaErrors.pushBadForm };
  const options = forms[0] ? parseOptions(forms[0]) : [];
  if (!options) return { error: stanzaErrors.pushBadForm };
  return { ok: { jid: jid.toString(), node, options } };
}

/** <disable/>: the service and, when given, the one node. */
export function parseDisable(el: Element): Parsed<{ jid: string; node?: string }> {
  const jid = parseJid(el.attrs.jid ?? "");
  if (!jid) return { error: stanzaErrors.pushBadEnable };
  const node = el.attrs.node;
  return { ok: node ? { jid: jid.toString(), node } : { jid: jid.toString() } };
}

/** A submitted pubsub#publish-options form (XEP-0004), FORM_TYPE left out; undefined when it is not one, or too big. */
function parseOptions(form: Element): PushRegistration["options"] | undefined {
  if ((form.attrs.type ?? "submit") !== "submit") return undefined;
  const fields = form.getChildren("field", NS_DATA);
  if (fields.length > MAX_FIELDS + 1) return undefined;
  const out: PushRegistration["options"] = [];
  let formType: string | undefined;
  const seen = new Set<string>();
  for (const f of fields) {
    const name = f.attrs.var;
    const values = f.getChildren("value", NS_DATA).map((v) => v.getText());
    if (!name || name.length > MAX_NAME || seen.has(name) || values.length > MAX_VALUES || values.some((v) => v.length > MAX_VALUE)) return undefined;
    seen.add(name);
    if (name === "FORM_TYPE") formType = values[0];
    else out.push({ name, values });
  }
  return formType === PUBLISH_OPTIONS ? out : undefined;
}
