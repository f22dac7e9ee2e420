"""The app factory: ``create_app(settings)`` is the only way to build the Flask app."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask
from flask import Request
from flask import Response
from flask import g
from flask import jsonify
from flask import request
from flask.sessions import SecureCookieSession
from flask.sessions import SecureCookieSessionInterface
from flask_babel import Babel
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.exceptions import RequestHeaderFieldsTooLarge
from werkzeug.exceptions import RequestURITooLarge
from werkzeug.exceptions import TooManyRequests
from werkzeug.wrappers import Response as BaseResponse

from idp.errors import InvalidRequest
from idp.errors import OAuthError
from idp.errors import Problem
from idp.errors import ServerError
from idp.http import framing
from idp.http.backchannel import BackChannel
from idp.http.discovery import Documents
from idp.http.edge import REJECTED_KEY
from idp.http.edge import REQUEST_ID_KEY
from idp.http.edge import Edge
from idp.http.edge import request_id
from idp.http.logs import redact_product_logs
from idp.interaction.browser import FLOW_COOKIE
from idp.interaction.browser import HOST_PREFIX
from idp.interaction.browser import host_cookies
from idp.interaction.i18n import TRANSLATIONS
from idp.interaction.i18n import select_locale
from idp.metrics.endpoints import Operations
from idp.metrics.observe import Observed
from idp.metrics.observe import record_routes
from idp.metrics.observe import watch_pool
from idp.provider import Provider
from idp.ratelimit import LIMITED_KEY
from idp.ratelimit import Limited
from idp.settings import Settings

log = logging.getLogger("essc.idp")
#: Paths that answer browsers with pages; everything else answers JSON.
_BROWSER_PATHS = ("/authorize", "/interaction/", "/demo", "/logout", "/my/", "/ui")


class BrowserOnlySessions(SecureCookieSessionInterface):
    """The signed flow cookie (CSRF token, browser binding) exists for pages only: API calls
    such as the token endpoint neither parse nor sign it."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if not request.path.startswith(_BROWSER_PATHS):
            return None  # Flask substitutes a NullSession, which refuses writes
        return super().open_session(app, request)


