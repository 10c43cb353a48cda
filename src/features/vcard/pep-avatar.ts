// vCard ↔ PEP avatar conversion (XEP-0398), as Prosody's mod_vcard_legacy: a photo stored
// in the vCard (XEP-0054) is published as User Avatar (XEP-0084: the data node, then the
// metadata node, item id = the image's SHA-1), and an avatar published to PEP becomes the
// vCard's PHOTO, so old and new clients see the same picture and the XEP-0153 hash in
// presence follows either. Each side checks the other already holds that hash before
// writing, which is also what keeps the two from echoing each other forever.
import { createHash } from "node:crypto";
import { x, type Element } from "../../xml/element.js";
import { StanzaError } from "../../core/errors.js";
import type { Server } from "../../core/server.js";
import { defineFeature } from "../../core/feature.js";
import { NS_VCARD } from "./store.js";
import { rebroadcast } from "./photo-hash.js";

const NS_CONVERSION = "urn:xmpp:pep-vcard-conversion:0";
const NS_DATA = "urn:xmpp:avatar:data";
const NS_METADATA = "urn:xmpp:avatar:metadata";

export default defineFeature({
  name: "vcard-pep-avatar",
  needs: ["vcard", "pep"],
  setup: (server) => {
    server.accountFeatures.add(NS_CONVERSION);
    server.bus.on("vcard-stored", ({ username, vcard, photoChanged }) => (photoChanged ? toPep(server, username, vcard) : undefined));
    server.bus.on("pep-published", ({ owner, node, item }) => (node === NS_METADATA ? toVcard(server, owner, item) : undefined));
  },
});

/** Publishes, creating the node open when absent (vCards are public); an existing node keeps its configuration. */
async function publish(server: Server, owner: string, node: string, item: Element): Promise<void> {
  const pep = server.services.get("pep");
  const options: Record<string, string> = (await pep.config(owner, node)) ? {} : { "pubsub#access_model": "open" };
  await pep.publish(owner, node, item, options);
}

async function toPep(server: Server, username: string, vcard: Element): Promise<void> {
  const pep = server.services.get("pep");
  const photo = vcard.getChild("PHOTO");
  const binval = photo?.getChildText("BINVAL")?.replace(/\s+/g, "");
  const current = (await pep.items(username, NS_METADATA, 1))[0];
  try {
    if (!binval) {
      // The photo was removed: avatar publishing is disabled with an empty <metadata/> (XEP-0084 §4.5).
      if (current?.getChild("metadata", NS_METADATA)?.getChild("info"))
        await publish(server, username, NS_METADATA, x("item", { id: "current" }, x("metadata", { xmlns: NS_METADATA })));
      return;
    }
    const bytes = Buffer.from(binval, "base64");
    const id = createHash("sha1").update(bytes).digest("hex");
    if (current?.attrs.id === id) return;
    const type = photo?.getChildText("TYPE")?.trim() || "image/png";
    await publish(server, username, NS_DATA, x("item", { id }, x("data", { xmlns: NS_DATA }, bytes.toString("base64"))));
    const info = x("info", { id, bytes: bytes.length, type });
    await publish(server, username, NS_METADATA, x("item", { id }, x("metadata", { xmlns: NS_METADATA }, info)));
  } catch (err) {
    // A node a client configured otherwise (or a limit): the vCard stays stored regardless.
    if (!(err instanceof StanzaError)) throw err;
    server.log.info({ username, condition: err.def.condition }, "vCard photo not published as a PEP avatar");
  }
}

async function toVcard(server: Server, owner: string, item: Element): Promise<void> {
  const vcards = server.services.get("vcard");
  const pep = server.services.get("pep");
  // The avatar stored here (an info without url); others are links this server cannot fetch.
  const info = item
    .getChild("metadata", NS_METADATA)
    ?.getChildren("info")
    .find((i) => !i.attrs.url);
  const vcard = (await vcards.get(owner)) ?? x("vCard", { xmlns: NS_VCARD });
  const old = vcard.getChild("PHOTO");
  if (!info?.attrs.id) {
    if (!old) return;
    vcard.remove(old);
  } else {
    if ((await vcards.photoHash(owner)) === info.attrs.id) return;
    const data = (await pep.items(owner, NS_DATA))
      .find((i) => i.attrs.id === info.attrs.id)
      ?.getChild("data", NS_DATA)
      ?.getText();
    // The data must be the image the metadata names (XEP-0398 §3.1: verify the SHA-1).
    if (!data || createHash("sha1").update(Buffer.from(data, "base64")).digest("hex") !== info.attrs.id) return;
    if (old) vcard.remove(old);
    vcard.cnode(x("PHOTO", null, x("TYPE", null, info.attrs.type ?? "image/png"), x("BINVAL", null, data.replace(/\s+/g, ""))));
  }
  const { result, photoChanged } = await vcards.set(owner, vcard);
  if (result !== "stored") server.log.info({ username: owner, result }, "PEP avatar not copied into the vCard");
  if (photoChanged) await rebroadcast(server, owner);
}
