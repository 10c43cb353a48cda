"""Registers an account with slixmpp's XEP-0077 plugin (optionally presenting an invitation
token first, XEP-0445), then logs in with it; optionally changes its password afterwards.

Environment: WARDEN_HOST, WARDEN_PORT, XMPP_JID (bare), XMPP_PASSWORD, DEADLINE (seconds);
PREAUTH: a token to present before the form; FORCE=1: try to register when the server takes
invitation tokens, even when it does not offer open registration; NEW_PASSWORD: change the password once the session started.
Prints {"result": {...}} and exits 0 when the session started, 1 otherwise.
"""
import asyncio
import os
import sys
import xml.etree.ElementTree as ET

from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.stanza import StreamFeatures

from common import RecordingClient, cancel_pending_tasks, emit, env, finish_when, setup_logging


async def main():
    setup_logging()
    host = env("WARDEN_HOST", "127.0.0.1")
    port = int(env("WARDEN_PORT"))
    deadline = float(env("DEADLINE", "20"))
    token = os.environ.get("PREAUTH")
    new_password = os.environ.get("NEW_PASSWORD")
    client = RecordingClient(env("XMPP_JID") + "/slix-register", env("XMPP_PASSWORD"))
    client.register_plugin("xep_0077")
    force = os.environ.get("FORCE") == "1"
    done = asyncio.get_event_loop().create_future()
    state = {"attempted": False, "session_started": False, "registered": False, "register_error": None, "preauth": None, "password_changed": None}

    def finished(_event=None):
        if not done.done():
            done.set_result(True)

    async def register_feature(_features):
        # The plugin's own feature handler asks for the form first; XEP-0445 wants the token
        # before the form, so this handler does the plugin's steps with the token in front.
        if state["attempted"]:
            return False
        state["attempted"] = True
        try:
            if token:
                iq = client.Iq()
                iq["type"] = "set"
                iq.append(ET.Element("{urn:xmpp:pars:0}preauth", {"token": token}))
                await iq.send(timeout=10)
                state["preauth"] = "result"
            await client["xep_0077"].get_registration(timeout=10)
            resp = client.Iq()
            resp["type"] = "set"
            resp["register"]["username"] = client.boundjid.user
            resp["register"]["password"] = client.password
            await resp.send(timeout=10)
            state["registered"] = True
            emit({"event": "registered"})
        except IqError as e:
            state["register_error"] = e.iq["error"]["condition"]
            emit({"event": "register_error", "condition": state["register_error"]})
        except IqTimeout:
            state["register_error"] = "timeout"
        finally:
            client._always_send_everything = False
        return False

    async def on_session_start(_event):
        state["session_started"] = True
        emit({"event": "session_start", "jid": str(client.boundjid)})
        if new_password:
            try:
                await client["xep_0077"].change_password(new_password, timeout=10)
                state["password_changed"] = True
            except (IqError, IqTimeout) as e:
                state["password_changed"] = str(e)
        finished()

    # slixmpp 1.8 queues every stanza until the session starts, the registration IQs too (its
    # own xep_0077 form request included, which then never gets an answer): let them through
    # until the registration is over.
    client._always_send_everything = True
    def offer_register(stanza):
        # With FORCE, a server that takes invitation tokens (<register xmlns='urn:xmpp:ibr-token:0'/>,
        # XEP-0445 §3) is tried even when it does not offer open registration. (The plugin's own
        # force_registration does not see slixmpp 1.8's STARTTLS socket as TLS.)
        if force and isinstance(stanza, StreamFeatures) and stanza.xml.find("{urn:xmpp:ibr-token:0}register") is not None:
            stanza.enable("register")
        return stanza

    client.add_filter("in", offer_register)
    client.unregister_feature("register", client["xep_0077"].order)
    client.register_feature("register", register_feature, restart=False, order=client["xep_0077"].order)
    client.add_event_handler("session_start", on_session_start)
    client.add_event_handler("failed_all_auth", finished)
    client.add_event_handler("disconnected", finished)
    client.connect((host, port))
    reason = await finish_when(client, done, deadline)
    ok = state["session_started"] and client.auth_ok
    emit({"result": {"ok": ok, "finished": reason, **state, "auth_ok": client.auth_ok, "features": client.seen_features}})
    await cancel_pending_tasks()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.get_event_loop().run_until_complete(main()))
