"""Authlib's Flask OAuth 2 server on SQLite, as its documentation and example server set it up
(Flask-SQLAlchemy models from authlib.integrations.sqla_oauth2, AuthorizationServer with the
client-credentials grant, the RFC 7662 IntrospectionEndpoint), served by gunicorn.

    BENCH_DB=/tmp/x.db BENCH_CLIENT_ID=.. BENCH_CLIENT_SECRET=.. \
        gunicorn -w 2 -b 127.0.0.1:PORT authlib_server:app

SQLite in its default rollback-journal mode with synchronous=FULL (SQLite's default): every
token is on disk (fsync) before the answer. POST /oauth/token, POST /oauth/introspect.
"""

import os
import time

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.integrations.sqla_oauth2 import (
    OAuth2ClientMixin,
    OAuth2TokenMixin,
    create_query_client_func,
    create_save_token_func,
)
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.environ["BENCH_DB"]
app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"timeout": 30}}
# One-hour access tokens, as the other servers issue.
app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {"client_credentials": 3600}
db = SQLAlchemy(app)


class Client(db.Model, OAuth2ClientMixin):
    __tablename__ = "oauth2_client"
    id = db.Column(db.Integer, primary_key=True)


class Token(db.Model, OAuth2TokenMixin):
    __tablename__ = "oauth2_token"
    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, nullable=True)

    def is_active(self):  # Authlib >= 1.3 asks the token model
        return not self.is_revoked() and not self.is_expired()


class Introspection(IntrospectionEndpoint):
    def query_token(self, token, token_type_hint):
        return Token.query.filter_by(access_token=token).first()

    def introspect_token(self, token):
        return {
            "active": True,
            "client_id": token.client_id,
            "token_type": token.token_type,
            "scope": token.get_scope(),
            "exp": token.issued_at + token.expires_in,
            "iat": token.issued_at,
        }

    def check_permission(self, token, client, request):
        return token.client_id == client.client_id


with app.app_context():
    @event.listens_for(db.engine, "connect")
    def _pragmas(conn, _record):
        conn.execute("PRAGMA synchronous = FULL")


server = AuthorizationServer(
    app,
    query_client=create_query_client_func(db.session, Client),
    save_token=create_save_token_func(db.session, Token),
)
server.register_grant(grants.ClientCredentialsGrant)
server.register_endpoint(Introspection)


def setup(client_id: str, client_secret: str) -> None:
    """Creates the tables and the client (bench/peers.py runs this once before gunicorn)."""
    with app.app_context():
        db.create_all()
        client = Client(client_id=client_id, client_secret=client_secret,
                        client_id_issued_at=int(time.time()))
        client.set_client_metadata({"grant_types": ["client_credentials"], "scope": "",
                                    "token_endpoint_auth_method": "client_secret_basic"})
        db.session.add(client)
        db.session.commit()


@app.route("/healthz")
def healthz():
    return "ok"


@app.route("/oauth/token", methods=["POST"])
def issue_token():
    return server.create_token_response()


@app.route("/oauth/introspect", methods=["POST"])
def introspect():
    return server.create_endpoint_response(Introspection.ENDPOINT_NAME)


if __name__ == "__main__":
    setup(os.environ["BENCH_CLIENT_ID"], os.environ["BENCH_CLIENT_SECRET"])
