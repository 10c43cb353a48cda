// The `pep` service: publish, retrieve, retract, configure and delete on an account's own
// nodes (XEP-0163 §3, §7 on XEP-0060 §6.5, §7.1, §7.2, §8.2, §8.4). The IQ handlers
// (protocol.ts) and other features (avatar and bookmark conversions) go through it, so there is
// one path; it checks limits before any work and fires "pep-published", "pep-retracted",
// "pep-node-deleted", which notify.ts turns into notifications.
import { x, type Element } from "../../xml/element.js";
import { StanzaError, stanzaErrors } from "../../core/errors.js";
import { randomId } from "../../core/random.js";
import type { Server } from "../../core/server.js";
import type { PepItemRecord } from "../../storage/types.js";
import { parseStanza } from "../../xml/parse.js";
import { accessModel, checkOptions, defaultConfig, itemsKept, unmet, type NodeConfig } from "./node-config.js";

export const NS_PUBSUB = "http://jabber.org/protocol/pubsub";

export interface Pep {
  /**
   * Publishes `item` (an <item id?>payload</item>, or the payload alone) to the owner's node,
   * creating it with `options` (publish-options, XEP-0060 §7.1.5) when absent; an existing
   * node must match them. Returns the item id (assigned when absent). Throws a StanzaError.
   */
  publish(owner: string, node: string, item: Element, options?: Record<string, string>, publisherFullJid?: string): Promise<string>;
  /** The newest `max` items (all kept when absent), oldest first, as <item id>payload</item>. */
  items(owner: string, node: string, max?: number): Promise<Element[]>;
  /** Removes an item; false when it was not there. Notifies unless `notify` is false. */
  retract(owner: string, node: string, id: string, notify?: boolean): Promise<boolean>;
  /** Deletes a node and its items, notifying; false when there was none. */
  deleteNode(owner: string, node: string): Promise<boolean>;
  /** The node's configuration (defaults filled in), or undefined. */
  config(owner: string, node: string): Promise<NodeConfig | undefined>;
  /** Changes the node's configuration; false when there is no such node. */
  configure(owner: string, node: string, values: NodeConfig): Promise<boolean>;
  /** Why `requester` (a bare JID) may not read the owner's node of this configuration, or undefined when it may. */
  denied(owner: string, config: NodeConfig, requester: string): Promise<StanzaError | undefined>;
}

declare module "../../core/services.js" {
  interface Services {
    pep: Pep;
  }
}

const MAX_ID = 256;
const MAX_NODE = 512;

export function itemElement(r: PepItemRecord): Element {
  return x("item", { id: r.id }, parseStanza(r.payload));
}

/** The payload of an <item/> (or the element itself when it is the payload), with its namespace spelled out. */
function payloadOf(item: Element): Element {
  const inner = item.is("item") ? item.elements() : [item];
  if (inner.length !== 1) throw new StanzaError(stanzaErrors.pepInvalidPayload);
  const payload = inner[0]!.clone();
  payload.attrs.xmlns = inner[0]!.getNS() ?? NS_PUBSUB;
  return payload;
}

export function pepService(server: Server): Pep {
  const { storage, bus, config: cfg } = server;
  const domain = cfg.domain;

  const checkNode = (node: string) => {
    if (!node || node.length > MAX_NODE) throw new StanzaError(stanzaErrors.pepNodeRequired);
  };

  /** The node, created with `options` when absent; its configuration (defaults filled in). */
  const nodeFor = async (owner: string, node: string, options: NodeConfig): Promise<NodeConfig> => {
    for (;;) {
      const existing = await storage.pep.getNode(owner, node);
      if (existing) {
        const config = { ...defaultConfig(), ...existing.config };
        if (unmet(config, options).length > 0) throw new StanzaError(stanzaErrors.pepPreconditionNotMet);
        return config;
      }
      const config = { ...defaultConfig(), ...options };
      const made = await storage.pep.createNode({ owner, node, config }, cfg.pep_max_nodes);
      if (made === "created") return config;
      if (made === "limit") throw new StanzaError(stanzaErrors.pepTooManyNodes);
      // "exists": created meanwhile by another session; check it against the options.
    }
  };

  const pep: Pep = {
    async publish(owner, node, item, options = {}, publisherFullJid) {
      checkNode(node);
      const payload = payloadOf(item);
      const xml = payload.toString();
      if (Buffer.byteLength(xml) > cfg.pep_max_item_size) throw new StanzaError(stanzaErrors.pepPayloadTooBig);
      const id = (item.is("item") ? item.attrs.id : undefined) || randomId(12);
      if (id.length > MAX_ID) throw new StanzaError(stanzaErrors.badRequest, "Item id too long");
      // The same checks as the form a client submits: a feature cannot create what a client could not.
      const checked = checkOptions(options, cfg.pep_max_items);
      if (!checked.ok) throw new StanzaError(stanzaErrors.pepPreconditionNotMet);
      const config = await nodeFor(owner, node, checked.values);
      const record: PepItemRecord = { id, payload: xml, publishedAt: Date.now() };
      if (publisherFullJid) record.publisher = publisherFullJid;
      await storage.pep.putItem(owner, node, record, itemsKept(config, cfg.pep_max_items));
      await bus.emit("pep-published", { owner, node, config, id, item: x("item", { id }, payload), publisher: publisherFullJid });
      return id;
    },

    async items(owner, node, max) {
      const n = Math.min(max ?? cfg.pep_max_items, cfg.pep_max_items);
      return (await storage.pep.items(owner, node, n)).reverse().map(itemElement);
    },

    async retract(owner, node, id, notify = true) {
      const existing = await storage.pep.getNode(owner, node);
      if (!existing || !(await storage.pep.retract(owner, node, id))) return false;
      await bus.emit("pep-retracted", { owner, node, id, notify, config: { ...defaultConfig(), ...existing.config } });
      return true;
    },

    async deleteNode(owner, node) {
      const existing = await storage.pep.getNode(owner, node);
      if (!existing || !(await storage.pep.deleteNode(owner, node))) return false;
      await bus.emit("pep-node-deleted", { owner, node, config: { ...defaultConfig(), ...existing.config } });
      return true;
    },

    async config(owner, node) {
      const existing = await storage.pep.getNode(owner, node);
      return existing && { ...defaultConfig(), ...existing.config };
    },

    async configure(owner, node, values) {
      const existing = await storage.pep.getNode(owner, node);
      if (!existing) return false;
      const config = { ...defaultConfig(), ...existing.config, ...values };
      // Fewer items kept now: trimmed at once rather than at the next publication.
      return storage.pep.setConfig(owner, node, config, itemsKept(config, cfg.pep_max_items));
    },

    async denied(owner, config, requester) {
      if (requester === `${owner}@${domain}`) return undefined;
      switch (accessModel(config)) {
        case "open":
          return undefined;
        case "whitelist":
          return new StanzaError(stanzaErrors.pepClosedNode);
        case "presence": {
          const sub = (await storage.roster.getItem(owner, requester))?.subscription;
          return sub === "from" || sub === "both" ? undefined : new StanzaError(stanzaErrors.pepPresenceRequired);
        }
      }
    },
  };
  return pep;
}
