// XEP-0198 Stream Management: acks (<r/>, <a h/>), a queue of the stanzas the client has not
// acknowledged yet, hibernation of a session whose connection dropped, and resumption on a new
// connection: classic (<enable/>, <resume/> nonzas) and inline in SASL2 / Bind2 (XEP-0388,
// XEP-0386; events "sasl2-success", "sasl2-success-sent", "bind2-enable").
//   state.ts              per-session state, 'h' counts, <failed/>
//   queue.ts              counting, acks, the queue's limit
//   enable.ts             <enable/>: counting starts, a resumption id is issued
//   hibernation.ts        a dropped or silent connection; the session hibernates
//   hibernation-store.ts  resumption ids, expiries, ended sessions (a service: "hibernation")
//   resume.ts             a new connection takes the session over
//   closing.ts            the end of a session: what was not acknowledged is handled
//   nonzas.ts, inline.ts  the protocol: classic nonzas; SASL2 and Bind2
//
// Sessions closed by the server (stream errors, revocation) are never hibernated; revoked
// access ends hibernating sessions through the access service (src/clients/access-service.ts).
import { defineFeature } from "../../core/feature.js";
import type { Sm } from "./state.js";
import { onSessionClosed } from "./closing.js";
import { onNonzas } from "./nonzas.js";
import { onInline } from "./inline.js";

export { NS_SM } from "./state.js";

export default defineFeature({
  name: "stream-management",
  needs: ["hibernation"],
  setup: (server) => {
    const sm: Sm = { server, store: server.services.get("hibernation"), rerouting: new Set() };
    onSessionClosed(sm);
    onNonzas(sm);
    onInline(sm);
    // Storage closes after this: re-routing in progress finishes first. (Hibernation timers
    // stop with the store; every hibernating session has been closed by then anyway.)
    return async () => {
      await Promise.allSettled([...sm.rerouting]);
    };
  },
});
