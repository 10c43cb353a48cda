// Every feature, in registration order. Each is one file of bus handlers; a feature may
// return a function that stops whatever it started (timers, listeners).
import type { Server } from "../core/server.js";
import starttls from "./starttls.js";
import saslLegacy from "../auth/sasl-legacy.js";
import sasl2 from "../auth/sasl2.js";
import bind2 from "../auth/bind2.js";
import fast from "../auth/fast.js";
import grants from "../auth/grants.js";
import bind from "./bind.js";
import message from "./message.js";
import offline from "./offline.js";
import presence from "./presence.js";
import roster from "./roster.js";
import carbons from "./carbons.js";
import csi from "./csi.js";
import streamManagement from "./stream-management.js";
import disco from "./disco.js";
import ping from "./ping.js";
import version from "./version.js";
import accounts from "./accounts.js";
import revocation from "./revocation.js";
import clientTracker from "../clients/tracker.js";
import manageClients from "../clients/protocol.js";
import clientsAdmin from "../clients/admin.js";
import oauthSessions from "../auth/oauth-sessions.js";
import http from "../http/server.js";
import oauth from "../http/oauth/router.js";
import rest from "../http/rest.js";
import securityHistory from "./security-history.js";
import newClientNotice from "./new-client-notice.js";
import securityLog from "./security-log.js";
import websocket from "../http/websocket.js";
import accountPage from "../http/account/index.js";

export type Feature = (server: Server) => void | (() => void | Promise<void>) | Promise<void | (() => void | Promise<void>)>;

export const features: Feature[] = [
  grants, starttls, saslLegacy, sasl2, bind2, fast, bind, message, offline, presence, roster,
  carbons, csi, streamManagement, disco, ping, version, accounts, revocation, clientTracker, manageClients, clientsAdmin,
  // OAuth 2.0: OAUTHBEARER sessions bound to their grant; the HTTP service, then its endpoints.
  oauthSessions, http, oauth, rest,
  // The account page (its security history and new-client notices), and XMPP over WebSocket: after http.
  securityHistory, newClientNotice, websocket, accountPage,
  // Security events into the server's log, for operators and fail2ban.
  securityLog,
];
