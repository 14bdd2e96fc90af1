# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""A strict local emulator of the Tencent Cloud Chat REST endpoints the service calls.

``config`` (settings), ``rules`` (documented codes and limits), ``validation`` (request bodies),
``store`` (groups and messages, pure), ``commands`` (the APIs without HTTP), ``auth``,
``ratelimit``, ``faults``, ``stats``, ``rest`` and ``inspection`` (the HTTP edges), ``app``
(``create_emulator_app``) and ``server`` (``EmulatorServer``, ``run_emulator``).
"""
