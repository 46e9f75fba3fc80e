// private_key_jwt (RFC 7523 section 2.2) driven by openid-client 6 (oauth4webapi underneath,
// which signs `aud` = the issuer, a 60-second `exp`, a fresh `jti`).
//
// Run by tests/it/client_jwt.rs (`openid_client_6_private_key_jwt`) with one JSON argument:
//   {"issuer": "...", "client_id": "...", "key": <private JWK>, "stranger": <private JWK>}
// Prints `OK <summary>`; any failed check throws (non-zero exit).

import * as client from 'openid-client';

const cfg = JSON.parse(process.argv[2]);
const done = [];

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

async function signer(jwk) {
  const key = await crypto.subtle.importKey(
    'jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  return client.PrivateKeyJwt({ key, kid: jwk.kid });
}

const insecure = { execute: [client.allowInsecureRequests], algorithm: 'oauth2' };
const config = await client.discovery(
  new URL(cfg.issuer), cfg.client_id, undefined, await signer(cfg.key), insecure);
const as = config.serverMetadata();
check(as.token_endpoint_auth_methods_supported.includes('private_key_jwt'),
  JSON.stringify(as.token_endpoint_auth_methods_supported));
check(as.introspection_endpoint_auth_methods_supported.includes('private_key_jwt'), 'introspection');
check(as.token_endpoint_auth_signing_alg_values_supported.includes('ES256'), 'ES256');
done.push('discovery');

const cc = await client.clientCredentialsGrant(config, { scope: 'api' });
check(cc.access_token && cc.token_type === 'bearer' && cc.scope === 'api', JSON.stringify(cc));
done.push('client_credentials');

const info = await client.tokenIntrospection(config, cc.access_token);
check(info.active === true && info.client_id === cfg.client_id, JSON.stringify(info));
done.push('introspection');

await client.tokenRevocation(config, cc.access_token);
check((await client.tokenIntrospection(config, cc.access_token)).active === false, 'revoked');
done.push('revocation');

// The same client id with a key that is not registered: 401 invalid_client.
const stranger = await client.discovery(
  new URL(cfg.issuer), cfg.client_id, undefined, await signer(cfg.stranger), insecure);
try {
  await client.clientCredentialsGrant(stranger, { scope: 'api' });
  throw new Error('an assertion signed by an unregistered key was accepted');
} catch (e) {
  // 401 with `WWW-Authenticate`: openid-client surfaces the challenge, not the body.
  check(e.status === 401, `${e.name} ${e.error} ${e.status}`);
}
done.push('unregistered key refused');

console.log(`OK ${done.join(', ')}`);
