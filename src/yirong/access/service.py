"""Signing in, tokens, API keys and the audit log: the use cases behind
``/api/v1/auth``, ``/api/v1/api-keys`` and ``/api/v1/audit``.

People sign in (agents', funders' staff, operators); systems hold API keys: a
funder's, and a supplier's, whose key is its only credential (suppliers have no
sign-in and no console).

Times here are the wall clock (UTC): token expiry and login throttling are security,
not money, and never touch the business date."""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update

from yirong.access import recent, secrets, throttle
from yirong.access.principals import Principal
from yirong.access.tables import ApiKey, AuditRecord, RequestNonce, SessionToken, User
from yirong.agents.tables import Agent
from yirong.config import settings
from yirong.errors import YirongError
from yirong.funders.tables import Funder
from yirong.infra.db import Database, Tx, insert_new, per_dialect, read_only, transactional
from yirong.infra.direct import send
from yirong.roles import SIGN_IN_ROLES, Role

SESSION_HOURS = 8
ROTATION_OVERLAP = timedelta(hours=24)  # the old key keeps working while the funder switches
MAX_KEY_DAYS = 366  # a key asked for longer is refused: keys are meant to be rotated
MIN_PASSWORD_LENGTH = 12
_USERNAME = re.compile(r"^[A-Za-z0-9._-]{3,64}$")


def now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite hands datetimes back without their zone; they were stored in UTC."""
    return moment.replace(tzinfo=UTC) if moment and moment.tzinfo is None else moment


@dataclass(frozen=True, slots=True)
class UserView:
    id: int
    username: str
    role: Role
    subject: str


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    token_type: str
    expires_at: datetime
    role: Role
    subject: str


@dataclass(frozen=True, slots=True)
class ApiKeyView:
    id: int
    prefix: str
    role: Role
    subject: str
    label: str
    created_at: datetime
    expires_at: datetime | None
    revoked: bool


@dataclass(frozen=True, slots=True)
class IssuedApiKey:
    key: str  # shown once; only its hash is kept
    # Signs the key's money-moving calls (docs/request-signing.md); shown once too.
    signing_secret: str
    details: ApiKeyView


@dataclass(frozen=True, slots=True)
class AuditView:
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    status: int
    request_id: str
    username: str | None  # the person signed in; None for a funder system's key
    credential: str  # session:12 | api_key:3
    detail: str | None  # what the action made, e.g. the sign-in it created


# ---------------------------------------------------------------- people


def _check_subject(tx: Tx, role: Role, subject: str) -> None:
    if role is Role.AGENT:
        found = tx.session.scalar(select(Agent.id).where(Agent.code == subject))
    elif role is Role.FUNDER:
        found = tx.session.scalar(select(Funder.id).where(Funder.code == subject))
    else:
        return
    if found is None:
        raise YirongError("subject_not_found", role=role.value, subject=subject)


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise YirongError("role_invalid", role=value) from None


@transactional
def create_user(tx: Tx, username: str, password: str, role: str, subject: str) -> UserView:
    """A person who signs in with a password, acting for one agent, funder or (as an
    operator) the platform."""
    if not _USERNAME.match(username):
        raise YirongError("username_invalid")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise YirongError("password_too_weak")
    kind = _role(role)
    if kind not in SIGN_IN_ROLES:
        raise YirongError("role_without_sign_in", role=kind.value)
    _check_subject(tx, kind, subject)
    if tx.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise YirongError("username_taken", username=username)
    user = User(
        username=username,
        password_hash=secrets.hash_password(password),
        role=kind.value,
        subject=subject,
        created_at=now(),
    )
    tx.session.add(user)
    tx.session.flush()
    return UserView(user.id, user.username, kind, subject)


def sign_in(
    db: Database, username: str, password: str, client: str, *, at: datetime | None = None
) -> IssuedToken:
    """A session token for a right password. The attempt is counted before the
    password is checked (``access.throttle``): past the free attempts the account, or
    the client address, waits a growing delay, and a right password within it is
    refused too (``login_throttled``). A success clears the account's count and takes
    its attempt back from the address's."""
    moment = at or now()
    account, address = throttle.counters(username, client)

    def attempt(tx: Tx) -> User | None:
        throttle.count_attempt(tx, (account, address), moment)
        return tx.session.scalars(
            select(User).where(
                User.username == username,
                User.disabled_at.is_(None),
                User.role.in_([r.value for r in SIGN_IN_ROLES]),
            )
        ).one_or_none()

    user = db.run(attempt)
    # Checked outside any transaction: Argon2 is slow on purpose.
    if not secrets.password_matches(user.password_hash if user else None, password):
        raise YirongError("login_failed")
    assert user is not None
    token = secrets.new_session_token()
    expires = moment + timedelta(hours=SESSION_HOURS)

    def issue(tx: Tx) -> None:
        tx.session.add(
            SessionToken(
                token_hash=secrets.digest(token),
                user_id=user.id,
                created_at=moment,
                expires_at=expires,
            )
        )
        throttle.succeeded(tx, account, address)

    db.run(issue)
    return IssuedToken(token, "bearer", expires, Role(user.role), user.subject)


