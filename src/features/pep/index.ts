// Personal Eventing Protocol (XEP-0163): a publish-subscribe service (XEP-0060) on each
// account's bare JID, as avatars (XEP-0084), bookmarks (XEP-0402), OMEMO (XEP-0384), nicknames
// and the like use it.
//   service.ts      the `pep` service: publish, items, retract, configure, delete, access
//   protocol.ts     the IQ requests, through the service
//   notify.ts       notifications and last-item delivery to interested sessions
//   caps.ts         entity capabilities (XEP-0115): who wants which notifications
//   node-config.ts  node configuration and publish-options
// When a session sends available presence with caps, its "+notify" interest is learned (and the
// last items of what it newly cares about sent); when it goes unavailable, it is forgotten.
import { x } from "../../xml/element.js";
import { defineFeature } from "../../core/feature.js";
import type { Server } from "../../core/server.js";
import { NS_PUBSUB, pepService } from "./service.js";
import { protocol } from "./protocol.js";
import { lastItemsOf, notifications, sendLastItems } from "./notify.js";
import { NS_CAPS, capsResolver } from "./caps.js";

export default defineFeature({ name: "pep", provides: ["pep"], setup: pep });

const FEATURES = [
  "publish",
  "publish-options",
  "auto-create",
  "create-nodes",
  "persistent-items",
  "retrieve-items",
  "retract-items",
  "delete-nodes",
  "config-node",
  "config-node-max",
  "access-open",
  "access-presence",
  "access-whitelist",
  "last-published",
  "presence-notifications",
  // Contacts are subscribed by their presence subscription, filtered by their "+notify" (XEP-0163 §4).
  "auto-subscribe",
  "filtered-notifications",
  "item-ids",
  "multi-items",
];

function pep(server: Server): void {
  const service = pepService(server);
  server.services.provide("pep", service);
  server.accountFeatures.add(NS_PUBSUB);
  for (const f of FEATURES) server.accountFeatures.add(`${NS_PUBSUB}#${f}`);
  protocol(server, service);
  notifications(server, service);
  const caps = capsResolver(server);

  server.bus.on(
    "presence/client",
    ({ stanza, origin: session }) => {
      if (!session?.jid || stanza.attrs.to !== undefined) return undefined;
      if (stanza.attrs.type === "unavailable") delete session.data.pepInterest;
      const c = stanza.getChild("c", NS_CAPS);
      if (stanza.attrs.type !== undefined || !c || c.attrs.ver === session.data.pepInterest?.ver) return undefined;
      const ver = c.attrs.ver ?? "";
      // Known at once, so that a newer presence or an unavailable meanwhile supersedes this one.
      const before = session.data.pepInterest?.nodes ?? new Set<string>();
      session.data.pepInterest = { ver, nodes: before };
      // Not awaited: presence goes on while the client answers the disco#info query.
      void caps
        .interest(session, c)
        .then(async (nodes) => {
          if (!nodes || session.closed || session.data.pepInterest?.ver !== ver) return;
          session.data.pepInterest = { ver, nodes };
          const added = new Set([...nodes].filter((n) => !before.has(n)));
          if (added.size > 0) await sendLastItems(server, service, session, added);
        })
        .catch((err: unknown) => session.log.warn({ err }, "PEP: learning entity capabilities failed"));
      return undefined;
    },
    "early",
  );

  // A contact approved a subscription (XEP-0163 §4.3.2: a new subscriber gets the last items):
  // the approver's roster is already updated when its "subscribed" is routed here.
  server.bus.on(
    "presence/bare",
    ({ stanza, from, to }) => {
      if (stanza.attrs.type !== "subscribed" || !from.local || !to.local || from.domain !== server.config.domain) return undefined;
      for (const s of server.registry.sessionsOf(to.local)) {
        const nodes = s.data.pepInterest?.nodes;
        if (nodes?.size) void lastItemsOf(server, service, s, from.local, nodes).catch((err: unknown) => s.log.warn({ err }, "PEP: last items failed"));
      }
      return undefined;
    },
    "early",
  );

  server.bus.on("disco-account-info", ({ query }) => {
    query.cnode(x("identity", { category: "pubsub", type: "pep" }));
  });
  server.bus.on("disco-account-items", async ({ username, requester, query }) => {
    for (const node of await server.storage.pep.listNodes(username)) {
      if (!(await service.denied(username, node.config, requester.bareString)))
        query.cnode(x("item", { jid: `${username}@${server.config.domain}`, node: node.node }));
    }
  });
}
