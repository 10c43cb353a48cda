// What goes into a user's archive (XEP-0313 §5.1.1 "User Archives", XEP-0334 hints, §6 prefs):
// one-to-one messages of type chat or normal that carry a <body>, or that a <store/> hint asks
// to keep; never errors, groupchat or headlines, nor what <no-store/> or <no-permanent-store/>
// asks to leave out. Then the user's preferences decide per contact.
import type { Element } from "../../xml/element.js";
import type { Server } from "../../core/server.js";
import type { ArchivePrefs } from "../../storage/types.js";

const NS_HINTS = "urn:xmpp:hints";

export function archivable(stanza: Element): boolean {
  const type = stanza.attrs.type ?? "normal";
  if (type !== "chat" && type !== "normal") return false;
  if (stanza.getChild("no-store", NS_HINTS) || stanza.getChild("no-permanent-store", NS_HINTS)) return false;
  return stanza.getChild("body") !== undefined || stanza.getChild("store", NS_HINTS) !== undefined;
}

/** The preferences of a user who set none: the server's default_archive_policy. */
export function defaultPrefs(server: Server): ArchivePrefs {
  const p = server.config.default_archive_policy;
  return { default: p === "roster" ? "roster" : p ? "always" : "never", always: [], never: [] };
}

export async function prefsOf(server: Server, username: string): Promise<ArchivePrefs> {
  return (await server.storage.archive.getPrefs(username)) ?? defaultPrefs(server);
}

/** Whether the user's preferences keep messages exchanged with `contact` (a bare JID). */
export async function wanted(server: Server, username: string, contact: string): Promise<boolean> {
  const prefs = await prefsOf(server, username);
  // An explicit list wins over the default; "never" over "always" for a JID on both (§6.1).
  if (prefs.never.includes(contact)) return false;
  if (prefs.always.includes(contact)) return true;
  if (prefs.default === "always") return true;
  if (prefs.default === "never") return false;
  const item = await server.storage.roster.getItem(username, contact);
  return item !== undefined && !item.pendingIn;
}
