"""PEP with slixmpp's own plugins (xep_0060, xep_0163, xep_0115, xep_0084): announces caps
(+notify for avatar metadata and bookmarks, computed by slixmpp), publishes an avatar
(XEP-0084), OMEMO device lists and bundles (XEP-0384, both namespaces, access model open) and
a native bookmark (XEP-0402, whitelist), reads its avatar back, then waits for the peer's
avatar-metadata notification and fetches that avatar's data.

Environment: WARDEN_HOST, WARDEN_PORT, XMPP_JID (bare), XMPP_PASSWORD, PEER_JID, DEADLINE.
Prints {"event": ...} lines and a final {"result": {...}}; exits 0 when every step worked.
"""
import asyncio
import base64
import hashlib
import sys

from slixmpp.xmlstream import ET

from common import RecordingClient, cancel_pending_tasks, emit, env, finish_when, setup_logging

AVATAR = bytes(range(256)) * 4  # 1 KiB stands in for a PNG: the server never looks inside
AXOLOTL = "eu.siacs.conversations.axolotl"
OMEMO2 = "urn:xmpp:omemo:2"


def xml(text):
    return ET.fromstring(text)


def options(client, **fields):
    form = client["xep_0004"].make_form("submit")
    form.add_field(var="FORM_TYPE", ftype="hidden", value="http://jabber.org/protocol/pubsub#publish-options")
    for var, value in fields.items():
        form.add_field(var="pubsub#" + var, value=value)
    return form


async def main():
    setup_logging()
    port = int(env("WARDEN_PORT"))
    peer = env("PEER_JID")
    deadline = float(env("DEADLINE", "30"))
    client = RecordingClient(env("XMPP_JID") + "/slix-pep", env("XMPP_PASSWORD"))
    for plugin in ("xep_0004", "xep_0030", "xep_0060", "xep_0115", "xep_0163", "xep_0084"):
        client.register_plugin(plugin)
    done = asyncio.get_event_loop().create_future()
    notified = asyncio.get_event_loop().create_future()
    state = {"failures": [], "steps": []}

    def on_metadata(msg):
        if msg["from"].bare == peer and not notified.done():
            notified.set_result(msg["pubsub_event"]["items"]["item"]["id"])

    async def step(name, start):
        try:
            result = await start()
            state["steps"].append(name)
            return result
        except Exception as exc:  # the report says which step failed and how
            state["failures"].append(f"{name}: {exc!r}")
            emit({"event": "failed", "step": name, "error": repr(exc)})
            return None

    async def on_session_start(_event):
        client["xep_0163"].add_interest("urn:xmpp:bookmarks:1")
        client.send_presence()
        await client.get_roster()
        emit({"event": "ready", "jid": str(client.boundjid)})
        avatar_id = hashlib.sha1(AVATAR).hexdigest()
        p = client["xep_0060"]
        await step("avatar-data", lambda: client["xep_0084"].publish_avatar(AVATAR))
        meta = {"id": avatar_id, "type": "image/png", "bytes": str(len(AVATAR)), "width": "32", "height": "32"}
        await step("avatar-metadata", lambda: client["xep_0084"].publish_avatar_metadata(meta))
        open_ = options(client, access_model="open")
        await step("axolotl-devicelist", lambda: p.publish(None, AXOLOTL + ".devicelist", id="current", payload=xml(f"<list xmlns='{AXOLOTL}'><device id='1234'/></list>"), options=open_))
        bundle = f"<bundle xmlns='{AXOLOTL}'><signedPreKeyPublic signedPreKeyId='1'>{base64.b64encode(bytes(33)).decode()}</signedPreKeyPublic><identityKey>{base64.b64encode(bytes(33)).decode()}</identityKey></bundle>"
        await step("axolotl-bundle", lambda: p.publish(None, AXOLOTL + ".bundles:1234", id="current", payload=xml(bundle), options=options(client, access_model="open")))
        await step("omemo2-devices", lambda: p.publish(None, OMEMO2 + ":devices", id="current", payload=xml(f"<devices xmlns='{OMEMO2}'><device id='1234'/></devices>"), options=options(client, access_model="open")))
        await step("omemo2-bundle", lambda: p.publish(None, OMEMO2 + ":bundles", id="1234", payload=xml(f"<bundle xmlns='{OMEMO2}'><ik>{base64.b64encode(bytes(32)).decode()}</ik></bundle>"), options=options(client, access_model="open", max_items="max")))
        bm = options(client, persist_items="true", max_items="max", send_last_published_item="never", access_model="whitelist")
        await step("bookmark", lambda: p.publish(None, "urn:xmpp:bookmarks:1", id="room@muc.localhost", payload=xml("<conference xmlns='urn:xmpp:bookmarks:1' name='Room' autojoin='true'><nick>slix</nick></conference>"), options=bm))
        own = await step("avatar-read-back", lambda: client["xep_0084"].retrieve_avatar(client.boundjid.bare, avatar_id))
        if own is not None and own["pubsub"]["items"]["item"]["avatar_data"]["value"] != AVATAR:
            state["failures"].append("avatar-read-back: different bytes")
        emit({"event": "published", "avatar_id": avatar_id})
        try:
            peer_id = await asyncio.wait_for(notified, timeout=max(deadline - 10, 5))
            emit({"event": "notified", "id": peer_id})
            got = await step("peer-avatar", lambda: client["xep_0084"].retrieve_avatar(peer, peer_id))
            if got is not None:
                data = got["pubsub"]["items"]["item"]["avatar_data"]["value"]
                state["peer_avatar_sha1"] = hashlib.sha1(data).hexdigest()
        except asyncio.TimeoutError:
            state["failures"].append("no avatar-metadata notification from the peer")
        done.set_result(True)

    client.add_event_handler("session_start", on_session_start)
    client.add_event_handler("avatar_metadata_publish", on_metadata)
    client.add_event_handler("disconnected", lambda _e: done.done() or done.set_result(False))
    client.connect((env("WARDEN_HOST", "127.0.0.1"), port))
    reason = await finish_when(client, done, deadline)
    ok = reason == "done" and not state["failures"]
    emit({"result": {"ok": ok, "finished": reason, **state}})
    await cancel_pending_tasks()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.get_event_loop().run_until_complete(main()))
