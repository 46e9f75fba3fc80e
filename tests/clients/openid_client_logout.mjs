// PAR and RP-initiated logout driven by openid-client 6 (pinned in tests/clients/package.json):
// OpenID discovery, the code flow with PKCE and nonce pushed first (buildAuthorizationUrlWithPAR;
// the id_token validated by the library), a replayed request_uri refused,
// then `buildEndSessionUrl` with id_token_hint, post_logout_redirect_uri and state, followed
// like a browser with its session cookie. Another client's post-logout URI is refused.
//
// Run by tests/it/logout.rs (`openid_client_6_logout`) with one JSON argument:
//   {"issuer": "...", "redirect_uri": "...", "client": ["id", "secret"],
//    "post_logout": "...", "foreign_post_logout": "..."}
// Prints `OK <summary>`; any failed check throws (non-zero exit).

import * as client from 'openid-client';

const cfg = JSON.parse(process.argv[2]);
const done = [];

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

const config = await client.discovery(
  new URL(cfg.issuer), cfg.client[0], undefined, client.ClientSecretBasic(cfg.client[1]),
  { execute: [client.allowInsecureRequests] });
check(config.serverMetadata().end_session_endpoint === `${cfg.issuer}/oauth2/logout`,
  'end_session_endpoint advertised');
done.push('OpenID discovery');

const jar = new Map();
function keep(res) {
  for (const c of res.headers.getSetCookie()) {
    const [pair] = c.split(';');
    const [name, value] = pair.split('=');
    if (value === '' || /Max-Age=0/.test(c)) jar.delete(name); else jar.set(name, value);
  }
  return res;
}
async function browse(url, init = {}) {
  const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  return keep(await fetch(url, { ...init, redirect: 'manual', headers: { ...(init.headers || {}), cookie } }));
}

async function signIn(url) {
  const page = await browse(url);
  check(page.status === 200, `login page ${page.status}`);
  const html = await page.text();
  const form = new URLSearchParams();
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    form.append(m[1], m[2].replaceAll('&quot;', '"').replaceAll('&#39;', "'")
      .replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&'));
  }
  form.append('username', 'alice');
  form.append('password', 'alice-password-1');
  const res = await browse(new URL('/oauth2/login', cfg.issuer), { method: 'POST', body: form });
  check(res.status === 303, `login answer ${res.status}`);
  return new URL(res.headers.get('location'));
}

const verifier = client.randomPKCECodeVerifier();
const state = client.randomState();
const nonce = client.randomNonce();
// Pushed authorization request (RFC 9126): the browser carries client_id and request_uri only.
check(config.serverMetadata().pushed_authorization_request_endpoint === `${cfg.issuer}/oauth2/par`,
  'PAR advertised');
const parUrl = await client.buildAuthorizationUrlWithPAR(config, {
  redirect_uri: cfg.redirect_uri, scope: 'openid', state, nonce,
  code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
});
check([...parUrl.searchParams.keys()].sort().join() === 'client_id,request_uri', parUrl.href);
const callback = await signIn(parUrl);
// The request_uri is single use.
const replay = await browse(parUrl);
check(replay.status === 400 && !replay.headers.get('location'), `request_uri replay ${replay.status}`);
done.push('PAR (buildAuthorizationUrlWithPAR), request_uri single use');
const tokens = await client.authorizationCodeGrant(config, callback, {
  pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true,
});
check(tokens.claims().sid, 'the id_token carries sid');
done.push('code flow, id_token validated');

// Another client's post-logout URI: a page, no redirect, still signed in.
const foreign = await browse(client.buildEndSessionUrl(config, {
  id_token_hint: tokens.id_token, post_logout_redirect_uri: cfg.foreign_post_logout, state: 'x',
}));
check(foreign.status === 400 && !foreign.headers.get('location'), `foreign URI ${foreign.status}`);
done.push("another client's post_logout_redirect_uri refused");

const logoutState = client.randomState();
const end = client.buildEndSessionUrl(config, {
  id_token_hint: tokens.id_token, post_logout_redirect_uri: cfg.post_logout, state: logoutState,
});
const res = await browse(end);
check(res.status === 303, `end session ${res.status}`);
const back = new URL(res.headers.get('location'));
check(`${back.origin}${back.pathname}` === cfg.post_logout, back.href);
check(back.searchParams.get('state') === logoutState, 'state echoed');
check(!jar.has('gatehouse_session'), 'session cookie cleared');
done.push('end session redirected with state');

// The session is over: prompt=none is login_required.
const again = await browse(client.buildAuthorizationUrl(config, {
  redirect_uri: cfg.redirect_uri, scope: 'openid', prompt: 'none', state: 'p',
  code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
}));
check(new URL(again.headers.get('location')).searchParams.get('error') === 'login_required',
  'signed out');
check((await client.tokenIntrospection(config, tokens.access_token)).active === false,
  'tokens of the session ended');
done.push('session and tokens ended');

console.log(`OK ${done.join('; ')}`);
