"""Scale-out: two `briefbot run` processes on one PostgreSQL database behind one (fake) Slack post every briefing and
every digest exactly once.

Slack delivers an event to one replica behind the load balancer and its retry, or the `app_mention` twin of the same
message, to another; both replicas run the same digest schedule (APScheduler's job store is per process). The
database decides: processed-event rows and the (channel, period) digest claim have one winner.

The replicas are real child processes started like a service manager would (`python -m bot run` with BRIEFBOT_*
variables) and stopped with SIGTERM. A graceful stop finishes every briefing in progress, so once both have exited,
every post that was ever going to happen has happened: counting then proves "exactly once" without waiting on time.
"""

# ruff: noqa: F811  (pytest fixtures imported from run_support are injected by parameter name)

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
from fake_slack import FakeSlack
from run_support import (
    Replica,
    briefing_updates,
    child_environment,
    deliver,
    digest_posts,
    digest_runs,
    free_port,
    fresh_postgres,  # noqa: F401
    local_site,
    mention,
    run_settings,
    seed_a_due_digest,
    site_url,
)

from bot.config import Settings


async def test_two_replicas_post_each_briefing_and_each_digest_once(fresh_postgres: str, tmp_path: Path) -> None:
    site = await local_site()
    async with FakeSlack() as fake, aiohttp.ClientSession() as http:
        values = run_settings(fake, site, tmp_path / "data", database_url=fresh_postgres, digest_sweep_minutes=0)
        await seed_a_due_digest(
            fresh_postgres, Settings(**values), site_url(site, "/night-bus"), site_url(site, "/feed.xml")
        )
        replicas: list[Replica] = []
        try:
            for name in ("replica-a", "replica-b"):
                env = child_environment(values | {"health_port": free_port()})  # each its own health port
                replicas.append(await Replica.start(name, env, tmp_path))
            await asyncio.gather(*(replica.ready() for replica in replicas))
            a, b = (replica.ports["slack"] for replica in replicas)

            # Both start with a catch-up sweep, then sweep every second (BRIEFBOT_DIGEST_SWEEP_MINUTES=0).
            await fake.wait_for(lambda f: len(digest_posts(f)) >= 1, timeout=60)

            link = site_url(site, "/library")
            event, twin = mention(link, "1700000000.000900"), mention(link, "1700000000.000900", kind="app_mention")
            statuses = await asyncio.gather(
                deliver(http, a, event, event_id="EvR"),  # the first delivery, to one replica...
                deliver(http, b, event, event_id="EvR", retry=1),  # ...Slack's retry, to the other
                deliver(http, b, event, event_id="EvR"),  # a replay of the first
                deliver(http, a, twin, event_id="EvR-twin"),  # the app_mention of the same message
            )
            assert statuses == [200, 200, 200, 200]
            await fake.wait_for(lambda f: len(briefing_updates(f)) >= 1, timeout=60)
            await asyncio.sleep(2)  # a couple more sweeps on each replica: more chances to post the digest twice
            codes = await asyncio.gather(*(replica.stop() for replica in replicas))
        finally:
            for replica in replicas:
                replica.kill()
            await site.close()

    logs = "\n\n".join(f"--- {r.name}\n{r.log()}" for r in replicas)
    assert codes == [0, 0], logs  # SIGTERM is a clean stop
    for replica in replicas:
        assert not [line for line in replica.lines if " ERROR " in line or "Traceback" in line], logs
        assert "stopped" in replica.lines[-1], logs

    placeholders = [c for c in fake.called("chat.postMessage") if c.params.get("thread_ts") == "1700000000.000900"]
    assert len(placeholders) == 1, logs
    (update,) = briefing_updates(fake)
    assert update.params["ts"] == placeholders[0].response["ts"] and "Eastgate" in update.params["text"]

    (digest,) = digest_posts(fake)
    assert digest.params["channel"] == "C1" and "Millbrook" in str(digest.params["blocks"])
    assert await digest_runs(fresh_postgres) == [("C1", "posted", False, digest.response["ts"])]
    assert len(fake.called("auth.test")) == 2  # one start-up check per replica
