"""Unit of work over one SQLAlchemy session: one per request or message, never shared."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.orm import Session, sessionmaker

from zhifa.adapters.db.accounts import SqlApiKeys, SqlNonces, SqlSessions, SqlUnits, SqlUsers
from zhifa.adapters.db.audit import SqlAuditLog
from zhifa.adapters.db.engine import Engines
from zhifa.adapters.db.repositories import (
    SqlAlerts,
    SqlCases,
    SqlDocuments,
    SqlEnterprises,
    SqlJurisdictions,
    SqlNumberSequences,
    SqlSites,
    SqlTerminals,
    SqlVehicles,
    SqlWeighings,
)


class SqlUnitOfWork:
    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._session_factory = session_factory

    def __enter__(self) -> Self:
        self.session = self._session_factory()
        self.jurisdictions = SqlJurisdictions(self.session)
        self.sites = SqlSites(self.session)
        self.vehicles = SqlVehicles(self.session)
        self.enterprises = SqlEnterprises(self.session)
        self.terminals = SqlTerminals(self.session)
        self.weighings = SqlWeighings(self.session)
        self.alerts = SqlAlerts(self.session)
        self.cases = SqlCases(self.session)
        self.documents = SqlDocuments(self.session)
        self.sequences = SqlNumberSequences(self.session)
        self.audit = SqlAuditLog(self.session)
        self.units = SqlUnits(self.session)
        self.users = SqlUsers(self.session)
        self.sessions = SqlSessions(self.session)
        self.api_keys = SqlApiKeys(self.session)
        self.nonces = SqlNonces(self.session)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.session.rollback()  # a no-op after commit
        self.session.close()

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()


class SqlUnitOfWorkFactory:
    def __init__(self, engines: Engines) -> None:
        self._sessions = sessionmaker(bind=engines.write, expire_on_commit=False)

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._sessions)
