// The vCard photo hash in presence (XEP-0153 §4.1, as Prosody's mod_vcard_legacy): every
// available presence of an account with a vCard carries <x xmlns="vcard-temp:x:update"> with
// its photo's SHA-1, whatever the client put there; a new photo re-sends the presence (§4.2).
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
    for (const old of presence.getChildren("x", NS_UPDATE)) presence.remove(old);
    presence.cnode(x("x", { xmlns: NS_UPDATE }, x("photo", null, hash || undefined)));
  });
  server.bus.on("session-closed", ({ session }) => {
    if (session.username && server.registry.sessionsOf(session.username).length === 0) vcards.forget(session.username);
  });
}