def templates_dir() -> Path:
    """``templates/`` beside the packages in a checkout; ``idp/_templates`` in a wheel."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "templates", here / "_templates"):
        if candidate.is_dir():
            return candidate
    raise RuntimeError("templates not found")


def create_app(settings: Settings | None = None, *, provider: Provider | None = None) -> Flask:
    settings = settings or Settings.from_env()
    provider = provider or Provider(settings)
    templates = templates_dir()
    host = host_cookies(settings.production, settings.issuer)
    app = Flask(
        "idp",
        template_folder=str(templates),
        static_folder=str(templates / "static"),
        static_url_path="/static",
    )
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        MAX_FORM_MEMORY_SIZE=settings.max_request_bytes,
        SESSION_COOKIE_NAME=(HOST_PREFIX if host else "") + FLOW_COOKIE,
        SESSION_COOKIE_PATH="/",
        SESSION_COOKIE_DOMAIN=None,  # host-only; a __Host- cookie must have no Domain
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.issuer.startswith("https://"),
    )
    app.session_interface = BrowserOnlySessions()
    # Page words come from gettext catalogues (docs/pages.md); templates get _() and ngettext().
    Babel(
        app,
        locale_selector=select_locale,
        default_locale="zh_CN",
        default_translation_directories=str(TRANSLATIONS),
    )
    app.extensions["essc"] = provider
    _register_blueprints(app, settings)
    # Token, introspection and revocation bypass Flask's request machinery (idp.http.backchannel);
    # the edge in front of both gives every response its request id, size limits and HSTS.
    pages = app.wsgi_app
    # Discovery, the JWKS and the operator paths are lean too (idp.http.discovery,
    # idp.metrics); Observed counts and times every response, the edge's own included.
    lean = Documents(lambda: provider.metadata, lambda: provider.keyring.jwks(), pages)
    app.wsgi_app = Observed(  # type: ignore[method-assign]
        Edge(
            Limited(
                provider.rate_limits,
                Operations(provider, BackChannel(provider, lean)),
                settings.rate_limit_address_header,
            ),
            pages,
            hsts=settings.production and settings.issuer.startswith("https://"),
            trusted_request_id_header=settings.proxy_request_id_header,
        )
    )
    record_routes(app)
    watch_pool(provider.db.engine)
    redact_product_logs()
    _register_hooks(app)
    _register_errors(app)
    return app


def _register_blueprints(app: Flask, settings: Settings) -> None:
    from idp.channel_admin import views as registration
    from idp.ecards import openapi
    from idp.ecards import views as ecards_api
    from idp.family import my_family
    from idp.family import pension_views as pension
    from idp.family import views as family
    from idp.http import discovery
    from idp.http import userinfo
    from idp.interaction import cancel as interaction_cancel
    from idp.interaction import elder_switch as elder
    from idp.interaction import views as authorize
    from idp.logout import views as logout
    from idp.my_authorizations import views as my_authorizations
    from idp.payments import openapi as payments_openapi
    from idp.payments import views as payments_api
    from idp.qr import redemption_views
    from idp.qr import views as qr
    from idp.scan_signin import channel_views as scan_api
    from idp.scan_signin import pc_views as scan_pc

    for module in (discovery, userinfo, elder, authorize, ecards_api, openapi, registration, qr):
        app.register_blueprint(module.bp)
    for module in (
        redemption_views,
        payments_api,
        payments_openapi,
        logout,
        family,
        my_authorizations,
        my_family,
        pension,
    ):
        app.register_blueprint(module.bp)
    for module in (scan_pc, scan_api, interaction_cancel):
        app.register_blueprint(module.bp)
    if settings.demo:
        from idp.demo import family_phone as demo_family
        from idp.demo import phone as demo_phone
        from idp.demo import scan_phone as demo_scan_phone
        from idp.demo import views as demo

        app.register_blueprint(demo.bp)
        app.register_blueprint(demo_phone.bp)
        app.register_blueprint(demo_scan_phone.bp)
        app.register_blueprint(demo_family.bp)


def _register_hooks(app: Flask) -> None:
    trusted = app.extensions["essc"].settings.proxy_request_id_header

    @app.before_request
    def assign_request_id() -> None:
        # Set by idp.http.edge; computed here too for a WSGI caller that skips the edge.
        found = request.environ.get(REQUEST_ID_KEY)
        g.request_id = found if isinstance(found, str) else request_id(request.environ, trusted)
        rejected = request.environ.get(REJECTED_KEY)
        if rejected == 414:
            raise RequestURITooLarge()
        if rejected == 431:
            raise RequestHeaderFieldsTooLarge()
        limited = request.environ.get(LIMITED_KEY)
        if isinstance(limited, int):
            raise TooManyRequests(retry_after=limited)

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers["X-Request-Id"] = g.get("request_id", "")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        # Pages and API answers carry personal data or tokens: nothing is cached unless a view
        # chose a policy (discovery and the JWKS do; static files get Flask's).
        if "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = "no-store"
            response.headers.setdefault("Pragma", "no-cache")
        if response.mimetype == "text/html":
            csp = response.headers.setdefault(
                "Content-Security-Policy",
                "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            )
            # Only a page of an embedding client's request names who may frame it.
            if not framing.names_ancestors(csp):
                response.headers.setdefault("X-Frame-Options", "DENY")
            response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response


def _wants_page() -> bool:
    return request.path.startswith(_BROWSER_PATHS)


def _register_errors(app: Flask) -> None:
    from idp.http.http import oauth_error
    from idp.interaction.pages import error_page

    @app.errorhandler(OAuthError)
    def on_oauth_error(error: OAuthError) -> Response:
        log.info(
            "oauth error %s on %s: %s [%s]", error.error, request.path, error.detail, g.request_id
        )
        return oauth_error(error)

    @app.errorhandler(Problem)
    def on_problem(problem: Problem) -> Response:
        body = problem.body(app.extensions["essc"].issuer)
        body["request_id"] = g.request_id
        response = jsonify(body)
        response.status_code = problem.status
        response.content_type = "application/problem+json"
        response.headers.update(problem.headers)
        return response

    @app.errorhandler(HTTPException)
    def on_http_error(error: HTTPException) -> BaseResponse:
        response = _http_error_body(error)
        # Keep the exception's own headers: a 405 MUST carry Allow (RFC 9110 15.5.6).
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    def _http_error_body(error: HTTPException) -> BaseResponse:
        status = error.code or 400
        if _wants_page():
            key = "bad_request" if status < 500 else "server_error"
            key = "too_many_requests" if status == 429 else key
            return error_page(key, status, locale="zh-CN")
        if isinstance(error, RequestEntityTooLarge):
            response = oauth_error(InvalidRequest("the request is not acceptable"))
            response.status_code = status
            return response
        return on_problem(Problem(status, "http-error", error.name))

    @app.errorhandler(Exception)
    def on_unexpected(error: Exception) -> BaseResponse:
        log.exception("unexpected error on %s [%s]", request.path, g.get("request_id"))
        if _wants_page():
            return error_page("server_error", 500, locale="zh-CN")
        return oauth_error(ServerError("unexpected error; see the request id in the server log"))
