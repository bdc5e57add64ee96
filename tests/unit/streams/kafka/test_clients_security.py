"""Kafka security settings: bad combinations fail at start naming the setting, the
password is never echoed, and every client (aiokafka and faust) gets the same arguments."""

from __future__ import annotations

import os
import ssl

import certifi
import pytest

from streams.errors import ConfigError
from streams.kafka import clients as kafka_clients
from streams.settings import KafkaSettings, load

CA = certifi.where()  # any readable PEM bundle of CAs
SECRET = "s3cr3t-Pa55word"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("INFERWATCH_"):
            monkeypatch.delenv(name)


def _set(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for name, value in values.items():
        monkeypatch.setenv(f"INFERWATCH_KAFKA_{name.upper()}", value)


@pytest.mark.parametrize(("values", "named"), [
    ({"security_protocol": "SASL_SSL", "sasl_password": SECRET}, "SASL_USERNAME"),
    ({"security_protocol": "SASL_SSL", "sasl_username": "admin"}, "SASL_PASSWORD"),
    ({"security_protocol": "SASL_PLAINTEXT", "sasl_username": "admin", "sasl_password": ""},
     "SASL_PASSWORD"),
    ({"security_protocol": "SSL", "sasl_username": "admin", "sasl_password": SECRET},
     "SASL_USERNAME"),
    ({"sasl_password": SECRET}, "SASL_PASSWORD"),
    ({"ssl_cafile": CA}, "SSL_CAFILE"),
    ({"security_protocol": "SASL_PLAINTEXT", "sasl_username": "a", "sasl_password": SECRET,
      "ssl_cafile": CA}, "SSL_CAFILE"),
    ({"security_protocol": "SSL", "ssl_keyfile": CA}, "SSL_KEYFILE"),
    ({"security_protocol": "SSL", "ssl_cafile": "/nonexistent/ca.pem"}, "SSL_CAFILE"),
    ({"security_protocol": "TLS"}, "SECURITY_PROTOCOL"),
    ({"security_protocol": "SASL_SSL", "sasl_mechanism": "GSSAPI", "sasl_username": "a",
      "sasl_password": SECRET}, "SASL_MECHANISM"),
    ({"replication_factor": "2", "min_insync_replicas": "3"}, "MIN_INSYNC_REPLICAS"),
])
def test_a_bad_combination_fails_naming_the_setting_never_the_password(
        monkeypatch: pytest.MonkeyPatch, values: dict[str, str], named: str) -> None:
    _set(monkeypatch, **values)
    with pytest.raises(ConfigError) as info:
        load(KafkaSettings)
    assert f"INFERWATCH_KAFKA_{named}" in str(info.value)
    assert SECRET not in str(info.value)


def test_the_password_is_not_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    _set(monkeypatch, security_protocol="SASL_SSL", sasl_username="admin",
         sasl_password=SECRET, ssl_cafile=CA)
    settings = load(KafkaSettings)
    assert SECRET not in repr(settings) and SECRET not in str(settings.model_dump())


def test_sasl_ssl_gives_every_aiokafka_client_tls_and_scram(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _set(monkeypatch, bootstrap="h1:9094,h2:9094", security_protocol="SASL_SSL",
         sasl_username="worker", sasl_password=SECRET, ssl_cafile=CA)
    settings = load(KafkaSettings)
    kwargs = kafka_clients.connection(settings)
    context = kwargs.pop("ssl_context")
    assert kwargs == {"bootstrap_servers": "h1:9094,h2:9094", "security_protocol": "SASL_SSL",
                      "sasl_mechanism": "SCRAM-SHA-512", "sasl_plain_username": "worker",
                      "sasl_plain_password": SECRET}
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname

    # each client factory hands its aiokafka class the same connection arguments
    made: list[dict[str, object]] = []
    for name in ("AIOKafkaConsumer", "AIOKafkaProducer", "AIOKafkaAdminClient"):
        monkeypatch.setattr(kafka_clients, name, lambda *a, **kw: made.append(kw))
    kafka_clients.producer(settings)
    kafka_clients.producer(settings, transactional_id="t")
    kafka_clients.consumer(settings, "group", "topic")
    kafka_clients.reader(settings, "topic")
    kafka_clients.admin(settings)
    assert len(made) == 5
    for kw in made:
        assert kw["ssl_context"].verify_mode == ssl.CERT_REQUIRED  # type: ignore[attr-defined]
        assert {k: kw[k] for k in kwargs} == kwargs


def test_plaintext_adds_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    assert kafka_clients.connection(load(KafkaSettings)) == {
        "bootstrap_servers": "127.0.0.1:9092", "security_protocol": "PLAINTEXT"}


@pytest.mark.parametrize("protocol", ["SASL_SSL", "SASL_PLAINTEXT", "SSL", "PLAINTEXT"])
def test_faust_gets_what_aiokafka_clients_get(monkeypatch: pytest.MonkeyPatch,
                                              protocol: str) -> None:
    from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

    _set(monkeypatch, bootstrap="h1:9094,h2:9095", security_protocol=protocol,
         sasl_mechanism="SCRAM-SHA-256", replication_factor="3")
    if protocol.startswith("SASL"):
        _set(monkeypatch, sasl_username="worker", sasl_password=SECRET)
    if protocol.endswith("SSL"):
        _set(monkeypatch, ssl_cafile=CA)
    settings = load(KafkaSettings)
    options = kafka_clients.faust_options(settings)
    assert options["broker"] == ["kafka://h1:9094", "kafka://h2:9095"]
    assert options["topic_replication_factor"] == 3 and options["producer_acks"] == -1
    faust_kwargs = dict(credentials_to_aiokafka_auth(options["broker_credentials"]))
    ours = kafka_clients.connection(settings)
    del ours["bootstrap_servers"]
    assert (faust_kwargs.pop("ssl_context", None) is None) == (ours.pop("ssl_context", None)
                                                               is None)
    assert faust_kwargs == ours


@pytest.mark.parametrize(("rf", "isr"), [(1, 1), (2, 2), (3, 2), (5, 2)])
def test_min_insync_replicas_defaults_to_two_where_possible(rf: int, isr: int) -> None:
    assert KafkaSettings(replication_factor=rf).min_isr == isr
    assert KafkaSettings(replication_factor=rf, min_insync_replicas=1).min_isr == 1