def sign_out(db: Database, token: str) -> None:
    db.run(lambda tx: _sign_out(tx, token))
    recent.forget_all()  # after the commit: nothing in this process remembers it now


def _sign_out(tx: Tx, token: str) -> None:
    tx.session.execute(
        update(SessionToken)
        .where(SessionToken.token_hash == secrets.digest(token), SessionToken.revoked_at.is_(None))
        .values(revoked_at=now())
    )


def authenticate(db: Database, credential: str) -> Principal:
    """The caller behind a bearer token or an API key, or ``token_invalid``; what this
    process checked a moment ago is not looked up again (``access.recent``)."""
    digest = secrets.digest(credential)
    known = recent.recall(digest)
    if known is not None:
        return known
    principal, expires_at = db.run(lambda tx: _check(tx, credential, digest), readonly=True)
    recent.remember(digest, principal, expires_at)
    return principal


def _check(tx: Tx, credential: str, digest: str) -> tuple[Principal, datetime | None]:
    moment = now()
    prefix = secrets.api_key_prefix(credential)
    if prefix is not None:
        key = tx.session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).one_or_none()
        if key is None or key.revoked_at is not None or not _same(key.secret_hash, digest):
            raise YirongError("token_invalid")
        expires = _aware(key.expires_at)
        if expires is not None and expires <= moment:
            # Said only to the key's holder (the hash matched): issue a new one.
            raise YirongError("api_key_expired", api_key=key.id)
        return Principal(Role(key.role), key.subject, f"api_key:{key.id}"), expires
    if not credential.startswith(secrets.SESSION_PREFIX):
        raise YirongError("token_invalid")
    row = tx.session.execute(
        select(
            SessionToken.id,
            SessionToken.expires_at,
            SessionToken.revoked_at,
            User.role,
            User.subject,
            User.username,
        )
        .join(User, User.id == SessionToken.user_id)
        .where(SessionToken.token_hash == digest, User.disabled_at.is_(None))
    ).one_or_none()
    expires = _aware(row.expires_at) if row is not None else None
    if row is None or row.revoked_at is not None or expires is None or expires <= moment:
        raise YirongError("token_invalid")
    return Principal(Role(row.role), row.subject, f"session:{row.id}", row.username), expires


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)


# ---------------------------------------------------------------- systems' keys

# The caller a key is checked against: (role, subject); None for an operator (any key).
Owner = tuple[Role, str] | None


def _key_view(key: ApiKey) -> ApiKeyView:
    return ApiKeyView(
        key.id,
        key.prefix,
        Role(key.role),
        key.subject,
        key.label,
        _aware(key.created_at) or key.created_at,
        _aware(key.expires_at),
        key.revoked_at is not None,
    )


def _issue_in(tx: Tx, role: Role, subject: str, label: str, days: int | None) -> IssuedApiKey:
    config = settings()
    prefix, full = secrets.new_api_key()
    moment = now()
    key = ApiKey(
        prefix=prefix,
        secret_hash=secrets.digest(full),
        role=role.value,
        subject=subject,
        label=label[:100],
        created_at=moment,
        expires_at=moment + timedelta(days=days or config.api_key_days),
    )
    tx.session.add(key)
    tx.session.flush()
    return IssuedApiKey(full, secrets.signing_secret(full, config.secret_key), _key_view(key))


@transactional
def issue_api_key(tx: Tx, funder_code: str, label: str, *, days: int | None = None) -> IssuedApiKey:
    """A key for a funder's system, working for ``days`` (default: the
    ``api_key_days`` setting). Only people issue keys (the views check that the
    caller is the funder's staff or an operator, never another key)."""
    _check_days(days)
    _check_subject(tx, Role.FUNDER, funder_code)
    return _issue_in(tx, Role.FUNDER, funder_code, label, days)


