// The classic XEP-0198 nonzas: <sm/> offered after authentication (<resume/> before binding,
// <enable/> after it), <enable/>, <resume/>, and the acks <r/> and <a h/>.
import { x } from "../../xml/element.js";
import { streamErrors } from "../../core/errors.js";
import { NS_SM, failedClassic, handled, parseH, type Sm } from "./state.js";
import { ack, requestAck } from "./queue.js";
import { enable, enabledElement } from "./enable.js";
import { beginResume, checkResume, completeResume } from "./resume.js";

export function onNonzas(sm: Sm): void {
  const { server } = sm;

  server.bus.on("stream-features", ({ session, features }) => {
    if (session.authenticated && !session.bound) features.c("sm", { xmlns: NS_SM });
  });

  server.bus.on(`nonza/${NS_SM}:enable`, ({ session, element }) => {
    const r = enable(sm, session, element);
    session.send("queue" in r ? enabledElement(r, "true") : failedClassic(r));
    return true;
  });

  server.bus.on(`nonza/${NS_SM}:resume`, async ({ session, element }) => {
    const r = await checkResume(sm, session, session.username, element);
    if (!r.ok) {
      session.send(failedClassic(r.def, r.h));
      return true;
    }
    beginResume(sm, r.st);
    completeResume(sm, r.st, session, r.h, x("resumed", { xmlns: NS_SM, previd: element.attrs.previd, h: handled(r.st) }));
    return true;
  });

  server.bus.on(`nonza/${NS_SM}:r`, ({ session }) => {
    const st = session.data.smState;
    if (st) session.sendRaw(`<a xmlns='${NS_SM}' h='${handled(st)}'/>`);
    return true; // without SM there is nothing to count: ignored
  });

  server.bus.on(`nonza/${NS_SM}:a`, ({ session, element }) => {
    const st = session.data.smState;
    if (!st) return true;
    const h = parseH(element.attrs.h);
    if (h === undefined) {
      session.close(streamErrors.smBadAck);
      return true;
    }
    if (!ack(st, h)) {
      session.close(streamErrors.smHandledCountTooHigh);
      return true;
    }
    clearTimeout(st.probe);
    st.probe = undefined;
    st.ackRequested = false;
    if (st.queue.length > 0) requestAck(st);
    return true;
  });
}
