"""The framework floor for Teams: the stock botbuilder CloudAdapter echo bot, served by aiohttp.

Exactly the SDK's sample shape: `ConfigurationBotFrameworkAuthentication`, `CloudAdapter`, an
`ActivityHandler` that echoes, and `adapter.process(request, bot)`. No app id, so no auth (as
our server runs here). Run as a script by benchmarks/turn_latency.py:
    python benchmarks/echo_teams.py   (ECHO_PORT in the environment)
"""

from __future__ import annotations

import os
from types import SimpleNamespace

from aiohttp import web
from botbuilder.core import ActivityHandler, MessageFactory, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication

CONFIG = SimpleNamespace(APP_ID="", APP_PASSWORD="", APP_TYPE="MultiTenant", APP_TENANTID="")


class EchoBot(ActivityHandler):  # type: ignore[misc]
    async def on_message_activity(self, turn_context: TurnContext) -> None:
        await turn_context.send_activity(MessageFactory.text(turn_context.activity.text or ""))


def build() -> web.Application:
    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(CONFIG))
    bot = EchoBot()

    async def messages(request: web.Request) -> web.Response:
        response: web.Response = await adapter.process(request, bot)
        return response

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_post("/api/messages", messages)
    app.router.add_get("/healthz", healthz)
    return app


if __name__ == "__main__":
    web.run_app(
        build(), host="127.0.0.1", port=int(os.environ["ECHO_PORT"]), print=None, access_log=None
    )