def _check_days(days: int | None) -> None:
    if days is not None and not 1 <= days <= MAX_KEY_DAYS:
        raise YirongError("api_key_days_invalid", days=days, most=MAX_KEY_DAYS)


@transactional
def issue_supplier_api_key(
    tx: Tx,
    supplier_code: str,
    label: str,
    *,
    check_supplier: Callable[[Tx, str], object],
    days: int | None = None,
) -> IssuedApiKey:
    """A key for a supplier's system: its only credential (a supplier has no sign-in).
    Suppliers live above this package (``orders``), so the caller hands in the check
    that refuses an unknown one (``orders.suppliers.supplier_row``)."""
    _check_days(days)
    check_supplier(tx, supplier_code)
    return _issue_in(tx, Role.SUPPLIER, supplier_code, label, days)


def _owner(funder_code: str | None = None, supplier_code: str | None = None) -> Owner:
    if funder_code is not None:
        return Role.FUNDER, funder_code
    if supplier_code is not None:
        return Role.SUPPLIER, supplier_code
    return None


def _own_key(tx: Tx, key_id: int, owner: Owner) -> ApiKey:
    """The key, if ``owner`` holds it (a funder and a supplier may share a code: the
    role tells their keys apart)."""
    key = tx.session.get(ApiKey, key_id, with_for_update=True)
    if key is None or (owner is not None and (key.role, key.subject) != (owner[0].value, owner[1])):
        raise YirongError("api_key_not_found", api_key=key_id)
    return key


def rotate_api_key(db: Database, key_id: int, *, funder_code: str | None = None) -> IssuedApiKey:
    """A new key for the same funder (or supplier); the old one keeps working for a
    day, then stops."""
    issued = db.run(lambda tx: _rotate(tx, key_id, _owner(funder_code)))
    recent.forget_all()
    return issued


def _rotate(tx: Tx, key_id: int, owner: Owner) -> IssuedApiKey:
    old = _own_key(tx, key_id, owner)
    if old.revoked_at is not None:
        raise YirongError("api_key_revoked", api_key=key_id)
    issued = _issue_in(tx, Role(old.role), old.subject, old.label, None)
    ends = now() + ROTATION_OVERLAP
    current = _aware(old.expires_at)
    old.expires_at = min(current, ends) if current else ends
    old.replaced_by = issued.details.id
    return issued


def revoke_api_key(
    db: Database,
    key_id: int,
    *,
    funder_code: str | None = None,
    supplier_code: str | None = None,
) -> ApiKeyView:
    """Stops the key at once; revoking a revoked key changes nothing. A funder (or a
    supplier) stops only its own keys."""
    owner = _owner(funder_code, supplier_code)
    view = db.run(lambda tx: _revoke(tx, key_id, owner))
    recent.forget_all()
    return view


def _revoke(tx: Tx, key_id: int, owner: Owner) -> ApiKeyView:
    key = _own_key(tx, key_id, owner)
    if key.revoked_at is None:
        key.revoked_at = now()
    return _key_view(key)


def revoke_all_api_keys(db: Database, funder_code: str) -> int:
    """Stops every key of the funder at once (a key may have leaked and nobody knows
    which); returns how many were still unrevoked."""

    def revoke(tx: Tx) -> int:
        _check_subject(tx, Role.FUNDER, funder_code)
        done = tx.conn.execute(
            update(ApiKey)
            .where(
                ApiKey.role == Role.FUNDER.value,
                ApiKey.subject == funder_code,
                ApiKey.revoked_at.is_(None),
            )
            .values(revoked_at=now())
        )
        return int(done.rowcount or 0)

    count = db.run(revoke)
    recent.forget_all()  # after the commit: nothing in this process remembers them now
    return count


@per_dialect
def _take_nonce(tx: Tx) -> Any:
    """The insert that takes a nonce (nothing if it is taken), built once per dialect:
    every signed request sends it."""
    return insert_new(tx, RequestNonce).on_conflict_do_nothing().returning(RequestNonce.nonce)


def use_nonce(db: Database, credential: str, nonce: str, expires_at: datetime) -> None:
    """Record a signed request's nonce, or refuse it (``signature_replayed``) when the
    credential used it before. One statement, its own transaction: the insert that
    takes the nonce, or finds it taken (a replay racing the first waits for it)."""

    def record(tx: Tx) -> None:
        taken = send(
            tx,
            _take_nonce(tx),
            {"credential": credential, "nonce": nonce, "expires_at": expires_at},
        ).first()
        if taken is None:
            raise YirongError("signature_replayed")

    db.run(record, alone=True)


