"""The workers' Kafka clients (aiokafka, faust) get the cluster's TLS and SASL/SCRAM settings.

No broker here asks for TLS or SCRAM (deploy/README.md says what was tried), so these tests
hold the translation itself: the options the clients are built with, and that they accept
them."""

from __future__ import annotations

import asyncio
import datetime
import ssl
from pathlib import Path

import faust
import pytest
from aiokafka import AIOKafkaProducer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from services.merge.app import _credentials, aiokafka_security
from services.settings import Settings


def _ca_file(folder: Path) -> Path:
    """A self-signed CA certificate, as a cluster operator hands its CA to the hub."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "datong-cluster-ca")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = folder / "ca.crt"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def _settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env({"DATONG_VAR_DIR": str(tmp_path), **env})


@pytest.fixture
def sasl_ssl(tmp_path: Path) -> Settings:
    return _settings(
        tmp_path,
        DATONG_KAFKA_BOOTSTRAP="kafka.example.org:9093",
        DATONG_KAFKA_SECURITY_PROTOCOL="SASL_SSL",
        DATONG_KAFKA_SASL_MECHANISM="SCRAM-SHA-512",
        DATONG_KAFKA_SASL_USERNAME="datong-worker",
        DATONG_KAFKA_SASL_PASSWORD="s3cret",
        DATONG_KAFKA_SSL_CAFILE=str(_ca_file(tmp_path)),
    )


def test_aiokafka_gets_scram_and_a_context_that_verifies_the_brokers_against_the_given_ca(
    sasl_ssl: Settings,
) -> None:
    options = aiokafka_security(sasl_ssl)
    context = options.pop("ssl_context")
    assert options == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "datong-worker",
        "sasl_plain_password": "s3cret",
    }
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    subjects = [str(ca["subject"]) for ca in context.get_ca_certs()]
    assert subjects == [str(((("commonName", "datong-cluster-ca"),),))]


def test_aiokafka_accepts_the_options_it_is_given(sasl_ssl: Settings) -> None:
    async def build() -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=sasl_ssl.bootstrap, **aiokafka_security(sasl_ssl)
        )
        assert (
            producer.client._security_protocol == "SASL_SSL"
        )  # aiokafka has no public view of them
        assert producer.client._sasl_mechanism == "SCRAM-SHA-512"
        await producer.stop()  # never started: nothing to reach, only its resources to free

    asyncio.run(build())


def test_faust_gets_sasl_credentials_with_the_tls_context(sasl_ssl: Settings) -> None:
    credentials = _credentials(sasl_ssl)
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.mechanism.value == "SCRAM-SHA-512"
    assert (credentials.username, credentials.password) == ("datong-worker", "s3cret")
    assert isinstance(credentials.ssl_context, ssl.SSLContext)
    assert credentials.ssl_context.verify_mode == ssl.CERT_REQUIRED


def test_tls_without_sasl_gives_faust_ssl_credentials_only(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path,
        DATONG_KAFKA_BOOTSTRAP="kafka.example.org:9093",
        DATONG_KAFKA_SECURITY_PROTOCOL="SSL",
        DATONG_KAFKA_SSL_CAFILE=str(_ca_file(tmp_path)),
    )
    assert isinstance(_credentials(settings), faust.SSLCredentials)
    assert set(aiokafka_security(settings)) == {"security_protocol", "ssl_context"}


def test_a_plaintext_cluster_gives_the_workers_no_credentials(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    assert _credentials(settings) is None
    assert aiokafka_security(settings) == {}
