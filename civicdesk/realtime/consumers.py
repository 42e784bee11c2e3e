"""WebSocket endpoint of the agent workspace: staff receive live-update events."""

from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from civicdesk.realtime.publish import WORKSPACE_GROUP, user_group
from civicdesk.realtime.relay import relay

UNAUTHORISED = 4401


class WorkspaceConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            await self.close(code=UNAUTHORISED)
            return
        # The workspace group carries case events; the personal group, messages for this user.
        self.groups_joined = [WORKSPACE_GROUP, user_group(user.pk)]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        if settings.REALTIME_BACKEND == "database":
            relay.ensure_running()
        await self.accept()
        await self.send_json({"kind": "hello", "data": {"user_id": user.pk}})

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def realtime_event(self, message: dict[str, Any]) -> None:
        await self.send_json(message["event"])
