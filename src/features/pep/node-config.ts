// A PEP node's configuration (XEP-0060 §8.2, the pubsub#node_config form of §16.4.4) and
// publish options (§7.1.5): the fields this server honours, their defaults for PEP (XEP-0163
// §3: presence access, notifications to contacts, last item on presence), and the checks.
// A field this server does not implement is an error rather than silently ignored, so a client
// asking for, say, a whitelist never gets a node that is open.
import { x, type Element } from "../../xml/element.js";

export const NS_DATA = "jabber:x:data";
export const FORM_NODE_CONFIG = "http://jabber.org/protocol/pubsub#node_config";
export const FORM_PUBLISH_OPTIONS = "http://jabber.org/protocol/pubsub#publish-options";

export type NodeConfig = Record<string, string>;

export const ACCESS_MODELS = ["open", "presence", "whitelist"] as const;
export type AccessModel = (typeof ACCESS_MODELS)[number];
const SEND_LAST = ["never", "on_sub", "on_sub_and_presence"];
const BOOL_TRUE = new Set(["1", "true"]);
const BOOL = new Set(["0", "1", "true", "false"]);

/** Field → check of a value (returns the value as stored, or undefined when invalid). */
function fields(maxItems: number): Record<string, (v: string) => string | undefined> {
  const bool = (v: string) => (BOOL.has(v) ? (BOOL_TRUE.has(v) ? "true" : "false") : undefined);
  return {
    "pubsub#persist_items": bool,
    "pubsub#max_items": (v) => {
      // Kept as "max", not as today's number: raising pep_max_items later must not make a
      // client's "max" precondition (XEP-0402 bookmarks) fail against its own node.
      if (v === "max") return v;
      if (!/^[0-9]{1,9}$/.test(v)) return undefined;
      const n = Number(v);
      return n >= 1 && n <= maxItems ? String(n) : undefined;
    },
    "pubsub#access_model": (v) => ((ACCESS_MODELS as readonly string[]).includes(v) ? v : undefined),
    "pubsub#send_last_published_item": (v) => (SEND_LAST.includes(v) ? v : undefined),
    "pubsub#notify_retract": bool,
    "pubsub#notify_delete": bool,
    "pubsub#deliver_notifications": bool,
    "pubsub#deliver_payloads": bool,
    "pubsub#title": (v) => (v.length <= 256 ? v : undefined),
  };
}

export function defaultConfig(): NodeConfig {
  return {
    "pubsub#persist_items": "true",
    "pubsub#max_items": "1",
    "pubsub#access_model": "presence",
    "pubsub#send_last_published_item": "on_sub_and_presence",
    "pubsub#notify_retract": "true",
    "pubsub#notify_delete": "true",
    "pubsub#deliver_notifications": "true",
    "pubsub#deliver_payloads": "true",
    "pubsub#title": "",
  };
}

export const accessModel = (c: NodeConfig): AccessModel => (c["pubsub#access_model"] as AccessModel | undefined) ?? "presence";
export const isTrue = (c: NodeConfig, field: string): boolean => c[field] === "true";
/**
 * Items kept, never more than the server's maximum (which may have been lowered since): a node
 * that does not persist keeps its last one, for last-item delivery (XEP-0163 §4.3.2).
 */
export function itemsKept(c: NodeConfig, serverMax: number): number {
  if (!isTrue(c, "pubsub#persist_items")) return 1;
  const v = c["pubsub#max_items"] ?? "1";
  return v === "max" ? serverMax : Math.min(Number(v), serverMax);
}

export type FormResult = { ok: true; values: NodeConfig } | { ok: false; reason: "malformed" | "invalid" };

/**
 * The values of a submitted form of `formType` (publish-options or node_config), checked and
 * normalised. Absent form → no values. FORM_TYPE of another kind, or several values for a
 * single-valued field, is malformed; an unknown field or an unacceptable value is invalid.
 */
export function readForm(parent: Element | undefined, formType: string, maxItems: number): FormResult {
  const form = parent?.getChild("x", NS_DATA);
  if (!parent || !form) return { ok: true, values: {} };
  if (form.attrs.type !== "submit") return { ok: false, reason: "malformed" };
  const checks = fields(maxItems);
  const values: NodeConfig = {};
  for (const field of form.getChildren("field")) {
    const name = field.attrs.var;
    const vals = field.getChildren("value").map((v) => v.getText());
    if (!name || vals.length > 1) return { ok: false, reason: "malformed" };
    if (name === "FORM_TYPE") {
      if (vals[0] !== formType) return { ok: false, reason: "malformed" };
      continue;
    }
    const value = checks[name]?.(vals[0] ?? "");
    if (value === undefined) return { ok: false, reason: "invalid" };
    values[name] = value;
  }
  return { ok: true, values };
}

/** Options a feature gives as values, checked and normalised as the same fields of a submitted form would be. */
export function checkOptions(options: Record<string, string>, maxItems: number): FormResult {
  const checks = fields(maxItems);
  const values: NodeConfig = {};
  for (const [name, v] of Object.entries(options)) {
    const value = checks[name]?.(v);
    if (value === undefined) return { ok: false, reason: "invalid" };
    values[name] = value;
  }
  return { ok: true, values };
}

/** The options whose values differ from the node's (XEP-0060 §7.1.5: a precondition not met). */
export function unmet(config: NodeConfig, options: NodeConfig): string[] {
  return Object.keys(options).filter((k) => (config[k] ?? defaultConfig()[k]) !== options[k]);
}

/** The node_config form (XEP-0060 §8.2.1) with the node's values, for the owner to edit. */
export function configForm(config: NodeConfig, maxItems: number): Element {
  const form = x("x", { xmlns: NS_DATA, type: "form" });
  form.cnode(x("field", { var: "FORM_TYPE", type: "hidden" }, x("value", {}, FORM_NODE_CONFIG)));
  const merged = { ...defaultConfig(), ...config };
  const list = (name: string, options: readonly string[]) => {
    const f = form.c("field", { var: name, type: "list-single" });
    for (const o of options) f.cnode(x("option", {}, x("value", {}, o)));
    f.cnode(x("value", {}, merged[name]));
  };
  const bool = (name: string) => form.cnode(x("field", { var: name, type: "boolean" }, x("value", {}, merged[name] === "true" ? "1" : "0")));
  bool("pubsub#persist_items");
  form.cnode(
    x(
      "field",
      { var: "pubsub#max_items", type: "text-single", label: `Most items kept (1 to ${maxItems}, or max: ${maxItems})` },
      x("value", {}, merged["pubsub#max_items"]),
    ),
  );
  list("pubsub#access_model", ACCESS_MODELS);
  list("pubsub#send_last_published_item", SEND_LAST);
  bool("pubsub#notify_retract");
  bool("pubsub#notify_delete");
  bool("pubsub#deliver_notifications");
  bool("pubsub#deliver_payloads");
  form.cnode(x("field", { var: "pubsub#title", type: "text-single" }, x("value", {}, merged["pubsub#title"])));
  return form;
}