@read_only
def api_keys(
    tx: Tx, funder_code: str | None, *, after: int = 0, limit: int = 50
) -> list[ApiKeyView]:
    """Keys in id order (a funder: its own; None: every system's, suppliers' too)."""
    query = select(ApiKey).where(ApiKey.id > after).order_by(ApiKey.id).limit(limit)
    if funder_code is not None:
        query = query.where(ApiKey.role == Role.FUNDER.value, ApiKey.subject == funder_code)
    return [_key_view(k) for k in tx.session.scalars(query)]


# ---------------------------------------------------------------- the audit log


def record_action_in(
    tx: Tx,
    who: Principal,
    action: str,
    target: str,
    status: int,
    request_id: str,
    detail: str | None = None,
) -> None:
    tx.session.add(AuditRecord(**action_record(who, action, target, status, request_id, detail)))


record_action = transactional(record_action_in)


def action_record(
    who: Principal, action: str, target: str, status: int, request_id: str, detail: str | None
) -> dict[str, Any]:
    """An audit record's columns, for a caller that writes it in a statement of its
    own making (api.idempotency: with the request's stored answer, in one statement)."""
    return _columns(
        who.handle, who.user, who.credential, action, target, status, request_id, detail
    )


@transactional
def record_shell_action(tx: Tx, os_user: str, command: str, target: str) -> None:
    """A command run on the server's shell (``cli:<the system's user>``)."""
    columns = _columns(f"cli:{os_user}", os_user, "cli", f"CLI {command}", target, 0, "cli", None)
    tx.session.add(AuditRecord(**columns))


def _columns(
    actor: str,
    username: str | None,
    credential: str,
    action: str,
    target: str,
    status: int,
    request_id: str,
    detail: str | None,
) -> dict[str, Any]:
    return {
        "at": now(),
        "actor": actor[:80],
        "username": username[:64] if username else None,
        "credential": credential[:40],
        "action": action[:120],
        "target": target[:300],
        "status": status,
        "request_id": request_id[:64],
        "detail": detail[:300] if detail else None,
    }


@read_only
def audit_log(
    tx: Tx, *, actor: str | None = None, after: int = 0, limit: int = 50
) -> list[AuditView]:
    query = select(AuditRecord).where(AuditRecord.id > after).order_by(AuditRecord.id).limit(limit)
    if actor is not None:
        query = query.where(AuditRecord.actor == actor)
    return [_audit_view(r) for r in tx.session.scalars(query)]


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which records to show: empty fields leave records in."""

    actor: str | None = None
    changes_only: bool = False  # what changed something (not a read)
    since: datetime | None = None  # ``at`` from here
    until: datetime | None = None  # ``at`` before here


@read_only
def audit_page(
    tx: Tx, shown: AuditFilter, *, before: int | None = None, limit: int = 50
) -> list[AuditView]:
    """The newest records the filter lets through, before id ``before`` (the next
    page back): one index range, whatever the log's size."""
    query = select(AuditRecord).order_by(AuditRecord.id.desc()).limit(limit)
    if before is not None:
        query = query.where(AuditRecord.id < before)
    if shown.actor:
        query = query.where(AuditRecord.actor == shown.actor)
    if shown.changes_only:
        query = query.where(~AuditRecord.action.startswith("GET "))
    # In UTC, as the records are kept: SQLite compares the text, which has no zone.
    if shown.since is not None:
        query = query.where(AuditRecord.at >= shown.since.astimezone(UTC))
    if shown.until is not None:
        query = query.where(AuditRecord.at < shown.until.astimezone(UTC))
    return [_audit_view(r) for r in tx.session.scalars(query)]


def _audit_view(r: AuditRecord) -> AuditView:
    return AuditView(
        r.id,
        _aware(r.at) or r.at,
        r.actor,
        r.action,
        r.target,
        r.status,
        r.request_id,
        r.username,
        r.credential,
        r.detail,
    )


@transactional
def prune_login_counters(tx: Tx, now: datetime) -> int:
    """Sign-in counters quiet past the throttling window: deleted. Returns how many."""
    return throttle.prune(tx, now)


@transactional
def prune_nonces(tx: Tx, now: datetime) -> int:
    """Nonces of signed requests whose timestamps can no longer be accepted."""
    gone = tx.conn.execute(delete(RequestNonce).where(RequestNonce.expires_at < now))
    return int(gone.rowcount or 0)
