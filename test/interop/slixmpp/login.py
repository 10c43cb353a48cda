"""Logs in with slixmpp's default settings (STARTTLS, SASL as slixmpp chooses it), binds,
starts the session and disconnects, reporting the SASL exchange.

Environment: WARDEN_HOST, WARDEN_PORT, XMPP_JID (bare), XMPP_PASSWORD, DEADLINE (seconds).
Prints {"result": {...}} and exits 0 when the session started, 1 otherwise.
"""
import asyncio
import sys

from common import RecordingClient, cancel_pending_tasks, emit, env, finish_when, setup_logging


async def main():
    setup_logging()
    host = env("WARDEN_HOST", "127.0.0.1")
    port = int(env("WARDEN_PORT"))
    deadline = float(env("DEADLINE", "20"))
    client = RecordingClient(env("XMPP_JID") + "/slix-login", env("XMPP_PASSWORD"))
    done = asyncio.get_event_loop().create_future()
    state = {"session_started": False}

    def finished(_event=None):
        if not done.done():
            done.set_result(True)

    async def on_session_start(_event):
        state["session_started"] = True
        emit({"event": "session_start", "jid": str(client.boundjid)})
        finished()

    client.add_event_handler("session_start", on_session_start)
    client.add_event_handler("failed_all_auth", finished)
    client.add_event_handler("disconnected", finished)
    client.connect((host, port))
    reason = await finish_when(client, done, deadline)
    report = client.login_report()
    ok = state["session_started"] and client.auth_ok
    emit({"result": {"ok": ok, "finished": reason, "session_started": state["session_started"], **report}})
    await cancel_pending_tasks()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.get_event_loop().run_until_complete(main()))
