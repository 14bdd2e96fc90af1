# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The ``chat-import`` command: run, emulator, demo, produce, verify, report.

Settings are read here, once, from the environment (prefix ``CHAT_IMPORT_``) and an optional
``.env`` file, then passed down.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar

import typer
from pydantic import SecretStr, ValidationError
from rich.console import Console
from rich.text import Text

from service.log import configure_logging
from service.settings import Settings, describe_error

if TYPE_CHECKING:
    from faststream import FastStream

T = TypeVar("T")

app = typer.Typer(
    name="chat-import",
    help="Migrate group chats streamed through Kafka into Tencent Cloud Chat or ZEGOCLOUD ZIM.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(stderr=True)


def fail(what: str, reason: str, code: int) -> NoReturn:
    """Print ``what: reason`` as one line on stderr (never wrapped, no markup) and exit."""
    console.print(Text.assemble((f"{what}:", "bold red"), " ", reason), soft_wrap=True)
    raise typer.Exit(code)


def load_settings(*, need_provider: bool) -> Settings:
    """Settings from the environment, or one line naming what is wrong and exit code 2."""
    try:
        settings = Settings()
        if need_provider:
            settings.require_provider_credentials()
    except ValidationError as exc:
        fail("configuration error", describe_error(exc), 2)
    except ValueError as exc:
        fail("configuration error", str(exc), 2)
    return settings


def with_kafka(settings: Settings, work: Callable[[], Awaitable[T]], *, what: str, code: int) -> T:
    """Run ``work`` once Kafka accepts the connection; a Kafka failure is one line and ``code``."""
    from aiokafka.errors import KafkaError  # noqa: PLC0415 - keep CLI start-up light

    from service.errors import KafkaAccessError  # noqa: PLC0415
    from service.messaging.kafka_check import check_kafka, explain  # noqa: PLC0415

    async def checked() -> T:
        await check_kafka(settings.kafka)
        return await work()

    try:
        return asyncio.run(checked())
    except KafkaAccessError as exc:
        fail(what, str(exc), code)
    except KafkaError as exc:
        fail(what, explain(exc, settings.kafka, settings.kafka.bootstrap_servers), code)


UNCONFIGURED_SDK_APP_ID = 1  # the emulator's Tencent side when only ZEGO is configured


def _secrets(settings: Settings) -> list[str]:
    values = [
        settings.tencent.secret_key,
        settings.zego.server_secret,
        settings.kafka.sasl_password,
        settings.kafka.ssl_keyfile_password,
    ]
    return [v.get_secret_value() for v in values if v is not None]


async def _serve(application: FastStream, settings: Settings) -> None:
    """Run the service once Kafka has accepted a connection made as its clients make them."""
    import structlog  # noqa: PLC0415

    from service.messaging.kafka_check import check_kafka  # noqa: PLC0415

    kafka = settings.kafka
    await check_kafka(kafka)
    structlog.get_logger("service.cli").info(
        "kafka accepts the connection",
        bootstrap_servers=kafka.bootstrap_servers,
        security_protocol=kafka.security_protocol.value,
        sasl_mechanism=kafka.sasl_mechanism.value if kafka.sasl_mechanism else None,
        sasl_username=kafka.sasl_username,
    )
    await application.run()


@app.command()
def run() -> None:
    """Run the service: consume, import, publish outcomes, serve /healthz, /readyz, /metrics.

    Exit code 1 with one log line naming the cause and the setting to check when Kafka cannot
    be reached or refuses the TLS or SASL setup, or refuses the idempotent outcome producer.
    """
    settings = load_settings(need_provider=True)
    configure_logging(level=settings.log_level, fmt=settings.log_format, secrets=_secrets(settings))
    import structlog  # noqa: PLC0415 - keep CLI start-up light
    import uvloop  # noqa: PLC0415
    from aiokafka.errors import KafkaError  # noqa: PLC0415

    from service.app import create_app  # noqa: PLC0415
    from service.errors import (  # noqa: PLC0415
        CopartitioningError,
        KafkaAccessError,
        ProducerStartError,
    )
    from service.gc_tuning import tune_for_steady_timing  # noqa: PLC0415
    from service.messaging.kafka_check import explain  # noqa: PLC0415

    log = structlog.get_logger("service.cli")
    try:
        application = create_app(settings)
        tune_for_steady_timing()
        uvloop.run(_serve(application, settings))
    except CopartitioningError as exc:
        log.error("topic layout error", reason=str(exc))  # noqa: TRY400 - one line, no traceback
        raise typer.Exit(2) from None
    except KafkaAccessError as exc:
        log.error("cannot connect to Kafka", reason=str(exc))  # noqa: TRY400 - one line, no traceback
        raise typer.Exit(1) from None
    except ProducerStartError as exc:
        log.error("cannot start the outcome producer", reason=str(exc))  # noqa: TRY400 - one line
        raise typer.Exit(1) from None
    except KafkaError as exc:
        reason = explain(exc, settings.kafka, settings.kafka.bootstrap_servers)
        log.error("Kafka failed", reason=reason)  # noqa: TRY400 - one line, no traceback
        raise typer.Exit(1) from None


@app.command()
def emulator(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0 picks a free one).")] = 8081,
    latency_ms: Annotated[float, typer.Option(help="Mean latency added to each call.")] = 0.0,
    jitter_ms: Annotated[float, typer.Option(help="Latency varies by up to this much.")] = 0.0,
    calls_per_second: Annotated[float, typer.Option(help="App-wide call limit.")] = 200.0,
) -> None:
    """Run a local provider emulator that enforces the documented rules."""
    settings = load_settings(need_provider=True)
    configure_logging(level=settings.log_level, fmt=settings.log_format, secrets=_secrets(settings))
    from service.emulator.config import EmulatorConfig, FaultConfig  # noqa: PLC0415
    from service.emulator.server import run_emulator  # noqa: PLC0415

    tencent = settings.tencent
    zego = settings.zego
    # Each provider's endpoints verify with that provider's credentials. When only ZEGO is
    # configured, the Tencent endpoints get a random key nobody holds: they refuse every call.
    # Without ZEGO credentials the ZIM endpoints answer "authentication failed" (Code 3).
    unknown_key = SecretStr(secrets.token_hex(32))
    run_emulator(
        EmulatorConfig(
            host=host,
            port=port,
            sdk_app_id=tencent.sdk_app_id or UNCONFIGURED_SDK_APP_ID,
            admin_identifier=tencent.admin_identifier,
            secret_key=tencent.secret_key or unknown_key,
            calls_per_second=calls_per_second,
            faults=FaultConfig(latency_ms=latency_ms, jitter_ms=jitter_ms),
            zego_app_id=zego.app_id,
            zego_server_secret=zego.server_secret,
        )
    )


