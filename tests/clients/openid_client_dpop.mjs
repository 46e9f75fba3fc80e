// DPoP (RFC 9449) driven by openid-client 6 (oauth4webapi underneath, which signs a proof per
// request, answers `use_dpop_nonce` by retrying with the server's `DPoP-Nonce`, and adds
// `ath` at the userinfo endpoint).
//
// Run by tests/it/dpop.rs (`openid_client_6_dpop`) with one JSON argument:
//   {"issuer": "...", "client_id": "...", "client_secret": "...", "username": "...", "password": "..."}
// Prints `OK <summary>`; any failed check throws (non-zero exit).

import * as client from 'openid-client';

const cfg = JSON.parse(process.argv[2]);
const done = [];

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

const config = await client.discovery(
  new URL(cfg.issuer), cfg.client_id, cfg.client_secret, undefined,
  { execute: [client.allowInsecureRequests] });
const as = config.serverMetadata();
check(as.dpop_signing_alg_values_supported?.includes('ES256'),
  JSON.stringify(as.dpop_signing_alg_values_supported));
done.push('discovery');

const dpop = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'));

// The first proof carries no nonce: the server answers use_dpop_nonce, the library retries.
const tokens = await client.genericGrantRequest(config, 'password',
  { username: cfg.username, password: cfg.password, scope: 'openid profile' }, { DPoP: dpop });
check(tokens.token_type === 'dpop' && tokens.refresh_token, JSON.stringify(tokens));
done.push('password grant bound');

const info = await client.tokenIntrospection(config, tokens.access_token);
check(info.token_type === 'DPoP' && typeof info.cnf?.jkt === 'string', JSON.stringify(info));
done.push('introspection cnf.jkt');

const me = await client.fetchUserInfo(config, tokens.access_token, client.skipSubjectCheck,
  { DPoP: dpop });
check(me.preferred_username === cfg.username, JSON.stringify(me));
done.push('userinfo with DPoP');

// Another key cannot use the token, nor refresh it.
const thief = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'));
let refused = false;
try {
  await client.fetchUserInfo(config, tokens.access_token, client.skipSubjectCheck,
    { DPoP: thief });
} catch (e) {
  refused = e.status === 401;
}
check(refused, 'userinfo with another key');
refused = false;
try {
  await client.refreshTokenGrant(config, tokens.refresh_token, undefined, { DPoP: thief });
} catch (e) {
  refused = e.error === 'invalid_dpop_proof';
}
check(refused, 'refresh with another key');
done.push('another key refused');

const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token, undefined,
  { DPoP: dpop });
check(refreshed.token_type === 'dpop', JSON.stringify(refreshed));
const again = await client.fetchUserInfo(config, refreshed.access_token,
  client.skipSubjectCheck, { DPoP: dpop });
check(again.preferred_username === cfg.username, JSON.stringify(again));
done.push('refresh + userinfo');

const cc = await client.clientCredentialsGrant(config, {}, { DPoP: dpop });
check(cc.token_type === 'dpop', JSON.stringify(cc));
done.push('client_credentials bound');

console.log(`OK ${done.join(', ')}`);
