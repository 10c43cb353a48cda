// Date-times as XMPP writes them (XEP-0082 §3.2): UTC, whole seconds, "Z". Shared by every
// feature that puts a time on the wire without milliseconds (client lists, TURN credential
// expiry, upload retry stamps).

/** XEP-0082 UTC with whole seconds. */
export function xep82(ms: number): string {
  const iso = new Date(ms).toISOString(); // YYYY-MM-DDThh:mm:ss.sssZ for years 0–9999
  return iso.length === 24 ? iso.slice(0, 19) + "Z" : new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}
