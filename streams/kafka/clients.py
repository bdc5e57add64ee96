"""aiokafka and faust clients configured for inferwatch's guarantees and security.

The one place where :class:`~streams.settings.KafkaSettings` become client arguments:
:func:`connection` (brokers, TLS, SASL) for every aiokafka client, :func:`faust_options`
for the faust app. aiokafka defaults to acks=1 without idempotence and to auto-commit;
every client here sets what losing nothing needs: idempotent (or transactional)
producers with acks=all, manual commits, read_committed consumers, and fetch sizes that
admit the records we dead-letter for being too large. :func:`check_access` connects
once at start and says in one line why the brokers refuse us, without the password.
"""

from __future__ import annotations

import contextlib
import ssl
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.conn import create_conn
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaError,
    SaslAuthenticationFailed,
    TopicAlreadyExistsError,
)
from aiokafka.helpers import create_ssl_context

from streams.errors import KafkaAccessError
from streams.settings import KafkaSettings
from streams.wire.topics import Topics

_FETCH_BYTES = 32 * 1024 * 1024
_ENV = "INFERWATCH_KAFKA_"


def connection(settings: KafkaSettings) -> dict[str, Any]:
    """The arguments every aiokafka client needs to reach and authenticate to the brokers."""
    kwargs: dict[str, Any] = {"bootstrap_servers": settings.bootstrap,
                              "security_protocol": settings.security_protocol}
    if settings.security_protocol in ("SSL", "SASL_SSL"):
        kwargs["ssl_context"] = _ssl_context(settings)
    if settings.security_protocol.startswith("SASL_"):
        assert settings.sasl_password is not None  # the settings' own check
        kwargs.update(sasl_mechanism=settings.sasl_mechanism,
                      sasl_plain_username=settings.sasl_username,
                      sasl_plain_password=settings.sasl_password.get_secret_value())
    return kwargs


def _ssl_context(settings: KafkaSettings) -> ssl.SSLContext:
    # aiokafka's context verifies the broker's certificate and host name
    return create_ssl_context(
        cafile=str(settings.ssl_cafile) if settings.ssl_cafile else None,
        certfile=str(settings.ssl_certfile) if settings.ssl_certfile else None,
        keyfile=str(settings.ssl_keyfile) if settings.ssl_keyfile else None)


def faust_options(settings: KafkaSettings) -> dict[str, Any]:
    """faust.App arguments: the brokers, the same TLS and SASL, and acks=all."""
    import faust

    credentials: Any = None
    if settings.security_protocol.startswith("SASL_"):
        assert settings.sasl_password is not None
        credentials = faust.SASLCredentials(
            username=settings.sasl_username, password=settings.sasl_password.get_secret_value(),
            mechanism=settings.sasl_mechanism,
            ssl_context=(_ssl_context(settings) if settings.security_protocol == "SASL_SSL"
                         else None))
    elif settings.security_protocol == "SSL":
        credentials = faust.SSLCredentials(_ssl_context(settings))
    return {"broker": [f"kafka://{host.strip()}" for host in settings.bootstrap.split(",")],
            "broker_credentials": credentials, "producer_acks": -1,
            "topic_replication_factor": settings.replication_factor}


