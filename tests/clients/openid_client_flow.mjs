// The standards surface driven by openid-client 6 (npm, pinned in tests/clients/package.json),
// the strictest common client: it refuses a token response with `"refresh_token": null`, a
// non-JSON answer, a wrong token_type, a bad error shape, or metadata whose issuer differs.
//
// Run by tests/it/standard.rs (`openid_client_6`) with one JSON argument:
//   {"issuer": "...", "redirect_uri": "...", "web": ["id", "secret"], "spa": "public id"}
// The login form is submitted with fetch (the real browser runs in browser_flow_with_authlib).
// Prints `OK <summary>` at the end; any failed check throws (non-zero exit).

import * as client from 'openid-client';

const cfg = JSON.parse(process.argv[2]);
const done = [];

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

// Discovery by RFC 8414 (algorithm oauth2), client_secret_basic.
const insecure = { execute: [client.allowInsecureRequests], algorithm: 'oauth2' };
const web = await client.discovery(
  new URL(cfg.issuer), cfg.web[0], undefined, client.ClientSecretBasic(cfg.web[1]), insecure);
const as = web.serverMetadata();
check(as.issuer === cfg.issuer, `issuer ${as.issuer}`);
check(as.token_endpoint === `${cfg.issuer}/oauth2/token`, as.token_endpoint);
check(as.supportsPKCE(), 'PKCE S256 advertised');
done.push('discovery');

/** The login form, submitted like a browser would; returns the Location of the code. */
async function signIn(url, user, password) {
  const page = await fetch(url, { redirect: 'manual' });
  check(page.status === 200, `login page ${page.status}`);
  const cookies = page.headers.getSetCookie().map((c) => c.split(';')[0]);
  const html = await page.text();
  const form = new URLSearchParams();
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    form.append(m[1], m[2].replaceAll('&quot;', '"').replaceAll('&#39;', "'")
      .replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&'));
  }
  form.append('username', user);
  form.append('password', password);
  const res = await fetch(new URL('/oauth2/login', cfg.issuer), {
    method: 'POST', body: form, redirect: 'manual', headers: { cookie: cookies.join('; ') },
  });
  check(res.status === 303, `login answer ${res.status}`);
  return new URL(res.headers.get('location'));
}

// Authorization code with PKCE, confidential client.
let verifier = client.randomPKCECodeVerifier();
let state = client.randomState();
let url = client.buildAuthorizationUrl(web, {
  redirect_uri: cfg.redirect_uri, scope: 'profile email', state,
  code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
});
let callback = await signIn(url, 'alice', 'alice-password-1');
const tokens = await client.authorizationCodeGrant(web, callback, {
  pkceCodeVerifier: verifier, expectedState: state,
});
check(tokens.token_type === 'bearer' && tokens.refresh_token && tokens.scope === 'profile email',
  JSON.stringify(tokens));
check(tokens.expiresIn() > 0, 'expires_in');
done.push('authorization_code + PKCE');

const info = await client.tokenIntrospection(web, tokens.access_token);
check(info.active === true && info.token_type === 'Bearer' && info.username === 'alice',
  JSON.stringify(info));
done.push('introspection');

// The same code again: invalid_grant (and what it produced is revoked).
try {
  await client.authorizationCodeGrant(web, callback, { pkceCodeVerifier: verifier, expectedState: state });
  throw new Error('a replayed code was accepted');
} catch (e) {
  check(e.error === 'invalid_grant' && e.status === 400, `${e.name} ${e.error} ${e.status}`);
}
check((await client.tokenIntrospection(web, tokens.access_token)).active === false, 'replay revoked');
done.push('replay refused');

// Refresh and revocation.
const fresh = await client.genericGrantRequest(web, 'password',
  { username: 'bob', password: 'bob-password-1', scope: 'profile' });
check(fresh.refresh_token && fresh.scope === 'profile', JSON.stringify(fresh));

// Token exchange (RFC 8693) with genericGrantRequest: advertised, an allowed audience, a
// narrower scope, issued_token_type; an audience off the client's allow-list is invalid_target.
const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const AT = 'urn:ietf:params:oauth:token-type:access_token';
check(as.grant_types_supported.includes(EXCHANGE), `advertised ${as.grant_types_supported}`);
const exchanged = await client.genericGrantRequest(web, EXCHANGE,
  { subject_token: fresh.access_token, subject_token_type: AT, audience: cfg.audience, scope: 'profile' });
check(exchanged.issued_token_type === AT && exchanged.scope === 'profile'
  && exchanged.refresh_token === undefined, JSON.stringify(exchanged));
const exchangedInfo = await client.tokenIntrospection(web, exchanged.access_token);
check(exchangedInfo.active === true && exchangedInfo.aud === cfg.audience
  && exchangedInfo.username === 'bob', JSON.stringify(exchangedInfo));
try {
  await client.genericGrantRequest(web, EXCHANGE,
    { subject_token: fresh.access_token, subject_token_type: AT, audience: 'elsewhere' });
  throw new Error('an audience off the allow-list was accepted');
} catch (e) {
  check(e.error === 'invalid_target' && e.status === 400, `${e.name} ${e.error} ${e.status}`);
}
done.push('token exchange');
const refreshed = await client.refreshTokenGrant(web, fresh.refresh_token);
check(refreshed.refresh_token !== fresh.refresh_token, 'rotated');
await client.tokenRevocation(web, refreshed.refresh_token);
check((await client.tokenIntrospection(web, refreshed.access_token)).active === false, 'revoked');
done.push('password, refresh, revocation');

// Client credentials: no refresh_token member (openid-client 6 rejects a null one).
const cc = await client.clientCredentialsGrant(web, { scope: 'email' });
check(cc.refresh_token === undefined && cc.scope === 'email', JSON.stringify(cc));
done.push('client_credentials');

// A wrong secret: 401 invalid_client.
const wrong = await client.discovery(
  new URL(cfg.issuer), cfg.web[0], undefined, client.ClientSecretPost('wrong'), insecure);
try {
  await client.clientCredentialsGrant(wrong);
  throw new Error('a wrong secret was accepted');
} catch (e) {
  check(e.status === 401, `${e.name} ${e.status}`);
}
done.push('invalid_client');

// A public client: no secret, PKCE.
const spa = await client.discovery(new URL(cfg.issuer), cfg.spa, undefined, client.None(), insecure);
verifier = client.randomPKCECodeVerifier();
state = client.randomState();
url = client.buildAuthorizationUrl(spa, {
  redirect_uri: cfg.redirect_uri, scope: 'profile', state,
  code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
});
callback = await signIn(url, 'bob', 'bob-password-1');
const spaTokens = await client.authorizationCodeGrant(spa, callback, {
  pkceCodeVerifier: verifier, expectedState: state,
});
check(spaTokens.access_token && spaTokens.refresh_token, JSON.stringify(spaTokens));
// Its verifier swapped for another: invalid_grant.
url = client.buildAuthorizationUrl(spa, {
  redirect_uri: cfg.redirect_uri, scope: 'profile', state,
  code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
});
callback = await signIn(url, 'bob', 'bob-password-1');
try {
  await client.authorizationCodeGrant(spa, callback, {
    pkceCodeVerifier: client.randomPKCECodeVerifier(), expectedState: state,
  });
  throw new Error('a wrong verifier was accepted');
} catch (e) {
  check(e.error === 'invalid_grant', `${e.name} ${e.error}`);
}
done.push('public client');

console.log(`OK ${done.join('; ')}`);
