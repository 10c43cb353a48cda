// The vCard photo hash in presence (XEP-0153 §4.1, as Prosody's mod_vcard_legacy): every
// available presence of an account with a vCard carries <x xmlns="vcard-temp:x:update"> with
// its photo's SHA-1 in place of what the client put there (but an empty <photo/>, XEP-0398 §4),
// directed presence too (a MUC join); a new photo re-sends the presence (XEP-0153 §4.2).
import { x } from "../../xml/element.js";
import type { Server } from "../../core/server.js";

const NS_UPDATE = "vcard-temp:x:update";

/**
 * Sends each available session's presence again, as if its client had: the presence feature
 * broadcasts it, and "presence-outgoing" below puts the new hash in (XEP-0153 §4.2).
 */
export async function rebroadcast(server: Server, username: string): Promise<void> {
  for (const s of server.registry.sessionsOf(username)) {
    if (s.presence === undefined || s.closed) continue;
    const again = s.presence.clone();
    delete again.attrs.from;
    // What the server put there before (an empty <photo/> too) gives way to the new hash.
    for (const old of again.getChildren("x", NS_UPDATE)) again.remove(old);
    await server.router.fromClient(s, again);
  }
}

export function onPresence(server: Server): void {
  const vcards = server.services.get("vcard");
  server.bus.on("presence-outgoing", async ({ session, presence }) => {
    if (!session.username) return;
    const hash = await vcards.photoHash(session.username);
    // No vCard stored: the server knows nothing better than the client.
    if (hash === undefined) return;
    // An empty <photo/> the client sent is left as it is (XEP-0398 §4: the client says it has
    // no avatar to advertise there); an <x/> without photo, or another hash, is replaced.
    const mine = presence.getChildren("x", NS_UPDATE);
    if (mine.some((el) => el.getChild("photo") !== undefined && el.getChildText("photo") === "")) return;
    for (const old of mine) presence.remove(old);
    presence.cnode(x("x", { xmlns: NS_UPDATE }, x("photo", null, hash || undefined)));
  });
  server.bus.on("session-closed", ({ session }) => {
    if (session.username && server.registry.sessionsOf(session.username).length === 0) vcards.forget(session.username);
  });
}
