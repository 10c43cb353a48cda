// The message archive (XEP-0313 urn:xmpp:mam:2 with #extended, RSM XEP-0059, stanza ids
// XEP-0359): what is archived (archiving.ts, policy.ts), queries (form.ts, query.ts),
// preferences (prefs.ts), retention (retention.ts) and the client list's "syncs the archive"
// (sync.ts). Advertised on the account (XEP-0313 §8, disco#info to the bare JID).
import type { Server } from "../../core/server.js";
import { defineFeature } from "../../core/feature.js";
import { archiving } from "./archiving.js";
import { queries } from "./query.js";
import { prefs } from "./prefs.js";
import { retention } from "./retention.js";
import { syncRecords } from "./sync.js";
import { NS_MAM } from "./form.js";
import { NS_SID } from "./stanza-id.js";

export default defineFeature({ name: "mam", setup: mam });

function mam(server: Server): () => void {
  server.accountFeatures.add(NS_MAM).add(`${NS_MAM}#extended`).add(NS_SID);
  server.hostFeatures.add(NS_SID);
  archiving(server);
  queries(server, syncRecords(server));
  prefs(server);
  return retention(server);
}
