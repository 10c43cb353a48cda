// Stream management inside SASL2 and Bind2 (XEP-0388, XEP-0386): offered in both <inline>
// lists; a <resume/> in <authenticate> is decided in "sasl2-success" (before Bind2, which
// skips binding once state.resumed is set) and completed once <success> is written; an
// <enable/> in <bind> is answered in <bound>.
import { x } from "../../xml/element.js";
import { NS_SM, failedInline, handled, type Sm } from "./state.js";
import { enable, enabledElement } from "./enable.js";
import { beginResume, checkResume, completeResume } from "./resume.js";

export function onInline(sm: Sm): void {
  const { server } = sm;

  server.bus.on("sasl2-inline", ({ inline }) => {
    inline.c("sm", { xmlns: NS_SM });
  });
  server.bus.on("bind2-inline", ({ inline }) => {
    inline.c("feature", { var: NS_SM });
  });

  server.bus.on(
    "sasl2-success",
    (ev) => {
      const el = ev.request.getChild("resume", NS_SM);
      if (!el || ev.state.resumed) return;
      // Only a resumption waits (for the store's lookup); every other login goes on at once.
      return checkResume(sm, ev.session, ev.username, el).then((r) => {
        if (!r.ok) {
          ev.success.cnode(failedInline(r.def, r.h));
          return;
        }
        beginResume(sm, r.st);
        ev.success.cnode(x("resumed", { xmlns: NS_SM, h: handled(r.st), previd: el.attrs.previd }));
        ev.state.resumed = r.st.session;
        ev.session.data.smPendingResume = { st: r.st, h: r.h };
      });
    },
    "resume",
  );

  // <success> is written: now the connection moves and the queue is replayed.
  server.bus.on("sasl2-success-sent", (ev) => {
    const p = ev.session.data.smPendingResume;
    if (!p) return;
    ev.session.data.smPendingResume = undefined;
    completeResume(sm, p.st, ev.session, p.h);
  });

  server.bus.on("bind2-enable", ({ session, request, bound }) => {
    const el = request.getChild("enable", NS_SM);
    if (!el) return;
    const r = enable(sm, session, el);
    bound.cnode("queue" in r ? enabledElement(r, "1") : failedInline(r));
  });
}