@app.command()
def verify(
    concurrency: Annotated[int, typer.Option(min=1, help="Groups checked at once.")] = 4,
    calls_per_second: Annotated[
        float | None,
        typer.Option(
            min=0.1,
            help="Call budget of the check (default: the app-wide budget; lower it while the "
            "service is importing, which draws on the same budget).",
        ),
    ] = None,
    show: Annotated[int, typer.Option(min=0, help="How many issues to list.")] = 50,
) -> None:
    """Pull each group's history back from the provider and compare it with the outcomes topic.

    Exit code 0 when the provider holds every imported message in order and nothing else, 1 when
    anything is missing, extra, out of order or mismatched, 2 when it cannot check at all.
    """
    settings = load_settings(need_provider=True)
    configure_logging(level=settings.log_level, fmt=settings.log_format, secrets=_secrets(settings))
    from service.errors import ConfigurationError  # noqa: PLC0415
    from service.tools.verify import render as render_verification  # noqa: PLC0415
    from service.tools.verify import verify_outcomes  # noqa: PLC0415

    out = Console()
    try:
        result = with_kafka(
            settings,
            lambda: verify_outcomes(
                settings, console=out, concurrency=concurrency, calls_per_second=calls_per_second
            ),
            what="cannot verify",
            code=2,
        )
    except (ConfigurationError, NotImplementedError) as exc:
        fail("cannot verify", f"{type(exc).__name__}: {exc}", 2)
    render_verification(result, out, limit=show)
    if not result.clean:
        raise typer.Exit(1)


@app.command()
def report(top: Annotated[int, typer.Option(help="How many groups to list.")] = 5) -> None:
    """Summarise the outcomes topic: imported and failed by code, per group."""
    settings = load_settings(need_provider=False)
    from service.tools.report import load_outcomes, render, summarise  # noqa: PLC0415

    outcomes, unreadable = with_kafka(
        settings,
        lambda: load_outcomes(settings.kafka, settings.topics.outcomes),
        what="cannot report",
        code=2,
    )
    summary = summarise(outcomes)
    summary.unreadable = unreadable
    render(summary, Console(), top=top)


@app.command()
def demo() -> None:
    """Run the whole pipeline here: embedded broker, emulator, service, the sample export."""
    provider = load_settings(need_provider=False).provider
    import tempfile  # noqa: PLC0415 - keep CLI start-up light

    import uvloop  # noqa: PLC0415

    from service.settings import ProviderName  # noqa: PLC0415
    from service.tools.demo import run_demo, zego_export  # noqa: PLC0415
    from service.tools.local_stack import LOCAL_SECRET_KEY  # noqa: PLC0415

    configure_logging(level="WARNING", fmt="console", secrets=[LOCAL_SECRET_KEY])
    if provider is ProviderName.ZEGO:
        with tempfile.TemporaryDirectory() as directory:
            export, expected = zego_export(Path(directory))
            Console().print(
                f"provider zego: a {export.stat().st_size:,}-byte export for 20 calls/s"
            )
            result = uvloop.run(
                run_demo(Console(), export_path=export, expectations=expected, provider=provider)
            )
    else:
        result = uvloop.run(run_demo(Console()))
    if not result.passed:
        raise typer.Exit(1)


@app.command()
def produce(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Publish a JSON-lines export to the input topics, keyed by GroupId."""
    settings = load_settings(need_provider=False)
    from service.tools.produce import produce_file  # noqa: PLC0415

    count = with_kafka(
        settings,
        lambda: produce_file(settings, file, console=Console()),
        what="publishing failed",
        code=1,
    )
    Console().print(f"published {count} records")


def main() -> None:
    """Console entry point."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
