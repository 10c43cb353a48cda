// Client State Indication (XEP-0352): the client says whether a person is looking at it. The
// state is kept on the session for features that can hold back unimportant traffic.
import type { Server } from "../core/server.js";
import { defineFeature } from "../core/feature.js";

declare module "../core/session.js" {
  interface SessionData {
    /** The client's state (XEP-0352). */
    csi?: "active" | "inactive";
  }
}

const NS_CSI = "urn:xmpp:csi:0";

export default defineFeature({ name: "csi", setup: csi });

function csi(server: Server): void {
  server.bus.on("stream-features", ({ session, features }) => {
    if (session.authenticated) features.c("csi", { xmlns: NS_CSI });
  });
  for (const state of ["active", "inactive"] as const) {
    server.bus.on(`nonza/${NS_CSI}:${state}`, ({ session }) => {
      if (!session.authenticated) return undefined;
      session.data.csi = state;
      return true;
    });
  }
  server.bus.on("bind2-inline", ({ inline }) => {
    inline.c("feature", { var: NS_CSI });
  });
  server.bus.on("bind2-enable", ({ session, request }) => {
    if (request.getChild("inactive", NS_CSI)) session.data.csi = "inactive";
    else if (request.getChild("active", NS_CSI)) session.data.csi = "active";
  });
}
