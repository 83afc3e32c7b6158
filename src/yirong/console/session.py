"""Who is signed in to the console, and the forms' protection against cross-site
requests.

* **The session** is the same session token the API's sign-in gives, held in an
  HttpOnly, SameSite=Lax cookie (Secure when served over https) and checked by the
  same ``access.service.authenticate`` on every page. The cookie carries the token
  signed with the time it was last set (itsdangerous), and is set again on every
  page: a session left idle ``IDLE_MINUTES`` ends, on the server too (an old cookie
  replayed is refused), and the token itself ends after its eight hours whatever
  happens. The idle clock is the wall clock: it decides a sign-in, never money.
* **CSRF**: signed double-submit. The browser holds a random nonce in an HttpOnly
  cookie; every form carries it signed with the server's secret key (itsdangerous,
  timed); a POST is taken only when the form's token opens, under that key, to the
  cookie's nonce. Another site can neither read the cookie nor forge the signature."""

from __future__ import annotations

import secrets

from fastapi import Request, Response
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from yirong.access.principals import Principal
from yirong.access.service import authenticate
from yirong.config import settings
from yirong.errors import YirongError
from yirong.infra.db import Database

SESSION_COOKIE = "yirong_session"
CSRF_COOKIE = "yirong_csrf"
LANGUAGE_COOKIE = "yirong_lang"
IDLE_MINUTES = 30
CSRF_HOURS = 8  # a form left open longer is refused (sign in again)
CSRF_FIELD = "csrf_token"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings().secret_key, salt="yirong-console-csrf")


def _sessions() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings().secret_key, salt="yirong-console-session")


def session_token(request: Request) -> str | None:
    """The session token the cookie carries, if it was set within the idle time."""
    value = request.cookies.get(SESSION_COOKIE)
    if not value:
        return None
    try:
        return str(_sessions().loads(value, max_age=IDLE_MINUTES * 60))
    except (BadSignature, SignatureExpired):
        return None


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def signed_in(request: Request, db: Database) -> Principal | None:
    """The principal behind the session cookie, or None (none, ended or revoked)."""
    token = session_token(request)
    if not token:
        return None
    try:
        who = authenticate(db, token)
    except YirongError:
        return None
    # The request's principal, as the API's security sets it: the middleware audits
    # what it asks by the API's rule (an operator's every page, a person's changes).
    request.state.principal = who
    return who


def keep_session(request: Request, response: Response, token: str | None = None) -> None:
    """Set the session cookie (again, with the time now): a new sign-in's token, or
    the one in use if it has not been idle too long."""
    value = token or session_token(request)
    if value:
        response.set_cookie(
            SESSION_COOKIE,
            _sessions().dumps(value),
            max_age=IDLE_MINUTES * 60,
            httponly=True,
            samesite="lax",
            secure=_secure(request),
        )


def end_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE)


def csrf_token(request: Request, response: Response) -> str:
    """The token this page's forms carry (the browser's nonce, made on first sight)."""
    nonce = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "csrf_nonce", None)
    if not nonce:
        nonce = secrets.token_urlsafe(24)
        request.state.csrf_nonce = nonce
        response.set_cookie(
            CSRF_COOKIE, nonce, httponly=True, samesite="lax", secure=_secure(request)
        )
    return _serializer().dumps(nonce)


def csrf_ok(request: Request, token: str | None) -> bool:
    """Whether a form's token is this browser's nonce, signed by us, and recent."""
    nonce = request.cookies.get(CSRF_COOKIE)
    if not nonce or not token:
        return False
    try:
        opened = _serializer().loads(token, max_age=CSRF_HOURS * 3600)
    except (BadSignature, SignatureExpired):
        return False
    return secrets.compare_digest(str(opened), nonce)
