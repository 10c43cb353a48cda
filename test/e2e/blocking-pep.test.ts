// Blocking (XEP-0191) and what the server sends on an account's behalf: PEP notifications and
// the last item a contact gets when it comes online (XEP-0163 §4.3) are not delivered to an
// entity the account blocks, even while the account itself is offline; a control contact
// that is not blocked gets them. Raw clients with entity caps (test/helpers/pep.ts).
import { test, before, after } from "node:test";
import { startServer, type TestServer } from "../helpers/server.js";
import { child } from "../helpers/xml.js";
import { closeAll, newUser, noneArrives, notification, ok, online, presenceWithCaps, publishXml, subscribe, NS_EVENT } from "../helpers/pep.js";

const NODE = "http://jabber.org/protocol/mood";
const mood = (m: string) => `<mood xmlns='${NODE}'><${m}/></mood>`;

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  closeAll();
  await server?.stop();
});

test("a blocked contact gets no PEP notification and no last item, also while the blocker is offline", async () => {
  const [ua, ub, uc] = [await newUser(server, "pb"), await newUser(server, "pb"), await newUser(server, "pb")];
  const a = await online(server, ua);
  const b = await online(server, ub);
  const c = await online(server, uc);
  for (const cl of [a, b, c]) cl.c.send("<presence/>");
  await subscribe(b, a);
  await subscribe(c, a);
  await presenceWithCaps(b, [NODE]);
  await presenceWithCaps(c, [NODE], { expectQuery: false }); // the same caps: known by now
  await ok(a, "set", `<block xmlns='urn:xmpp:blocking'><item jid='${ub.bare}'/></block>`);

  await ok(a, "set", publishXml(NODE, mood("happy")));
  await notification(c, ua.bare, NODE, "happy");
  await noneArrives(b, (el) => el.name === "message" && child(el, "event", NS_EVENT) !== undefined);

  // The blocker goes offline, the server restarts (nothing of it in memory), the contacts come
  // back and would get the last item (§4.3.2).
  a.c.close();
  closeAll();
  await server.restart();
  for (const [u, res] of [
    [ub, "again"],
    [uc, "again"],
  ] as const) {
    const cl = await online(server, u, res);
    cl.c.send("<presence/>");
    await presenceWithCaps(cl, [NODE], { expectQuery: u === ub }); // caps forgotten by the restart: asked once
    if (u === uc) await notification(cl, ua.bare, NODE, "happy");
    else await noneArrives(cl, (el) => el.name === "message" && child(el, "event", NS_EVENT) !== undefined);
  }
});
