"""The one SQLAlchemy metadata every capability's tables belong to (what Alembic sees)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, MetaData
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names, so migrations and error handling can refer to them.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# A surrogate key: BIGINT on PostgreSQL; INTEGER (the rowid alias) on SQLite, which is
# 64-bit anyway.
Id = BigInteger().with_variant(Integer(), "sqlite")
