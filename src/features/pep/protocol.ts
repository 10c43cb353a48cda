// PEP's IQ protocol on an account's bare JID (XEP-0163 §3, §7; XEP-0060): publish with
// publish-options (§7.1), retract (§7.2), create (§8.1, for clients that create explicitly),
// items retrieval (§6.5), and the owner's configure (§8.2) and delete (§8.4). Everything goes
// through the `pep` service; errors are XEP-0060's, thrown as StanzaErrors for the router.
import { x, type Element } from "../../xml/element.js";
import { iqResult, type StanzaEvent } from "../../core/router.js";
import { StanzaError, stanzaErrors } from "../../core/errors.js";
import type { Server } from "../../core/server.js";
import { FORM_NODE_CONFIG, FORM_PUBLISH_OPTIONS, configForm, defaultConfig, readForm } from "./node-config.js";
import { NS_PUBSUB, itemElement, type Pep } from "./service.js";

export const NS_OWNER = "http://jabber.org/protocol/pubsub#owner";
const MAX_REQUESTED_IDS = 100;

const fail = (def: (typeof stanzaErrors)[keyof typeof stanzaErrors], text?: string): never => {
  throw new StanzaError(def, text);
};
const isOwner = (ev: StanzaEvent) => ev.from.bareString === ev.to.bareString;
const truthy = (v: string | undefined) => v === "1" || v === "true";

/** The one action element of a <pubsub/> request (XEP-0060 §7.1.5: <publish/> may come with <publish-options/>). */
function action(ev: StanzaEvent): Element {
  const actions = ev.stanza
    .getChild("pubsub")!
    .elements()
    .filter((e) => e.name !== "publish-options" && e.name !== "configure");
  if (actions.length !== 1) fail(stanzaErrors.badRequest);
  return actions[0]!;
}

/**
 * The newest items (oldest first) whose sizes add up to at most `budget` bytes: 256 avatars of
 * 128 KiB would be a 32 MiB reply, past what a client is allowed to leave unread. Without
 * result set management (XEP-0059) the client gets the newest, which is what PEP clients read.
 */
function newestThatFit(items: Element[], budget: number): Element[] {
  let used = 0;
  let from = items.length;
  while (from > 0) {
    used += Buffer.byteLength(items[from - 1]!.toString());
    if (used > budget) break;
    from--;
  }
  return items.slice(from);
}

