// Contact addresses for the service (XEP-0157 v1.1): the operator's `contact_info` (Prosody's
// key and shape) becomes the http://jabber.org/network/serverinfo form in the server's
// disco#info (XEP-0128), one field per kind: abuse-addresses, admin-addresses… (XEP-0157 §3).
// The URIs were checked when the configuration was read (src/core/config.ts).
import type { Server } from "../core/server.js";
import { defineFeature } from "../core/feature.js";
import { contactKinds } from "../core/config.js";

export const FORM_SERVERINFO = "http://jabber.org/network/serverinfo";

export default defineFeature({ name: "contact-info", needs: ["disco"], setup: contactInfo });

function contactInfo(server: Server): void {
  const info = server.config.contact_info;
  const fields = contactKinds.filter((k) => info[k]?.length).map((k) => ({ var: `${k}-addresses`, values: info[k]! }));
  // No addresses, no form: an empty form would claim a registry entry with nothing in it.
  if (fields.length) server.services.get("disco").addHostForm({ formType: FORM_SERVERINFO, fields });
}
