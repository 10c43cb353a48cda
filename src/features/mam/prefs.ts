// Archiving preferences (XEP-0313 §6): a default (always, never, roster) and the bare JIDs
// always or never archived, stored per user and read whenever a message is archived.
import { x, type Element } from "../../xml/element.js";
import { iqResult } from "../../core/router.js";
import type { Server } from "../../core/server.js";
import { parseJid } from "../../core/jid.js";
import { StanzaError, stanzaErrors } from "../../core/errors.js";
import type { ArchivePrefs } from "../../storage/types.js";
import { NS_MAM } from "./form.js";
import { prefsOf } from "./policy.js";

/** Most JIDs in each list: prefs are read on every archived message. */
const MAX_JIDS = 1000;
const DEFAULTS = new Set<string>(["always", "never", "roster"]);

function isDefault(v: string | undefined): v is ArchivePrefs["default"] {
  return v !== undefined && DEFAULTS.has(v);
}

function jids(list: Element | undefined): string[] {
  if (!list) return [];
  const out = new Set<string>();
  for (const el of list.getChildren("jid")) {
    const jid = parseJid(el.getText());
    if (!jid) throw new StanzaError(stanzaErrors.jidMalformed, "A JID in the preferences is not valid");
    out.add(jid.bareString);
  }
  if (out.size > MAX_JIDS) throw new StanzaError(stanzaErrors.notAcceptable, `At most ${MAX_JIDS} JIDs per list`);
  return [...out];
}

function toElement(p: ArchivePrefs): Element {
  const list = (name: string, js: string[]) => x(name, null, ...js.map((j) => x("jid", null, j)));
  return x("prefs", { xmlns: NS_MAM, default: p.default }, list("always", p.always), list("never", p.never));
}

export function prefs(server: Server): void {
  server.bus.on(`iq-get/self/${NS_MAM}:prefs`, async ({ stanza, origin }) => {
    if (!origin?.username) return undefined;
    origin.send(iqResult(stanza, toElement(await prefsOf(server, origin.username))));
    return true;
  });

  server.bus.on(`iq-set/self/${NS_MAM}:prefs`, async ({ stanza, origin }) => {
    if (!origin?.username) return undefined;
    const el = stanza.getChild("prefs", NS_MAM)!;
    const def = el.attrs.default;
    if (!isDefault(def)) throw new StanzaError(stanzaErrors.mamBadQuery, "'default' must be always, never or roster");
    const always = jids(el.getChild("always"));
    const never = jids(el.getChild("never"));
    const p: ArchivePrefs = { default: def, always, never };
    await server.storage.archive.setPrefs(origin.username, p);
    origin.send(iqResult(stanza, toElement(p)));
    return true;
  });
}
