"""People: users, the roles they hold, their personal API tokens (kept as sha256 only)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, exists, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from publisher.errors import InputError, NotFoundError, StateError
from publisher.store.people import UserRecord
from publisher.store.schema import api_tokens, user_roles, users
from publisher.store.sql.core import SqlCore

U = users.c
R = user_roles.c
T = api_tokens.c


def _user(conn: Connection, row: Any) -> UserRecord:
    roles = conn.execute(select(R.role).where(R.user_id == row.id)).scalars().all()
    has_token = conn.execute(select(exists().where(T.user_id == row.id))).scalar_one()
    return UserRecord(
        id=row.id,
        name=row.name,
        roles=frozenset(roles),
        department=row.department,
        disabled=bool(row.disabled),
        password_hash=row.password_hash,
        has_token=bool(has_token),
        created_at=row.created_at,
    )


def _by_name(conn: Connection, name: str, *, lock: bool = False) -> Any:
    query = select(users).where(U.name == name)
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFoundError(f"没有用户 {name}")
    return row


class UsersMixin(SqlCore):
    """Users and tokens (``UserStore`` in ``publisher/store/base.py``)."""

    async def add_user(
        self,
        name: str,
        roles: Iterable[str],
        department: str | None = None,
        password_hash: str | None = None,
    ) -> UserRecord:
        """Create a user holding ``roles`` (at least one), enabled, in one transaction.
        Raises InputError when the name is taken (also when two adds race)."""
        held = sorted(set(roles))
        if not held:
            raise InputError("用户至少要有一个角色")
        row = dict(
            name=name,
            department=department,
            disabled=False,
            password_hash=password_hash,
            created_at=self.clock.now(),
        )

        def _run(conn: Connection) -> UserRecord:
            user_id = conn.execute(insert(users).values(row).returning(U.id)).scalar_one()
            conn.execute(insert(user_roles), [dict(user_id=user_id, role=r) for r in held])
            return _user(conn, _by_name(conn, name))

        try:
            return await self._tx(_run)
        except IntegrityError:
            raise InputError(f"用户 {name} 已存在") from None

    async def get_user(self, name: str) -> UserRecord:
        """One user, enabled or not. Raises NotFoundError."""
        return await self._read(lambda conn: _user(conn, _by_name(conn, name)))

    async def list_users(self) -> list[UserRecord]:
        """Every user, disabled ones too, by name."""

        def _run(conn: Connection) -> list[UserRecord]:
            rows = conn.execute(select(users).order_by(U.name)).all()
            return [_user(conn, r) for r in rows]

        return await self._read(_run)

    async def has_users(self) -> bool:
        """Whether any user exists (disabled ones count: users are never deleted)."""

        def _run(conn: Connection) -> bool:
            return conn.execute(select(exists().select_from(users))).scalar_one() is True

        return await self._read(_run)

    async def disable_user(self, name: str) -> UserRecord:
        """The user may no longer act: its token and password stop working. Idempotent.
        Raises NotFoundError."""

        def _run(conn: Connection) -> UserRecord:
            found = _by_name(conn, name, lock=True)
            conn.execute(update(users).where(U.id == found.id).values(disabled=True))
            return _user(conn, _by_name(conn, name))

        return await self._tx(_run)

    async def set_password(self, name: str, password_hash: str) -> UserRecord:
        """Replace the user's console password. Raises NotFoundError, or StateError for a
        disabled user."""

        def _run(conn: Connection) -> UserRecord:
            found = _by_name(conn, name, lock=True)
            if found.disabled:
                raise StateError(f"用户 {name} 已停用")
            conn.execute(update(users).where(U.id == found.id).values(password_hash=password_hash))
            return _user(conn, _by_name(conn, name))

        return await self._tx(_run)

    async def replace_token(self, name: str, token_hash: str) -> UserRecord:
        """Make ``token_hash`` the user's one personal API token; earlier tokens stop working,
        in the same transaction. Raises NotFoundError, or StateError for a disabled user."""
        now = self.clock.now()

        def _run(conn: Connection) -> UserRecord:
            found = _by_name(conn, name, lock=True)
            if found.disabled:
                raise StateError(f"用户 {name} 已停用，不能发放令牌")
            conn.execute(delete(api_tokens).where(T.user_id == found.id))
            conn.execute(
                insert(api_tokens).values(token_hash=token_hash, user_id=found.id, created_at=now)
            )
            return _user(conn, found)

        return await self._tx(_run)

    async def user_by_token(self, token_hash: str) -> UserRecord | None:
        """The user whose current token has this hash, enabled or not; None for no such token."""

        def _run(conn: Connection) -> UserRecord | None:
            row = conn.execute(
                select(users).join(api_tokens, T.user_id == U.id).where(T.token_hash == token_hash)
            ).first()
            return None if row is None else _user(conn, row)

        return await self._read(_run)
