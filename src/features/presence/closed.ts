// A session that goes away, however it ends, goes unavailable for everyone who saw it
// available and for the targets of its directed presence (RFC 6121 §4.5.2, §4.6.3), after
// whatever presence of it is still being handled.
import { x } from "../../xml/element.js";
import { broadcastUnavailable } from "./broadcast.js";
import { directedOf, inOrder, isBound, type Presence } from "./shared.js";

export function onSessionClosed(p: Presence): void {
  p.server.bus.on("session-closed", ({ session }) => {
    if (!isBound(session)) return;
    return inOrder(session, async () => {
      if (session.presence === undefined && directedOf(session).size === 0) return;
      await broadcastUnavailable(p, session, x("presence", { type: "unavailable" }));
    });
  });
}
