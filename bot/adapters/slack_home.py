"""The App Home tab: what briefbot does, and the workspace's feed subscriptions with each channel's digest schedule."""

from __future__ import annotations

import re
from itertools import groupby
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext

from bot.adapters.slack_blocks import SECTION_LIMIT, escape, split_mrkdwn
from bot.adapters.slack_commands import HELP
from bot.service import Service

HOME_BLOCKS = 100  # Slack's limit for a Home tab view
_CHANNEL_ID = re.compile(r"^[A-Z0-9]{2,32}$")


async def publish_home(service: Service, context: AsyncBoltContext, user: str) -> None:
    """Publish the Home tab for `user` (`views.publish`)."""
    blocks = await home_blocks(service, context.team_id or "")
    await context.client.views_publish(user_id=user, view={"type": "home", "blocks": blocks})


async def home_blocks(service: Service, team: str) -> list[dict[str, Any]]:
    """The Home tab's blocks: help, then one section per channel with feeds."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "briefbot"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": HELP, "verbatim": True}},
        {"type": "divider"},
        {"type": "header", "text": {"type": "plain_text", "text": "Subscriptions and digests"}},
    ]
    feeds = await service.workspace_feeds("slack", team)
    if not feeds:
        text = "No channel has subscribed to a feed yet: `/brief subscribe FEED_URL` in a channel adds one."
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": True}})
    for channel, subs in groupby(feeds, key=lambda sub: sub.channel):
        settings = await service.channel_settings(channel)
        name = f"<#{channel.channel}>" if _CHANNEL_ID.match(channel.channel) else escape(channel.channel)
        schedule = (
            f"digest {escape(settings.digest_days)} at {escape(settings.digest_time)} {escape(settings.timezone)}"
        )
        lines = [f"*{name}* · {schedule}"]
        for sub in subs:
            note = f" _(disabled: {escape(sub.disabled_reason)})_" if sub.disabled_reason else ""
            lines.append(f"• {escape(sub.title or sub.feed_url)}{note}")
        for chunk in split_mrkdwn("\n".join(lines), SECTION_LIMIT):
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": chunk, "verbatim": True}})
        if len(blocks) >= HOME_BLOCKS:
            break
    return blocks[:HOME_BLOCKS]
