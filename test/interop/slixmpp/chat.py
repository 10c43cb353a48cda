"""slixmpp with default settings plus stream management (XEP-0198): logs in over STARTTLS,
sends initial presence, gets the roster, sends a chat message to an @xmpp/client user
(PEER_JID, a full JID) and waits for two messages back: one to its full JID (id "js-full")
and one to its bare JID (id "js-bare").

Environment: WARDEN_HOST, WARDEN_PORT, XMPP_JID (bare), XMPP_PASSWORD, PEER_JID, DEADLINE.
Prints progress events, then {"result": {...}}; exits 0 only when everything happened.
"""
import asyncio
import sys

from common import RecordingClient, cancel_pending_tasks, emit, env, finish_when, setup_logging

EXPECTED = ("js-full", "js-bare")


async def main():
    setup_logging()
    host = env("WARDEN_HOST", "127.0.0.1")
    port = int(env("WARDEN_PORT"))
    peer = env("PEER_JID")
    deadline = float(env("DEADLINE", "30"))
    client = RecordingClient(env("XMPP_JID") + "/slix", env("XMPP_PASSWORD"))
    client.register_plugin("xep_0030")
    client.register_plugin("xep_0199")
    client.register_plugin("xep_0198")
    loop = asyncio.get_event_loop()
    done = loop.create_future()
    state = {"session_started": False, "sm_enabled": None, "sm_failed": None, "roster": None,
             "received": [], "errors": []}

    def check_done():
        ids = {m["id"] for m in state["received"]}
        if all(i in ids for i in EXPECTED) and not done.done():
            done.set_result(True)

    def on_disconnected(_event=None):
        if not done.done():
            done.set_result(False)

    def on_sm_enabled(stanza):
        state["sm_enabled"] = {"id": stanza.xml.get("id"), "resume": stanza.xml.get("resume")}
        emit({"event": "sm_enabled", **state["sm_enabled"]})

    def on_sm_failed(stanza):
        state["sm_failed"] = str(stanza)

    def on_message(msg):
        if msg["type"] == "error":
            state["errors"].append(str(msg))
            return
        state["received"].append({"id": msg["id"], "from": str(msg["from"]), "to": str(msg["to"]),
                                  "type": msg["type"], "body": msg["body"]})
        emit({"event": "message", "id": msg["id"], "from": str(msg["from"])})
        check_done()

    async def on_session_start(_event):
        state["session_started"] = True
        client.send_presence()
        try:
            roster = await client.get_roster(timeout=10)
            state["roster"] = roster["roster"]["ver"] if roster is not None else None
        except Exception as exc:  # a roster error must not stop the message exchange
            state["roster"] = f"error: {exc!r}"
        emit({"event": "online", "jid": str(client.boundjid)})
        msg = client.make_message(mto=peer, mbody="Hello from slixmpp, ünïcödé & <xml>", mtype="chat")
        msg["id"] = "slix-1"
        msg.send()

    client.add_event_handler("session_start", on_session_start)
    client.add_event_handler("message", on_message)
    client.add_event_handler("sm_enabled", on_sm_enabled)
    client.add_event_handler("sm_failed", on_sm_failed)
    client.add_event_handler("failed_all_auth", on_disconnected)
    client.add_event_handler("disconnected", on_disconnected)
    async def final_ack():
        # Ask the server for an ack of everything slixmpp sent, and wait until it covers it all.
        sm = client["xep_0198"]
        if state["sm_enabled"] is None:
            return
        sm.request_ack()
        while sm.last_ack != sm.seq:
            await asyncio.sleep(0.05)

    client.connect((host, port))
    reason = await finish_when(client, done, deadline, final_ack)
    sm = client["xep_0198"]
    state["sm_sent"] = sm.seq          # stanzas slixmpp sent since <enable/>
    state["sm_acked"] = sm.last_ack    # the server's last <a h=…/>
    state["sm_handled"] = sm.handled   # stanzas slixmpp received since <enabled/>
    report = client.login_report()
    ids = {m["id"] for m in state["received"]}
    failures = []
    if not client.auth_ok:
        failures.append("SASL did not succeed")
    if not state["session_started"]:
        failures.append("no session")
    if state["sm_enabled"] is None:
        failures.append("stream management was not enabled")
    elif state["sm_acked"] != state["sm_sent"]:
        failures.append(f"the server acked {state['sm_acked']} of the {state['sm_sent']} stanzas sent")
    failures += [f"no message with id {i}" for i in EXPECTED if i not in ids]
    ok = not failures
    emit({"result": {"ok": ok, "failures": failures, "finished": reason, **state, **report}})
    await cancel_pending_tasks()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.get_event_loop().run_until_complete(main()))