def consumer(settings: KafkaSettings, group_id: str, *topics: str) -> AIOKafkaConsumer:
    """A manual-commit, read_committed consumer of ``topics`` in ``group_id``."""
    return AIOKafkaConsumer(
        *topics,
        **connection(settings),
        group_id=group_id,
        # names the worker in the group's member ids (and kafka-consumer-groups.sh); the
        # range assignor hands partitions out in member-id order
        client_id=f"{group_id}-{settings.worker_id}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        max_partition_fetch_bytes=_FETCH_BYTES,
        fetch_max_bytes=_FETCH_BYTES,
        session_timeout_ms=settings.session_timeout_ms,
        heartbeat_interval_ms=max(settings.session_timeout_ms // 4, 500),
        max_poll_interval_ms=600_000,
        # range assignment gives one member the same partition of every topic it reads:
        # predictions and outcomes keyed by request id meet in the same join
        partition_assignment_strategy=(RangePartitionAssignor,),
    )


def reader(settings: KafkaSettings, *topics: str, from_start: bool = True) -> AIOKafkaConsumer:
    """A read_committed consumer outside any group (state topics, followers)."""
    return AIOKafkaConsumer(*topics, **connection(settings), enable_auto_commit=False,
                            isolation_level="read_committed",
                            auto_offset_reset="earliest" if from_start else "latest",
                            max_partition_fetch_bytes=_FETCH_BYTES, fetch_max_bytes=_FETCH_BYTES)


def producer(settings: KafkaSettings, transactional_id: str | None = None) -> AIOKafkaProducer:
    """An idempotent acks=all producer; transactional when ``transactional_id`` is given."""
    return AIOKafkaProducer(
        **connection(settings),
        acks="all",
        enable_idempotence=True,
        transactional_id=transactional_id,
        max_request_size=_FETCH_BYTES // 2,
        linger_ms=5,
        max_batch_size=1024 * 1024,
        compression_type=None,
    )


def admin(settings: KafkaSettings, request_timeout_ms: int = 40_000) -> AIOKafkaAdminClient:
    """An admin client (topics, metadata)."""
    return AIOKafkaAdminClient(**connection(settings), request_timeout_ms=request_timeout_ms)


async def check_access(settings: KafkaSettings, timeout_ms: int = 10_000) -> None:
    """Connect as every client will; raise :class:`KafkaAccessError` saying why not."""
    client = admin(settings, request_timeout_ms=timeout_ms)
    try:
        await client.start()
        await client.list_topics()
        return
    except KafkaError:
        pass  # aiokafka only says "unable to bootstrap"; find out why below
    finally:
        await client.close()
    raise await _diagnose(settings, timeout_ms)


async def _diagnose(settings: KafkaSettings, timeout_ms: int) -> KafkaAccessError:
    kwargs = connection(settings)
    kwargs.pop("bootstrap_servers")
    where = f"{_ENV}BOOTSTRAP={settings.bootstrap}"
    protocol = f"{_ENV}SECURITY_PROTOCOL={settings.security_protocol}"
    for server in settings.bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            conn = await create_conn(host, int(port), request_timeout_ms=timeout_ms, **kwargs)
        except SaslAuthenticationFailed:
            return KafkaAccessError(
                f"Kafka at {server} refused the credentials of {_ENV}SASL_USERNAME="
                f"{settings.sasl_username!r} ({settings.sasl_mechanism}): check "
                f"{_ENV}SASL_PASSWORD and {_ENV}SASL_MECHANISM", retriable=False)
        except ssl.SSLCertVerificationError as exc:
            return KafkaAccessError(
                f"the certificate of Kafka at {server} is not trusted ({exc.verify_message}): "
                f"check {_ENV}SSL_CAFILE", retriable=False)
        except (ssl.SSLError, ConnectionResetError) as exc:
            return KafkaAccessError(
                f"TLS with Kafka at {server} failed ({type(exc).__name__}): check "
                f"{protocol} against the listener's", retriable=False)
        except KafkaConnectionError:
            # it answered, then hung up in the handshake: it speaks another protocol
            return KafkaAccessError(
                f"Kafka at {server} closed the connection during the handshake: check "
                f"{protocol} against the broker's listener", retriable=False)
        except (OSError, KafkaError):
            continue  # this one is down; try the next
        else:
            conn.close()
            # the handshake went through, yet the broker hung up on the first request:
            # its listener wants more than this client did (often SASL)
            return KafkaAccessError(
                f"Kafka at {server} accepted the connection but refused its requests: "
                f"check {protocol} (the listener may require SASL_SSL) and the "
                f"{_ENV}SASL_* settings", retriable=False)
    return KafkaAccessError(f"no Kafka broker answers at {where} ({protocol}); is it up?",
                            retriable=True)


async def create_topics(settings: KafkaSettings) -> list[str]:
    """Create every inferwatch topic that does not exist yet; return the names created.

    Each gets ``replication_factor`` replicas and ``min.insync.replicas`` of
    :attr:`~streams.settings.KafkaSettings.min_isr`: with acks=all, a write is
    acknowledged only once that many replicas hold it.
    """
    client = admin(settings)
    await client.start()
    try:
        existing = set(await client.list_topics())
        isr = (("min.insync.replicas", str(settings.min_isr)),)
        new = [
            NewTopic(name, spec.partitions, settings.replication_factor,
                     topic_configs=dict(spec.configs + isr))
            for name, spec in Topics(settings.topic_prefix, settings.dead_letter_retention_ms
                                     ).specs() if name not in existing
        ]
        if new:
            # a concurrent worker may create it first; that is the wanted state
            with contextlib.suppress(TopicAlreadyExistsError):
                await client.create_topics(new)
        return [t.name for t in new]
    finally:
        await client.close()
