// oidc-provider with its default in-memory adapter (an LRU cache; nothing on disk), run with
// NODE_ENV=production, client credentials and token introspection enabled.
//
//   NODE_ENV=production node oidc-provider.mjs PORT CLIENT_ID CLIENT_SECRET
//
// POST /token                client_credentials (client_secret_basic), opaque access tokens
// POST /token/introspection  RFC 7662
import Provider from "oidc-provider";
import { generateKeyPairSync, randomBytes } from "node:crypto";

const [port, clientId, clientSecret] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

// Its own signing key and cookie keys (the quick-start ones are for development only).
const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: "jwk" }), alg: "RS256", use: "sig", kid: "bench" };

const provider = new Provider(issuer, {
  jwks: { keys: [jwk] },
  cookies: { keys: [randomBytes(32).toString("hex")] },
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    grant_types: ["client_credentials"],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: "client_secret_basic",
  }],
  features: {
    clientCredentials: { enabled: true },
    introspection: {
      enabled: true,
      // A client may introspect its own tokens only.
      allowedPolicy: async (ctx, client, token) => token.clientId === client.clientId,
    },
    devInteractions: { enabled: false },
  },
  // One-hour opaque access tokens, as the other servers issue.
  ttl: { ClientCredentials: 3600 },
});
provider.proxy = false;
provider.on("server_error", (ctx, err) => console.error(err));
provider.listen(Number(port), "127.0.0.1");
