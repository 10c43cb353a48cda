// Software Version (XEP-0092) of the server.
import { createRequire } from "node:module";
import { x } from "../xml/element.js";
import { iqResult } from "../core/router.js";
import type { Server } from "../core/server.js";
import { defineFeature } from "../core/feature.js";

const NS_VERSION = "jabber:iq:version";
const pkg = createRequire(import.meta.url)("../../package.json") as { version: string };

export default defineFeature({ name: "version", setup: version });

function version(server: Server): void {
  server.hostFeatures.add(NS_VERSION);
  server.bus.on(`iq-get/host/${NS_VERSION}:query`, ({ stanza, origin }) => {
    origin?.send(iqResult(stanza, x("query", { xmlns: NS_VERSION }, x("name", null, "Warden"), x("version", null, pkg.version))));
    return true;
  });
}
