// Push notifications (XEP-0357 0.4.1): a client registers its app server (enable §5, disable §6);
// while the client is away its app server is told that messages came (§7), and the app server
// wakes the phone. Registrations are per client (clients/access.ts clientIdOf), survive restarts,
// show in the client list ("gets push notifications") and end with the client's access:
//   protocol.ts  <enable/> and <disable/> checked
//   triggers.ts  when a client is pushed
//   notifier.ts  the notification, its throttle, the app server's answer
// Revoking a client, deleting the account, and resetting the password ("change and sign out
// everywhere") remove registrations at once: a device that lost its access must not be woken,
// and notifications carry who wrote. A plain password change keeps them: every session ends
// anyway, and a woken phone that fails to log in asks its owner for the new password.
import { iqResult } from "../../core/router.js";
import { parseJid } from "../../core/jid.js";
import { stanzaErrors } from "../../core/errors.js";
import type { Server } from "../../core/server.js";
import { defineFeature } from "../../core/feature.js";
import { clientIdOf } from "../../clients/access.js";
import { parseDisable, parseEnable } from "./protocol.js";
import { Notifier } from "./notifier.js";
import { watch } from "./triggers.js";

const NS_PUSH = "urn:xmpp:push:0";
const HOLDING = { kind: "push", text: "gets push notifications" };

export default defineFeature({ name: "push", setup: push });

function push(server: Server): () => void {
  server.accountFeatures.add(NS_PUSH);
  const notifier = new Notifier(server);
  watch(server, notifier);

  server.bus.on(`iq-set/self/${NS_PUSH}:enable`, async ({ stanza, origin }) => {
    const clientId = origin && clientIdOf(origin);
    if (!origin?.username || !clientId) return (server.router.bounce(stanza, stanzaErrors.pushNoClient, origin), true);
    const parsed = parseEnable(stanza.getChild("enable", NS_PUSH)!);
    if ("error" in parsed) return (server.router.bounce(stanza, parsed.error, origin), true);
    const reg = { username: origin.username, clientId, ...parsed.ok, createdAt: Date.now() };
    if (!(await server.storage.push.put(reg, server.config.push_max_devices))) return (server.router.bounce(stanza, stanzaErrors.pushTooMany, origin), true);
    notifier.reset(origin.username, clientId);
    // Until server-to-server exists, a service on another domain (the usual case) gets nothing: say so.
    if (parseJid(reg.jid)?.domain !== server.config.domain)
      origin.log.warn({ service: reg.jid }, "push notifications enabled for a service on another domain, unreachable without server-to-server");
    else origin.log.info({ service: reg.jid }, "push notifications enabled");
    origin.send(iqResult(stanza));
    return true;
  });

  server.bus.on(`iq-set/self/${NS_PUSH}:disable`, async ({ stanza, origin }) => {
    if (!origin?.username) return undefined;
    const parsed = parseDisable(stanza.getChild("disable", NS_PUSH)!);
    if ("error" in parsed) return (server.router.bounce(stanza, parsed.error, origin), true);
    const gone = await server.storage.push.disable(origin.username, parsed.ok.jid, parsed.ok.node);
    for (const clientId of gone) notifier.forget(origin.username, clientId);
    origin.log.info({ service: parsed.ok.jid, registrations: gone.length }, "push notifications disabled");
    origin.send(iqResult(stanza));
    return true;
  });

  // The app server's answer to a notification comes to the account's bare JID, where nothing
  // else waits for IQ results. (Over server-to-server, once it exists, it must arrive here too.)
  server.bus.on(
    "iq/client",
    ({ stanza, from, to }) => {
      const type = stanza.attrs.type;
      if ((type !== "result" && type !== "error") || !to.local || to.resource) return undefined;
      return notifier.reply(stanza, from, to) || undefined;
    },
    "early",
  );

  server.bus.on("client-holdings", async ({ username, hold }) => {
    for (const reg of await server.storage.push.list(username)) hold(reg.clientId, HOLDING);
  });

  const removeAll = async (username: string, why: string) => {
    const n = await server.storage.push.removeAll(username);
    notifier.forget(username);
    if (n > 0) server.log.info({ account: username, registrations: n }, `push registrations removed: ${why}`);
  };
  server.bus.on("client-revoked", async ({ username, clientId }) => {
    if (!clientId) return;
    if (await server.storage.push.remove(username, clientId))
      server.log.info({ account: username, client: clientId }, "push registration removed: client revoked");
    notifier.forget(username, clientId);
  });
  server.bus.on("user-deleted", ({ username }) => removeAll(username, "account deleted"));
  server.bus.on("password-changed", async ({ username, reset }) => {
    if (reset) await removeAll(username, "password reset");
  });

  return () => notifier.stop();
}