export function protocol(server: Server, pep: Pep): void {
  const { storage } = server;
  const maxItems = server.config.pep_max_items;
  const reply = (ev: StanzaEvent, payload?: Element) => ev.origin?.send(iqResult(ev.stanza, payload));

  // Reads: anyone, as the node's access model allows (XEP-0060 §6.5.9).
  server.bus.on(`iq-get/bare/${NS_PUBSUB}:pubsub`, async (ev) => {
    const req = action(ev);
    if (req.name !== "items") return fail(stanzaErrors.featureNotImplemented);
    const owner = ev.to.local!;
    const node = req.attrs.node ?? fail(stanzaErrors.pepNodeRequired);
    const config = await pep.config(owner, node);
    if (!config) return fail(stanzaErrors.itemNotFound);
    const denied = await pep.denied(owner, config, ev.from.bareString);
    if (denied) throw denied;
    const ids = req.getChildren("item").map((i) => i.attrs.id ?? fail(stanzaErrors.badRequest, "Item without id"));
    let items: Element[];
    if (ids.length > 0) {
      if (ids.length > MAX_REQUESTED_IDS) fail(stanzaErrors.policyViolation, "Too many items requested");
      items = (await storage.pep.itemsById(owner, node, ids)).reverse().map(itemElement);
    } else {
      const max = req.attrs.max_items;
      if (max !== undefined && !/^[0-9]{1,9}$/.test(max)) fail(stanzaErrors.badRequest, "Bad max_items");
      items = await pep.items(owner, node, max === undefined ? undefined : Number(max));
    }
    reply(ev, x("pubsub", { xmlns: NS_PUBSUB }, x("items", { node }, ...newestThatFit(items, server.config.c2s_stanza_size_limit))));
    return true;
  });

  // Writes: only the account itself (XEP-0163 §3: the owner publishes).
  server.bus.on(`iq-set/bare/${NS_PUBSUB}:pubsub`, async (ev) => {
    if (!isOwner(ev)) return fail(stanzaErrors.pepNotOwner);
    const owner = ev.to.local!;
    const pubsub = ev.stanza.getChild("pubsub")!;
    const req = action(ev);
    const node = req.attrs.node ?? fail(stanzaErrors.pepNodeRequired);
    if (req.name === "publish") {
      const items = req.getChildren("item");
      if (items.length !== 1) fail(stanzaErrors.pepItemRequired);
      const form = readForm(pubsub.getChild("publish-options") ?? undefined, FORM_PUBLISH_OPTIONS, maxItems);
      if (!form.ok) return fail(form.reason === "malformed" ? stanzaErrors.badRequest : stanzaErrors.pepPreconditionNotMet);
      const id = await pep.publish(owner, node, items[0]!, form.values, ev.from.toString());
      reply(ev, x("pubsub", { xmlns: NS_PUBSUB }, x("publish", { node }, x("item", { id }))));
    } else if (req.name === "retract") {
      const items = req.getChildren("item");
      if (items.length !== 1 || !items[0]!.attrs.id) fail(stanzaErrors.pepItemRequired);
      if (!(await pep.retract(owner, node, items[0]!.attrs.id!, truthy(req.attrs.notify)))) fail(stanzaErrors.itemNotFound);
      reply(ev);
    } else if (req.name === "create") {
      const form = readForm(pubsub.getChild("configure") ?? undefined, FORM_NODE_CONFIG, maxItems);
      if (!form.ok) return fail(form.reason === "malformed" ? stanzaErrors.badRequest : stanzaErrors.pepBadConfig);
      if (!node) fail(stanzaErrors.pepNodeRequired);
      const made = await storage.pep.createNode({ owner, node, config: { ...defaultConfig(), ...form.values } }, server.config.pep_max_nodes);
      if (made === "exists") fail(stanzaErrors.conflict);
      if (made === "limit") fail(stanzaErrors.pepTooManyNodes);
      reply(ev);
    } else fail(stanzaErrors.featureNotImplemented);
    return true;
  });

  // The owner's use cases (XEP-0060 §8): configure and delete.
  const owned = async (ev: StanzaEvent) => {
    if (!isOwner(ev)) return fail(stanzaErrors.forbidden);
    const req = ev.stanza.getChild("pubsub")!.elements();
    if (req.length !== 1) fail(stanzaErrors.badRequest);
    const node = req[0]!.attrs.node ?? fail(stanzaErrors.pepNodeRequired);
    const config = await pep.config(ev.to.local!, node);
    return { req: req[0]!, node, config: config ?? fail(stanzaErrors.itemNotFound) };
  };
  server.bus.on(`iq-get/bare/${NS_OWNER}:pubsub`, async (ev) => {
    const { req, node, config } = await owned(ev);
    if (req.name !== "configure") fail(stanzaErrors.featureNotImplemented);
    reply(ev, x("pubsub", { xmlns: NS_OWNER }, x("configure", { node }, configForm(config, maxItems))));
    return true;
  });
  server.bus.on(`iq-set/bare/${NS_OWNER}:pubsub`, async (ev) => {
    const { req, node } = await owned(ev);
    if (req.name === "delete") {
      await pep.deleteNode(ev.to.local!, node);
    } else if (req.name === "configure") {
      const submitted = req.getChild("x", "jabber:x:data");
      // A cancelled form changes nothing (XEP-0060 §8.2.5.1 via XEP-0004 §3.1).
      if (submitted?.attrs.type !== "cancel") {
        const form = readForm(req, FORM_NODE_CONFIG, maxItems);
        if (!submitted || !form.ok) return fail(!submitted || form.ok || form.reason === "malformed" ? stanzaErrors.badRequest : stanzaErrors.pepBadConfig);
        await pep.configure(ev.to.local!, node, form.values);
      }
    } else fail(stanzaErrors.featureNotImplemented);
    reply(ev);
    return true;
  });
}
