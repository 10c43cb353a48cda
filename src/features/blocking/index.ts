// Blocking (XEP-0191): an account blocks JIDs (full, bare, domain/resource, domain), and the
// server keeps it and them apart, both ways.
//   lists.ts     the blocklists, stored and held in memory for accounts online
//   protocol.ts  blocklist / block / unblock and their pushes, presence on block and unblock
//   enforce.ts   stanzas between blocked parties stopped, with the errors of §3.3
import { defineFeature } from "../../core/feature.js";
import { blocklists } from "./lists.js";
import { onBlockingCommands } from "./protocol.js";
import { enforceOnClientStanzas, deliveryFilter } from "./enforce.js";

export default defineFeature({
  name: "blocking",
  provides: ["blocklists"],
  setup: (server) => {
    const lists = blocklists(server);
    server.services.provide("blocklists", lists);
    onBlockingCommands(server);
    enforceOnClientStanzas(server);
    // The list is in memory before the session can send or receive presence; the filter goes
    // first, so that stream management never counts or queues what it drops.
    server.bus.on("resource-bound", async ({ session }) => {
      if (!session.username) return;
      await lists.load(session.username);
      session.outFilters = [deliveryFilter(server, session), ...(session.outFilters ?? [])];
    });
    server.bus.on("session-closed", ({ session }) => {
      if (session.username && server.registry.sessionsOf(session.username).length === 0) lists.forget(session.username);
    });
  },
});
