"""The base every Flask service is built on (`create_service_app`), so the services differ only
in their own blueprints: settings, logging with correlation ids, metrics, health, errors."""

from __future__ import annotations

from flask import Flask, Response, g, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from shared import clock
from shared.config import ConfigError, Settings, load_settings
from shared.identity.models import User
from shared.logging import configure_logging, enter_correlation, exit_correlation
from shared.metrics import init_app as init_metrics
from shared.web.health import bp as health_bp
from shared.web.resources import Resources

CORRELATION_HEADER = "X-Correlation-ID"

# Messages a civil servant understands, for the HTTP errors every service may answer.
ERROR_MESSAGES = {
    400: "Permintaan tidak dapat diproses.",
    401: "Silakan masuk terlebih dahulu.",
    403: "Anda tidak memiliki hak untuk tindakan ini.",
    404: "Data yang dicari tidak ditemukan.",
    405: "Metode tidak diizinkan untuk alamat ini.",
    409: "Tindakan bertentangan dengan keadaan data saat ini.",
    413: "Berkas terlalu besar.",
    415: "Jenis berkas tidak didukung.",
    422: "Data yang dikirim tidak valid.",
    429: "Terlalu banyak permintaan. Silakan coba lagi nanti.",
    500: "Terjadi kesalahan pada sistem. Silakan coba lagi.",
    503: "Layanan sedang tidak tersedia. Silakan coba lagi sebentar lagi.",
}


def create_service_app(service: str, settings: Settings | None = None) -> Flask:
    settings = settings or load_settings()
    clock.use_settings(settings)
    configure_logging(service, level=settings.log_level, json_logs=settings.log_json)
    app = Flask(service)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SAKIP_SETTINGS=settings,
        JSON_SORT_KEYS=False,
    )
    app.extensions["sakip"] = resources = Resources(settings)
    _trust_proxies(app, settings.trusted_proxies)
    if settings.is_production:
        refuse_demo_accounts(resources)
    _init_correlation(app)
    _init_security_headers(app)
    init_metrics(app, service)
    app.register_blueprint(health_bp)
    app.register_error_handler(HTTPException, _http_error)
    return app


def _trust_proxies(app: Flask, hops: int) -> None:
    """Behind a TLS-terminating proxy the request reaches us over plain HTTP: only the
    proxy's X-Forwarded-* headers tell that the browser used https (so cookies get Secure) and
    who the client is (the login limit counts per address). Trusted only for the configured
    number of proxies, otherwise anyone could claim any address or scheme."""
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops,  # type: ignore[method-assign]
                                x_host=hops)


def refuse_demo_accounts(resources: Resources) -> None:
    """Production never starts while the demo tenant's well-known logins exist."""
    with resources.session_factory() as session:
        if session.scalar(select(User.id).where(User.is_demo.is_(True)).limit(1)):
            raise ConfigError("production refuses to start while demo accounts exist; "
                              "deactivate and remove them first")


def _init_correlation(app: Flask) -> None:
    @app.before_request
    def _bind() -> None:
        incoming = request.headers.get(CORRELATION_HEADER, "")
        valid = incoming if 8 <= len(incoming) <= 64 and incoming.isalnum() else None
        g.correlation_id, g.correlation_token = enter_correlation(valid)

    @app.teardown_request
    def _unbind(_exc: BaseException | None) -> None:
        token = g.pop("correlation_token", None)
        if token is not None:
            exit_correlation(token)

    @app.after_request
    def _echo(response: Response) -> Response:
        if "correlation_id" in g:
            response.headers[CORRELATION_HEADER] = g.correlation_id
        return response


# Scripts and styles come only from our own files (no inline ones), no page may frame ours.
CONTENT_SECURITY_POLICY = ("default-src 'self'; base-uri 'self'; form-action 'self'; "
                           "object-src 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _init_security_headers(app: Flask) -> None:
    @app.after_request
    def _secure(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response


def _http_error(exc: HTTPException) -> ResponseReturnValue:
    code = exc.code or 500
    if exc.description and exc.description != type(exc).description:
        message = exc.description  # our own words, given to abort(...)
    else:
        message = ERROR_MESSAGES.get(code, "Kesalahan.")
    response = jsonify(error={"code": code, "message": message})
    response.status_code = code
    return response
