// Bind2 (XEP-0386): the resource is bound inside the SASL2 <success>, with inline enables of
// other features (SM, carbons, CSI) collected through the "bind2-enable" event.
import { createHash } from "node:crypto";
import { x } from "../xml/element.js";
import { stanzaErrors, stanzaErrorElement } from "../core/errors.js";
import { normaliseResource } from "../core/jid.js";
import type { Server } from "../core/server.js";
import { bindResource, randomResource } from "../features/bind.js";
import { defineFeature } from "../core/feature.js";

export const NS_BIND2 = "urn:xmpp:bind:0";
const MAX_TAG = 64;

/** The stable resource of a client: `tag~` + base64 of the first 9 bytes of SHA-1(client id). */
export function bind2Resource(tag: string, clientId: string | undefined): string {
  const suffix = clientId ? createHash("sha1").update(clientId).digest().subarray(0, 9).toString("base64") : randomResource().slice(7);
  return `${tag}~${suffix}`;
}

export default defineFeature({ name: "bind2", setup: bind2 });

function bind2(server: Server): void {
  server.bus.on(
    "sasl2-inline",
    async ({ session, inline }) => {
      const bind = inline.c("bind", { xmlns: NS_BIND2 });
      const features = bind.c("inline");
      await server.bus.emit("bind2-inline", { session, inline: features });
    },
    "high",
  );

  server.bus.on(
    "sasl2-success",
    async (ev) => {
      if (ev.state.resumed) return; // a resumed session keeps its resource (XEP-0198 wins over Bind2)
      const request = ev.request.getChild("bind", NS_BIND2);
      if (!request) return;
      const session = ev.session;
      const tag = request.getChildText("tag");
      let resource: string | undefined;
      if (tag !== undefined && tag !== "") {
        resource = tag.length <= MAX_TAG ? normaliseResource(bind2Resource(tag, session.data.clientId)) : undefined;
        if (!resource) {
          ev.success.cnode(x("failed", { xmlns: NS_BIND2 }, stanzaErrorElement(stanzaErrors.badRequest, "Invalid tag")));
          return;
        }
      } else resource = randomResource();
      await bindResource(server, session, resource);
      const bound = x("bound", { xmlns: NS_BIND2 });
      await server.bus.emit("bind2-enable", { session, request, bound }, (err) => session.log.error({ err }, "bind2-enable handler failed"));
      ev.success.cnode(bound);
      ev.state.bound = true;
    },
    "high",
  );
}
