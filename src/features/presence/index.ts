// Presence (RFC 6121 §4) and presence subscriptions (RFC 6121 §3, state tables of Appendix A).
//
// Every contact is an account on this server: presence for other domains is dropped quietly.
// Client presence is taken over in "presence/client" (client.ts); "presence/bare",
// "presence/full" and "presence/host" deliver routed presence and run the receiving side of
// subscriptions, for client stanzas and for those the server generates (routed.ts).
//   broadcast.ts      a session's available / unavailable presence, directed presence
//   subscribe-out.ts  the sender's side of a subscription (its roster item, then routed)
//   subscribe-in.ts   the contact's side
//   probe.ts          probes and their answers
//   closed.ts         unavailable for a session that goes away
//
// Events: emits "initial-presence" { session } when a session first becomes available;
// consumes "session-closed" { session }.
import { defineFeature } from "../../core/feature.js";
import { presenceContext } from "./shared.js";
import { onClientPresence } from "./client.js";
import { onRoutedPresence } from "./routed.js";
import { onSessionClosed } from "./closed.js";

export default defineFeature({
  name: "presence",
  setup: (server) => {
    const p = presenceContext(server);
    // In this order: handlers of equal priority run in the order they were registered.
    onClientPresence(p);
    onRoutedPresence(p);
    onSessionClosed(p);
  },
});
