# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Building the configured provider adapter (the one place that knows every provider)."""

from __future__ import annotations

import httpx

from service.providers.base import ChatProvider
from service.providers.tencent import TencentProvider
from service.providers.tencent_sig import UserSigCache
from service.providers.zego import ZegoProvider
from service.settings import ProviderName, Settings


def build_provider(settings: Settings, client: httpx.AsyncClient) -> ChatProvider:
    """The adapter for ``settings.provider``, sharing ``client``."""
    if settings.provider is ProviderName.TENCENT:
        tencent = settings.tencent
        assert tencent.sdk_app_id is not None  # noqa: S101 - checked by Settings
        assert tencent.secret_key is not None  # noqa: S101
        return TencentProvider(
            client,
            base_url=tencent.base_url,
            sdk_app_id=tencent.sdk_app_id,
            admin_identifier=tencent.admin_identifier,
            user_sig=UserSigCache(
                sdk_app_id=tencent.sdk_app_id,
                identifier=tencent.admin_identifier,
                secret_key=tencent.secret_key.get_secret_value(),
                expire=tencent.user_sig_expire_seconds,
            ),
            message_size_limit=tencent.message_size_limit,
            members_per_call=tencent.members_per_call,
            recent_contact_flag=tencent.recent_contact_flag,
        )
    if settings.provider is ProviderName.ZEGO:
        zego = settings.zego
        assert zego.app_id is not None  # noqa: S101 - checked by Settings
        assert zego.server_secret is not None  # noqa: S101
        return ZegoProvider(
            client,
            base_url=zego.base_url,
            app_id=zego.app_id,
            server_secret=zego.server_secret.get_secret_value(),
            retention_days=zego.retention_days,
        )
    msg = f"provider {settings.provider.value} is not supported yet"
    raise NotImplementedError(msg)
