// The account page itself: GET /account (the list of clients, change of password, security
// history), and what keeps an open page up to date: /account/events (Server-Sent Events, live.ts),
// /account/fragment (the tables again, fetched after a change) and /account/live.js.
import { HttpError } from "../server.js";
import { httpErrors } from "../../core/errors.js";
import { LIVE_JS } from "./live.js";
import { ACCOUNT_PATH } from "./url.js";
import { accountPage, fragment } from "./pages.js";
import type { AccountContext } from "./context.js";
import { html, page } from "./respond.js";
import { current, signedInPage } from "./signed-in.js";
import { view } from "./rows.js";

export function homeRoutes(ctx: AccountContext): void {
  const { server, live } = ctx;
  const http = server.services.get("http");

  http.route(
    "GET",
    ACCOUNT_PATH,
    signedInPage(ctx, async (req, s) => {
      const v = await view(ctx, s);
      if (s.flash) {
        v.flash = s.flash;
        delete s.flash;
      }
      html(req, 200, accountPage(v));
    }),
  );

  http.route(
    "GET",
    `${ACCOUNT_PATH}/fragment`,
    page(async (req) => {
      const s = await current(ctx, req);
      if (!s) throw new HttpError(httpErrors.signInAgain);
      html(req, 200, fragment(await view(ctx, s)));
    }),
  );

  http.route("GET", `${ACCOUNT_PATH}/events`, async (req) => {
    const s = await current(ctx, req);
    if (!s) throw new HttpError(httpErrors.signInAgain);
    if (req.method === "HEAD") {
      req.res.writeHead(200, { "Content-Type": "text/event-stream; charset=utf-8" });
      req.res.end();
      return;
    }
    live.open(req, s);
  });

  http.route("GET", `${ACCOUNT_PATH}/live.js`, (req) => {
    const res = req.res;
    res.setHeader("Content-Type", "text/javascript; charset=utf-8");
    res.setHeader("Cross-Origin-Resource-Policy", "same-origin");
    res.setHeader("Content-Length", Buffer.byteLength(LIVE_JS));
    res.writeHead(200);
    res.end(req.method === "HEAD" ? undefined : LIVE_JS);
  });
}
