"""Tokens kept in the API process: a revocation reaches them, and a lost listener forgets them.

A token is looked up in the store once and then kept. A revocation reaches the kept token
at once on PostgreSQL (a notification) and within a second on SQLite (a counter of revoked
tokens). On PostgreSQL the cache is trusted only while its listener listens: when the
listener's connection drops, every kept token is forgotten, so a revocation it could not
hear of is still refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from services.access.tokens import IssuedToken, create_token, revoke_token
from services.api.app import create_api
from services.settings import Settings
from services.store.access_models import AccessToken
from services.store.database import create_engine, create_schema
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def served(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, sa.Engine]]:
    engine = create_engine(database_url)
    create_schema(engine)
    settings = Settings.from_env(
        {"DATONG_VAR_DIR": str(tmp_path_factory.mktemp("var")), "DATONG_DATABASE_URL": database_url}
    ).with_dev_keys()
    try:
        with TestClient(create_api(settings, engine)) as client:
            yield client, engine
    finally:
        engine.dispose()


def status(client: TestClient, token: IssuedToken) -> int:
    headers = {"Authorization": f"Bearer {token.secret}"}
    return client.get("/views/resident_profile", headers=headers).status_code


def revoke_unannounced(engine: sa.Engine, token: IssuedToken) -> None:
    """Revoke in the store without a notification: as a revocation the listener missed."""
    with engine.begin() as conn:
        conn.execute(
            sa.update(AccessToken)
            .where(AccessToken.id == token.info.id)
            .values(revoked_at=datetime.now(UTC))
        )


def test_a_kept_token_is_refused_once_revoked(served: tuple[TestClient, sa.Engine]) -> None:
    client, engine = served
    token = create_token(engine, audience="health-department")
    assert status(client, token) == 200
    assert status(client, token) == 200  # kept now
    revoke_token(engine, token.info.id)
    wait_for(lambda: status(client, token) == 401, 10, what="the revoked token to be refused")


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_lost_revocation_listener_forgets_every_kept_token(
    served: tuple[TestClient, sa.Engine],
) -> None:
    client, engine = served
    token = create_token(engine, audience="health-department")
    assert status(client, token) == 200
    with engine.connect() as conn:
        listeners = conn.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND query LIKE 'LISTEN%'"
            )
        ).all()
    assert listeners, "the API listens for revocations"
    # Whatever was revoked while nobody listened is not announced again: only forgetting
    # the kept tokens when the connection dropped gets it refused.
    revoke_unannounced(engine, token)
    wait_for(lambda: status(client, token) == 401, 10, what="the token to be looked up again")


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize(
    "path",
    [
        "/views/resident_profile/0123456789abcdef",
        "/views/resident_profile",
        "/export/resident_profile",
        "/views/community_situation/110105001001/history",
        "/catalog",
    ],
)
def test_a_read_on_a_connection_that_died_in_the_pool_is_answered(
    database_url: str, path: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The API's engine does not ping every connection before a read (a round trip each);
    a read that finds its pooled connection dead (the database restarted) tries once more,
    on every read path."""
    engine = create_engine(database_url, pre_ping=False)
    create_schema(engine)
    settings = Settings.from_env(
        {"DATONG_VAR_DIR": str(tmp_path_factory.mktemp("var")), "DATONG_DATABASE_URL": database_url}
    ).with_dev_keys()
    token = create_token(engine, audience="health-department")
    headers = {"Authorization": f"Bearer {token.secret}", "Accept": "application/json"}
    try:
        with TestClient(create_api(settings, engine)) as client:
            assert client.get(path, headers=headers).status_code < 500  # the pool is filled
            killer = create_engine(database_url)
            with killer.connect() as conn:
                conn.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )
            killer.dispose()
            # Answered from the store (a 404 for the made-up key), never a server error.
            assert client.get(path, headers=headers).status_code in (200, 404)
    finally:
        engine.dispose()
