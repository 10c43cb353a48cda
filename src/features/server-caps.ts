// The server's entity capabilities in its stream features (XEP-0115 v1.6 §6.3): once a client
// has authenticated, it learns what the server can do from one hash, and asks disco#info
// (with node="NODE#VER", §6.2) only for a hash it has not cached. The hash is computed per §5
// from exactly what disco#info answers (identities, features, XEP-0128 forms), so it changes
// whenever the configuration changes what the server offers.
import { createHash } from "node:crypto";
import { x } from "../xml/element.js";
import { iqResult } from "../core/router.js";
import type { Server } from "../core/server.js";
import { defineFeature } from "../core/feature.js";
import type { Disco } from "./disco.js";

const NS_CAPS = "http://jabber.org/protocol/caps";
const NS_INFO = "http://jabber.org/protocol/disco#info";
/** Names the software (§4); the lead may point it at the project's home page. */
export const CAPS_NODE = "https://warden.im/caps";

export default defineFeature({ name: "server-caps", needs: ["disco"], setup: serverCaps });

/** The verification string of XEP-0115 §5.1 (hash sha-1, base64), from what disco#info says. */
export function capsVer(disco: Disco, features: Iterable<string>): string {
  const octets = (a: string, b: string) => (Buffer.from(a) < Buffer.from(b) ? -1 : 1);
  let s = "";
  const ids = disco.hostIdentities().map((i) => `${i.category}/${i.type}//${i.name ?? ""}`);
  for (const id of ids.sort(octets)) s += id + "<";
  for (const f of [...features].sort(octets)) s += f + "<";
  for (const form of [...disco.hostForms()].sort((a, b) => octets(a.formType, b.formType))) {
    s += form.formType + "<";
    for (const field of [...form.fields].sort((a, b) => octets(a.var, b.var))) {
      s += field.var + "<";
      for (const v of [...field.values].sort(octets)) s += v + "<";
    }
  }
  return createHash("sha1").update(s, "utf8").digest("base64");
}

function serverCaps(server: Server): void {
  const disco = server.services.get("disco");
  server.hostFeatures.add(NS_CAPS);
  // Computed at each offer: cheap, and never stale when a feature adds to disco#info later.
  const ver = () => capsVer(disco, server.hostFeatures);

  server.bus.on("stream-features", ({ session, features }) => {
    if (session.authenticated) features.cnode(x("c", { xmlns: NS_CAPS, hash: "sha-1", node: CAPS_NODE, ver: ver() }));
  });

  // disco#info for NODE#VER is the same answer, naming the node (§6.2); other nodes stay unknown.
  server.bus.on(
    `iq-get/host/${NS_INFO}:query`,
    ({ stanza, origin }) => {
      const node = stanza.getChild("query")!.attrs.node;
      if (node !== `${CAPS_NODE}#${ver()}`) return undefined;
      origin?.send(iqResult(stanza, disco.hostInfo(node)));
      return true;
    },
    "early",
  );
}
