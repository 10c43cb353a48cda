// vCard (XEP-0054 vcard-temp) and the vCard photo hash in presence (XEP-0153), as Prosody's
// mod_vcard and mod_vcard_legacy do:
//   - get / set of the own vCard (no 'to', or the own bare JID); a get of another account's
//     vCard is answered by the server on its behalf (XEP-0054 §3.2); no vCard is an empty
//     <vCard/> (§3.1), which Conversations, Gajim and slixmpp all take as "nothing set";
//   - a set is refused with not-acceptable when larger than vcard_max_size, storing nothing;
//   - every available presence of the account carries <x xmlns="vcard-temp:x:update"> with
//     the photo's SHA-1 (XEP-0153 §4.1), replacing whatever hash the client put there, and a
//     new photo re-broadcasts the account's presence so contacts fetch it (§4.2).
// The vCard lives in the account's documents (storage.documents), deleted with the account.
import { x } from "../../xml/element.js";
import { iqResult, type StanzaEvent } from "../../core/router.js";
import { stanzaErrors } from "../../core/errors.js";
import type { Server } from "../../core/server.js";
import { defineFeature } from "../../core/feature.js";
import { NS_VCARD, vcardService } from "./store.js";
import { onPresence, rebroadcast } from "./photo-hash.js";

export default defineFeature({
  name: "vcard",
  provides: ["vcard"],
  setup: (server) => {
    server.services.provide("vcard", vcardService(server));
    onVcardIq(server);
    onPresence(server);
  },
});

function onVcardIq(server: Server): void {
  const vcards = server.services.get("vcard");
  server.hostFeatures.add(NS_VCARD);

  const answer = async ({ stanza, origin, to }: StanzaEvent) => {
    const username = to.local!;
    const stored = await vcards.get(username);
    if (!stored && !(await server.storage.users.get(username))) {
      // No such account: as for any IQ to it (RFC 6121 §8.5.1).
      return (server.router.bounce(stanza, stanzaErrors.serviceUnavailable, origin), true);
    }
    origin?.send(iqResult(stanza, stored ?? x("vCard", { xmlns: NS_VCARD })));
    return true;
  };
  server.bus.on(`iq-get/self/${NS_VCARD}:vCard`, answer);
  server.bus.on(`iq-get/bare/${NS_VCARD}:vCard`, answer);

  server.bus.on(`iq-set/self/${NS_VCARD}:vCard`, async ({ stanza, origin, to }) => {
    const { result, photoChanged } = await vcards.set(to.local!, stanza.getChild("vCard", NS_VCARD)!);
    if (result === "too-large") return (server.router.bounce(stanza, stanzaErrors.vcardTooLarge, origin), true);
    if (result === "no-account") return (server.router.bounce(stanza, stanzaErrors.serviceUnavailable, origin), true);
    origin?.send(iqResult(stanza));
    if (photoChanged) await rebroadcast(server, to.local!);
    const vcard = (await vcards.get(to.local!))!;
    await server.bus.emit("vcard-stored", { username: to.local!, vcard, photoChanged }, (err) => server.log.error({ err }, "vcard-stored handler failed"));
    return true;
  });
  // Only the owner writes a vCard (XEP-0054 §3.3).
  server.bus.on(`iq-set/bare/${NS_VCARD}:vCard`, ({ stanza, origin }) => (server.router.bounce(stanza, stanzaErrors.forbidden, origin), true));
}
