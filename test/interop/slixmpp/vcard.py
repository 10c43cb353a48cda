"""slixmpp's own plugins against the server: vCard (xep_0054) and its avatar (xep_0153),
private XML (xep_0049) and bookmarks stored in it (xep_0048), the conversions to and from
PEP (xep_0060, xep_0084), blocking (xep_0191).

Logs in, sends presence, then in order: reads its (empty) vCard and the peer's; sets an
avatar with set_avatar (vCard PHOTO); stores and reads back a private element and
bookmarks, and finds those as PEP bookmarks; publishes a second avatar
with XEP-0084 and finds it in its vCard; blocks the peer, sends it a message (which must come back as not-acceptable with
<blocked/>), unblocks it and sends another (which the peer must get).

Environment: WARDEN_HOST, WARDEN_PORT, XMPP_JID (bare), XMPP_PASSWORD, PEER_JID (bare),
AVATAR_B64, AVATAR2_B64, DEADLINE. Prints {"result": {...}}; exits 0 only when every step gave what it must.
"""
import asyncio
import base64
import sys

from slixmpp.xmlstream import ElementBase

from common import RecordingClient, cancel_pending_tasks, emit, env, finish_when, setup_logging

NS_BLOCKED = "urn:xmpp:blocking:errors"


class Prefs(ElementBase):
    name = "prefs"
    namespace = "urn:example:warden-test"
    plugin_attrib = "warden_prefs"
    interfaces = {"nick"}
    sub_interfaces = {"nick"}


async def main():
    setup_logging()
    host = env("WARDEN_HOST", "127.0.0.1")
    port = int(env("WARDEN_PORT"))
    peer = env("PEER_JID")
    avatar = base64.b64decode(env("AVATAR_B64"))
    avatar2 = base64.b64decode(env("AVATAR2_B64"))
    deadline = float(env("DEADLINE", "30"))
    client = RecordingClient(env("XMPP_JID") + "/slix", env("XMPP_PASSWORD"))
    for plugin in ("xep_0030", "xep_0054", "xep_0153", "xep_0049", "xep_0048", "xep_0060", "xep_0084", "xep_0191"):
        client.register_plugin(plugin)
    client["xep_0049"].register(Prefs)
    loop = asyncio.get_event_loop()
    done = loop.create_future()
    state = {"session_started": False, "steps": {}, "failures": [], "blocked_error": None, "pushes": []}
    steps = state["steps"]

    def fail(what):
        state["failures"].append(what)

    def on_message(msg):
        if msg["type"] == "error" and msg["id"] == "while-blocked":
            err = msg.xml.find("{jabber:client}error")
            children = [child.tag for child in err] if err is not None else []
            state["blocked_error"] = {"condition": msg["error"]["condition"], "type": msg["error"]["type"], "children": children}
            blocked_error.set_result(True) if not blocked_error.done() else None

    blocked_error = loop.create_future()
    client.add_event_handler("message", on_message)
    client.add_event_handler("blocked", lambda iq: state["pushes"].append(["block", [str(j) for j in iq["block"]["items"]]]))
    client.add_event_handler("unblocked", lambda iq: state["pushes"].append(["unblock", [str(j) for j in iq["unblock"]["items"]]]))

    async def run():
        # vCard: empty at first, for the account and for the peer, then an avatar.
        own = await client["xep_0054"].get_vcard(client.boundjid.bare, cached=False, timeout=10)
        steps["own_vcard_empty"] = len(own["vcard_temp"].xml) == 0
        theirs = await client["xep_0054"].get_vcard(peer, cached=False, timeout=10)
        steps["peer_fn"] = theirs["vcard_temp"]["FN"]
        await client["xep_0153"].set_avatar(avatar=avatar, mtype="image/png", timeout=10)
        back = await client["xep_0054"].get_vcard(client.boundjid.bare, cached=False, timeout=10)
        steps["photo_back"] = back["vcard_temp"]["PHOTO"]["BINVAL"] == avatar
        steps["photo_type"] = back["vcard_temp"]["PHOTO"]["TYPE"]

        # Private XML and bookmarks in it.
        prefs = Prefs()
        prefs["nick"] = "Slix & co"
        await client["xep_0049"].store(prefs, timeout=10)
        got = await client["xep_0049"].retrieve("warden_prefs", timeout=10)
        steps["private_nick"] = got["private"]["warden_prefs"]["nick"]
        bookmarks = client["xep_0048"].stanza.Bookmarks()
        bookmarks.add_conference("room@conference.example.org", "slix", name="The Room", autojoin=True)
        await client["xep_0048"].set_bookmarks(bookmarks, method="xep_0049", timeout=10)
        stored = await client["xep_0048"].get_bookmarks(method="xep_0049", timeout=10)
        steps["bookmarks"] = [[c["jid"], c["nick"], c["name"], c["autojoin"]] for c in stored["private"]["bookmarks"]["conferences"]]

        # The same bookmarks as PEP items (XEP-0411), read with the generic pubsub plugin.
        pep_items = await client["xep_0060"].get_items(client.boundjid.bare, "urn:xmpp:bookmarks:1", timeout=10)
        steps["pep_bookmarks"] = [item["id"] for item in pep_items["pubsub"]["items"]]

        # An avatar published the XEP-0084 way comes back in the vCard (XEP-0398).
        await client["xep_0084"].publish_avatar(avatar2, timeout=10)
        info = {"id": client["xep_0084"].generate_id(avatar2), "type": "image/png", "bytes": len(avatar2)}
        await client["xep_0084"].publish_avatar_metadata([info], timeout=10)
        converted = await client["xep_0054"].get_vcard(client.boundjid.bare, cached=False, timeout=10)
        steps["vcard_from_pep"] = converted["vcard_temp"]["PHOTO"]["BINVAL"] == avatar2

        # Blocking.
        steps["blocklist_before"] = [str(j) for j in (await client["xep_0191"].get_blocked(timeout=10))["blocklist"]["items"]]
        await client["xep_0191"].block(peer, timeout=10)
        steps["blocklist_blocked"] = [str(j) for j in (await client["xep_0191"].get_blocked(timeout=10))["blocklist"]["items"]]
        m = client.make_message(mto=peer, mbody="you should not see this", mtype="chat")
        m["id"] = "while-blocked"
        m.send()
        try:
            await asyncio.wait_for(blocked_error, timeout=10)
        except asyncio.TimeoutError:
            fail("no error for the message to a blocked JID")
        await client["xep_0191"].unblock(peer, timeout=10)
        steps["blocklist_after"] = [str(j) for j in (await client["xep_0191"].get_blocked(timeout=10))["blocklist"]["items"]]
        m = client.make_message(mto=peer, mbody="unblocked now", mtype="chat")
        m["id"] = "after-unblock"
        m.send()

    async def on_session_start(_event):
        state["session_started"] = True
        client.send_presence()
        await client.get_roster(timeout=10)
        try:
            await run()
        except Exception as exc:
            fail(f"{type(exc).__name__}: {exc}")
        if not done.done():
            done.set_result(True)

    def on_disconnected(_event=None):
        if not done.done():
            done.set_result(False)

    client.add_event_handler("session_start", on_session_start)
    client.add_event_handler("failed_all_auth", on_disconnected)
    client.add_event_handler("disconnected", on_disconnected)
    client.connect((host, port))
    reason = await finish_when(client, done, deadline, lambda: asyncio.sleep(1))
    ok = reason == "done" and state["session_started"] and not state["failures"]
    emit({"result": {"ok": ok, "finished": reason, **state, **client.login_report()}})
    await cancel_pending_tasks()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.get_event_loop().run_until_complete(main()))
