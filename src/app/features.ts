// Every feature of the server. Each is one file of bus handlers that declares the services it
// needs and provides (src/core/feature.ts); the loader orders them by those declarations and
// otherwise keeps this order, which decides the order of handlers of equal priority.
import type { Feature } from "../core/feature.js";
import starttls from "../features/starttls.js";
import saslLegacy from "../auth/sasl-legacy.js";
import sasl2 from "../auth/sasl2.js";
import bind2 from "../auth/bind2.js";
import fast from "../auth/fast.js";
import grants from "../auth/grants.js";
import bind from "../features/bind.js";
import message from "../features/message.js";
import offline from "../features/offline.js";
import presence from "../features/presence/index.js";
import roster from "../features/roster.js";
import carbons from "../features/carbons.js";
import csi from "../features/csi.js";
import streamManagement from "../features/stream-management/index.js";
import disco from "../features/disco.js";
import ping from "../features/ping.js";
import version from "../features/version.js";
import accounts from "../features/accounts.js";
import access from "../clients/access-service.js";
import clientTracker from "../clients/tracker.js";
import manageClients from "../clients/protocol.js";
import clientsAdmin from "../clients/admin.js";
import oauthSessions from "../auth/oauth-sessions.js";
import http from "../http/server.js";
import oauth from "../http/oauth/router.js";
import rest from "../http/rest.js";
import securityHistory from "../features/security-history.js";
import newClientNotice from "../features/new-client-notice.js";
import securityLog from "../features/security-log.js";
import websocket from "../http/websocket.js";
import accountPage from "../http/account/index.js";
import pep from "../features/pep/index.js";
import vcard from "../features/vcard/index.js";
import privateStorage from "../features/private.js";
import blocking from "../features/blocking/index.js";
import mam from "../features/mam/index.js";
import upload from "../features/upload/index.js";
import push from "../features/push/index.js";
import contactInfo from "../features/contact-info.js";
import serverCaps from "../features/server-caps.js";
import externalServices from "../features/external-services.js";
import proxy65 from "../features/proxy65/index.js";
import register from "../features/register/ibr.js";
import registerAccount from "../features/register/account.js";
import invitePage from "../http/invite/page.js";
import vcardPepAvatar from "../features/vcard/pep-avatar.js";
import bookmarksCompat from "../features/bookmarks-compat.js";
import contactInviteSubscribe from "../features/register/contact-subscribe.js";

export const features: readonly Feature[] = [
  grants,
  starttls,
  saslLegacy,
  sasl2,
  bind2,
  fast,
  bind,
  message,
  offline,
  presence,
  roster,
  carbons,
  csi,
  streamManagement,
  disco,
  ping,
  version,
  access,
  accounts,
  clientTracker,
  manageClients,
  clientsAdmin,
  // OAuth 2.0: OAUTHBEARER sessions bound to their grant; the HTTP service, then its endpoints.
  oauthSessions,
  http,
  oauth,
  rest,
  // The account page (its security history and new-client notices), and XMPP over WebSocket: after http.
  securityHistory,
  newClientNotice,
  websocket,
  accountPage,
  // Security events into the server's log, for operators and fail2ban.
  securityLog,
  // Personal Eventing (XEP-0163): the `pep` service and its protocol.
  pep,
  // vCard and its photo hash in presence, private XML, blocking (XEP-0054, 0153, 0049, 0191).
  vcard,
  privateStorage,
  blocking,
  // The message archive (XEP-0313): its handlers run at "high", ahead of carbons and delivery.
  mam,
  // HTTP file upload (XEP-0363): after http.
  upload,
  // Push notifications (XEP-0357): after stream management and the client tracker it follows.
  push,
  // What the server tells clients of itself and its services: contact addresses (XEP-0157),
  // STUN/TURN (XEP-0215), the SOCKS5 proxy (XEP-0065), and its capabilities hash (XEP-0115),
  // computed at each offer over whatever disco#info then says.
  contactInfo,
  externalServices,
  proxy65,
  serverCaps,
  // In-band registration (XEP-0077) and invitations (XEP-0401, XEP-0445).
  register,
  registerAccount,
  invitePage,
  contactInviteSubscribe,
  // Conversions between the legacy stores and PEP: avatars (XEP-0398), bookmarks (XEP-0411).
  vcardPepAvatar,
  bookmarksCompat,
];
