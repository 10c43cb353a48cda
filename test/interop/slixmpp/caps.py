"""Logs in with slixmpp and lets its XEP-0115 plugin handle the server's <c/> stream feature:
slixmpp asks disco#info for NODE#VER, recomputes the verification string itself and assigns
it to the server's JID only when it matches. Reports what slixmpp concluded.

Environment: WARDEN_HOST, WARDEN_PORT, XMPP_JID (bare), XMPP_PASSWORD, DEADLINE (seconds).
Prints {"result": {...}} and exits 0 when slixmpp accepted the server's caps, 1 otherwise.
"""
import asyncio
import sys

from common import RecordingClient, cancel_pending_tasks, emit, env, finish_when, setup_logging


async def main():
    setup_logging()
    host = env("WARDEN_HOST", "127.0.0.1")
    port = int(env("WARDEN_PORT"))
    deadline = float(env("DEADLINE", "20"))
    client = RecordingClient(env("XMPP_JID") + "/slix-caps", env("XMPP_PASSWORD"))
    for plugin in ("xep_0030", "xep_0004", "xep_0115"):
        client.register_plugin(plugin)
    done = asyncio.get_event_loop().create_future()
    state = {"assigned": None, "recomputed": None, "features": []}

    async def on_session_start(_event):
        domain = client.boundjid.domain
        # The plugin validates in the background after the stream features: wait for its verdict.
        for _ in range(int(deadline * 10)):
            ver = await client["xep_0115"].get_verstring(domain)
            if ver:
                state["assigned"] = str(ver)
                break
            await asyncio.sleep(0.1)
        if state["assigned"]:
            info = await client["xep_0115"].get_caps(jid=domain)
            state["features"] = sorted(info["features"]) if info is not None else []
            state["recomputed"] = client["xep_0115"].generate_verstring(info, "sha-1") if info is not None else None
        if not done.done():
            done.set_result(True)

    def finished(_event=None):
        if not done.done():
            done.set_result(True)

    client.add_event_handler("session_start", on_session_start)
    client.add_event_handler("failed_all_auth", finished)
    client.add_event_handler("disconnected", finished)
    client.connect((host, port))
    reason = await finish_when(client, done, deadline)
    ok = state["assigned"] is not None
    emit({"result": {"ok": ok, "finished": reason, **state}})
    await cancel_pending_tasks()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.get_event_loop().run_until_complete(main()))
