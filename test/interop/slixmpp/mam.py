"""slixmpp's XEP-0313 plugin as a second device that logs in later and syncs the whole history:
it asks the archive for its query form, then pages forward through the whole archive with
RSM (iterate, pages of PAGE), and reports every message it got: the archive id, the message's
id, from, body and the delay stamp.

Environment: WARDEN_HOST, WARDEN_PORT, XMPP_JID (bare), XMPP_PASSWORD, PAGE, DEADLINE.
Prints {"result": {...}}; exits 0 when the sync finished.
"""
import asyncio
import sys

from common import RecordingClient, cancel_pending_tasks, emit, env, finish_when, setup_logging


async def main():
    setup_logging()
    host = env("WARDEN_HOST", "127.0.0.1")
    port = int(env("WARDEN_PORT"))
    page = int(env("PAGE", "7"))
    deadline = float(env("DEADLINE", "40"))
    client = RecordingClient(env("XMPP_JID") + "/second-device", env("XMPP_PASSWORD"))
    client.register_plugin("xep_0030")
    client.register_plugin("xep_0059")
    client.register_plugin("xep_0313")
    loop = asyncio.get_event_loop()
    done = loop.create_future()
    state = {"session_started": False, "fields": [], "messages": [], "pages": 0, "error": None}

    def on_disconnected(_event=None):
        if not done.done():
            done.set_result(False)

    async def on_session_start(_event):
        state["session_started"] = True
        try:
            info = await client["xep_0030"].get_info(jid=client.boundjid.bare, timeout=10)
            state["features"] = sorted(info["disco_info"]["features"])
            form = await client["xep_0313"].get_fields(timeout=10)
            fields = form["fields"]
            fields = fields.values() if hasattr(fields, "values") else fields
            state["fields"] = [f if isinstance(f, str) else f["var"] for f in fields]
            async for msg in client["xep_0313"].iterate(rsm={"max": page}):
                result = msg["mam_result"]
                fwd = result["forwarded"]
                inner = fwd["stanza"]
                state["messages"].append({
                    "archive_id": result["id"],
                    "id": inner["id"],
                    "from": str(inner["from"]),
                    "body": inner["body"],
                    "stamp": fwd["delay"]["stamp"].isoformat() if fwd["delay"]["stamp"] else None,
                })
            if not done.done():
                done.set_result(True)
        except Exception as exc:
            state["error"] = repr(exc)
            if not done.done():
                done.set_result(False)

    client.add_event_handler("session_start", on_session_start)
    client.add_event_handler("failed_all_auth", on_disconnected)
    client.add_event_handler("disconnected", on_disconnected)
    client.connect((host, port))
    reason = await finish_when(client, done, deadline)
    ok = reason == "done" and done.result() and state["error"] is None
    emit({"result": {"ok": bool(ok), "finished": reason, **state}})
    await cancel_pending_tasks()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.get_event_loop().run_until_complete(main()))
