// @node-oauth/oauth2-server on Koa, with the in-memory model its documentation starts from
// (docs "Model Overview": a plain object store; here a Map). Nothing is written to disk.
//
//   node node-oauth2-server.mjs PORT CLIENT_ID CLIENT_SECRET
//
// POST /token       client_credentials (client_secret_basic), the library's TokenHandler.
// POST /introspect  RFC 7662 shape: the caller authenticates as the client (model.getClient),
//                   then the token is looked up with model.getAccessToken. The library has no
//                   introspection endpoint; this is the smallest one its model allows.
import Koa from "koa";
import { bodyParser } from "@koa/bodyparser";
import OAuth2Server from "@node-oauth/oauth2-server";
import { timingSafeEqual } from "node:crypto";

const { Request, Response } = OAuth2Server;
const [port, clientId, clientSecret] = process.argv.slice(2);
const client = { id: clientId, grants: ["client_credentials"], accessTokenLifetime: 3600 };
const tokens = new Map();

function same(a, b) {
  const x = Buffer.from(a), y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const model = {
  async getClient(id, secret) {
    return id === clientId && secret != null && same(secret, clientSecret) ? client : null;
  },
  async getUserFromClient(c) {
    return { id: c.id };
  },
  async validateScope(user, c, scope) {
    return scope ?? [];
  },
  async saveToken(token, c, user) {
    const saved = { ...token, client: c, user };
    tokens.set(token.accessToken, saved);
    return saved;
  },
  async getAccessToken(accessToken) {
    return tokens.get(accessToken) ?? null;
  },
};

const oauth = new OAuth2Server({ model, accessTokenLifetime: 3600, allowEmptyState: true });
const app = new Koa();
app.use(bodyParser({ enableTypes: ["form", "json"] }));

function basic(header) {
  const m = /^Basic (.+)$/i.exec(header ?? "");
  if (!m) return null;
  const text = Buffer.from(m[1], "base64").toString();
  const i = text.indexOf(":");
  return i < 0 ? null : [decodeURIComponent(text.slice(0, i)), decodeURIComponent(text.slice(i + 1))];
}

app.use(async (ctx) => {
  if (ctx.method !== "POST") {
    ctx.status = ctx.path === "/healthz" ? 200 : 404;
    return;
  }
  if (ctx.path === "/token") {
    const request = new Request({ method: ctx.method, query: ctx.query, headers: ctx.headers, body: ctx.request.body });
    const response = new Response({ headers: {} });
    try {
      await oauth.token(request, response);
      ctx.set(response.headers);
      ctx.status = response.status;
      ctx.body = response.body;
    } catch (e) {
      ctx.status = e.code ?? 500;
      ctx.body = { error: e.name ?? "server_error" };
    }
    return;
  }
  if (ctx.path === "/introspect") {
    const creds = basic(ctx.get("authorization"));
    if (!creds || !(await model.getClient(creds[0], creds[1]))) {
      ctx.status = 401;
      ctx.body = { error: "invalid_client" };
      return;
    }
    const t = await model.getAccessToken(String(ctx.request.body?.token ?? ""));
    const live = t && t.accessTokenExpiresAt > new Date();
    ctx.body = live
      ? { active: true, client_id: t.client.id, scope: (t.scope ?? []).join(" "),
          exp: Math.floor(t.accessTokenExpiresAt.getTime() / 1000), token_type: "Bearer" }
      : { active: false };
    return;
  }
  ctx.status = 404;
});

app.listen(Number(port), "127.0.0.1");
