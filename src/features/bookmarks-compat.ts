// Bookmarks kept the same in all three places clients keep them: <storage xmlns="storage:bookmarks"/>
// in private XML (XEP-0048 over XEP-0049: old clients), the same <storage/> as item "current" of
// the PEP node storage:bookmarks (XEP-0048 over PEP: XEP-0411's conversion), and the PEP node
// urn:xmpp:bookmarks:1, one item per room with the room's JID as id (XEP-0402, its §5.3
// compatibility). A legacy write (private XML or the legacy node) is published as bookmarks:1
// items (changed ones only) and retracts the rooms it no longer holds; a bookmarks:1 change
// rebuilds the legacy copies from every item, keeping the <url/> bookmarks that bookmarks:1 has
// no place for. While one side is being copied into the others, their events are ignored for
// the account, so the copies never echo each other. Every node is whitelist: only the owner.
import { x, type Element } from "../xml/element.js";
import { parseJid } from "../core/jid.js";
import { StanzaError } from "../core/errors.js";
import type { Server } from "../core/server.js";
import { defineFeature } from "../core/feature.js";
import { readPrivate, writePrivate } from "./private.js";

const NS_LEGACY = "storage:bookmarks";
const NS_BOOKMARKS = "urn:xmpp:bookmarks:1";
/** XEP-0402 §3: the node's publish options. */
const OPTIONS = {
  "pubsub#persist_items": "true",
  "pubsub#max_items": "max",
  "pubsub#send_last_published_item": "never",
  "pubsub#access_model": "whitelist",
};
/** The legacy node holds one item, "current" (XEP-0048 §3.3, XEP-0411 §5). */
const LEGACY_OPTIONS = { ...OPTIONS, "pubsub#max_items": "1" };
const NS_CONVERSION = "urn:xmpp:bookmarks-conversion:0";
const TRUE = new Set(["true", "1"]);

/** A legacy <conference jid=…/> as a bookmarks:1 item, or undefined when its JID is not one. */
function toItem(legacy: Element): Element | undefined {
  const jid = parseJid(legacy.attrs.jid ?? "");
  if (!jid?.local || jid.resource) return undefined;
  const conf = x("conference", { xmlns: NS_BOOKMARKS, name: legacy.attrs.name, autojoin: TRUE.has(legacy.attrs.autojoin ?? "") ? "true" : undefined });
  for (const name of ["nick", "password"]) {
    const text = legacy.getChildText(name);
    if (text !== undefined) conf.c(name).t(text);
  }
  return x("item", { id: jid.toString() }, conf);
}

/** A bookmarks:1 item as a legacy <conference/>. */
function toLegacy(item: Element): Element | undefined {
  const conf = item.getChild("conference", NS_BOOKMARKS);
  if (!conf || !item.attrs.id) return undefined;
  const out = x("conference", { jid: item.attrs.id, name: conf.attrs.name, autojoin: TRUE.has(conf.attrs.autojoin ?? "") ? "true" : "false" });
  for (const name of ["nick", "password"]) {
    const text = conf.getChildText(name);
    if (text !== undefined) out.c(name).t(text);
  }
  return out;
}

export default defineFeature({ name: "bookmarks-compat", needs: ["pep"], after: ["private"], setup: bookmarksCompat });

function bookmarksCompat(server: Server): void {
  const pep = server.services.get("pep");
  server.accountFeatures.add(`${NS_BOOKMARKS}#compat`).add(`${NS_BOOKMARKS}#compat-pep`).add(NS_CONVERSION);
  const copying = new Set<string>();
  const exclusive = async (username: string, fn: () => Promise<void>) => {
    copying.add(username);
    try {
      await fn();
    } catch (err) {
      if (!(err instanceof StanzaError)) throw err;
      server.log.info({ username, condition: err.def.condition }, "bookmarks not copied between private XML and PEP");
    } finally {
      copying.delete(username);
    }
  };

  /**
   * Publishes a copy: a new node gets `options`; an existing one keeps the configuration its
   * client chose (publish-options that differ would fail the precondition), but only if it
   * is whitelist, since a copy must never be readable by others (XEP-0411 §6).
   */
  const publishCopy = async (username: string, node: string, item: Element, options: Record<string, string>) => {
    const config = await pep.config(username, node);
    if (!config) return void (await pep.publish(username, node, item, options));
    if (config["pubsub#access_model"] !== "whitelist") return server.log.info({ username, node }, "bookmarks not copied to a PEP node others may read");
    await pep.publish(username, node, item);
  };

  /** bookmarks:1 made to hold exactly the rooms of a legacy <storage/>. */
  const toItems = async (username: string, storage: Element) => {
    const have = new Map((await pep.items(username, NS_BOOKMARKS)).map((i) => [i.attrs.id!, i.toString()]));
    const want = new Map<string, Element>();
    for (const c of storage.getChildren("conference")) {
      const item = toItem(c);
      if (item) want.set(item.attrs.id!, item);
    }
    for (const [id, item] of want) if (have.get(id) !== item.toString()) await publishCopy(username, NS_BOOKMARKS, item, OPTIONS);
    for (const id of have.keys()) if (!want.has(id)) await pep.retract(username, NS_BOOKMARKS, id);
  };
  const toLegacyNode = (username: string, storage: Element) => publishCopy(username, NS_LEGACY, x("item", { id: "current" }, storage.clone()), LEGACY_OPTIONS);

  server.bus.on("private-stored", ({ username, element }) => {
    if (element.name !== "storage" || element.attrs.xmlns !== NS_LEGACY || copying.has(username)) return;
    return exclusive(username, async () => {
      await toItems(username, element);
      await toLegacyNode(username, element);
    });
  });

  const fromLegacyNode = (username: string, item: Element) => {
    const storage = item.getChild("storage", NS_LEGACY);
    if (!storage || copying.has(username)) return;
    return exclusive(username, async () => {
      if (!(await writePrivate(server, username, storage))) server.log.info({ username }, "bookmarks from PEP too large for private XML");
      await toItems(username, storage);
    });
  };

  const rebuild = (username: string) => {
    if (copying.has(username)) return;
    return exclusive(username, async () => {
      const old = await readPrivate(server, username, NS_LEGACY);
      const storage = x("storage", { xmlns: NS_LEGACY });
      for (const item of await pep.items(username, NS_BOOKMARKS)) {
        const conf = toLegacy(item);
        if (conf) storage.cnode(conf);
      }
      for (const url of old?.getChildren("url") ?? []) storage.cnode(url.clone());
      if (!(await writePrivate(server, username, storage))) server.log.info({ username }, "bookmarks from PEP too large for private XML");
      await toLegacyNode(username, storage);
    });
  };
  server.bus.on("pep-published", ({ owner, node, item }) =>
    node === NS_BOOKMARKS ? rebuild(owner) : node === NS_LEGACY ? fromLegacyNode(owner, item) : undefined,
  );
  server.bus.on("pep-retracted", ({ owner, node }) => (node === NS_BOOKMARKS ? rebuild(owner) : undefined));
  server.bus.on("pep-node-deleted", ({ owner, node }) => (node === NS_BOOKMARKS ? rebuild(owner) : undefined));
}
