// The vCard of each account (XEP-0054 vcard-temp), as a service other features use (the
// XEP-0153 photo hash, the XEP-0398 avatar conversion): one stored document per account,
// with the SHA-1 of its photo kept in memory while the account is online, since every
// available presence the account sends carries it (XEP-0153 §4.1).
import { createHash } from "node:crypto";
import { x, type Element } from "../../xml/element.js";
import { parseStanza } from "../../xml/parse.js";
import type { Server } from "../../core/server.js";

export const NS_VCARD = "vcard-temp";
const KIND = "vcard";

/** What storing a vCard came to. */
export type VcardSetResult = "stored" | "too-large" | "no-account";

export interface VcardService {
  /** The stored vCard, or undefined when the account has none. */
  get(username: string): Promise<Element | undefined>;
  /** Stores a vCard (size-checked); `photoChanged` when its photo hash differs from before. */
  set(username: string, vcard: Element): Promise<{ result: VcardSetResult; photoChanged: boolean }>;
  /** The photo's SHA-1 (hex), "" for a vCard without a photo, undefined when there is no vCard. */
  photoHash(username: string): Promise<string | undefined>;
  /** Forgets what is cached of an account (its last session ended). */
  forget(username: string): void;
}

declare module "../../core/services.js" {
  interface Services {
    vcard: VcardService;
  }
}

/**
 * XEP-0153 §4.1: the hash is of the image data itself, not of its base64 text. A photo by
 * URL only (EXTVAL) has no data here: like no photo.
 */
export function photoHashOf(vcard: Element): string {
  const binval = vcard.getChild("PHOTO")?.getChildText("BINVAL")?.replace(/\s+/g, "");
  if (!binval) return "";
  return createHash("sha1").update(Buffer.from(binval, "base64")).digest("hex");
}

export function vcardService(server: Server): VcardService {
  const hashes = new Map<string, string | undefined>();
  const get = async (username: string): Promise<Element | undefined> => {
    const xml = await server.storage.documents.get(username, KIND, "");
    return xml === undefined ? undefined : parseStanza(xml);
  };
  const photoHash = async (username: string): Promise<string | undefined> => {
    if (hashes.has(username)) return hashes.get(username);
    const vcard = await get(username);
    const hash = vcard && photoHashOf(vcard);
    // Cached only for accounts online: an offline account's hash is read when it is next asked for.
    if (server.registry.sessionsOf(username).length > 0) hashes.set(username, hash);
    return hash;
  };
  return {
    get,
    photoHash,
    forget: (username) => hashes.delete(username),
    async set(username, vcard) {
      // Detached from the IQ, so its namespace must be spelt out on the root.
      const doc = x("vCard", { ...vcard.attrs, xmlns: NS_VCARD }, ...vcard.children.map((c) => (typeof c === "string" ? c : c.clone())));
      const xml = doc.toString();
      if (Buffer.byteLength(xml) > server.config.vcard_max_size) return { result: "too-large", photoChanged: false };
      const before = await photoHash(username);
      if (!(await server.storage.documents.put(username, KIND, "", xml, 1))) return { result: "no-account", photoChanged: false };
      const after = photoHashOf(doc);
      if (server.registry.sessionsOf(username).length > 0) hashes.set(username, after);
      else hashes.delete(username);
      return { result: "stored", photoChanged: before !== after };
    },
  };
}
