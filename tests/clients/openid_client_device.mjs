// The device authorization grant (RFC 8628) driven by openid-client 6 (pinned in
// tests/clients/package.json): RFC 8414 discovery, `initiateDeviceAuthorization` for a
// public client, then `pollDeviceAuthorizationGrant` (the library waits `interval`, handles
// `authorization_pending` and `slow_down`) while the user approves in a browser, then a
// refresh with the refresh token it got.
//
// Run by tests/it/device.rs (`openid_client_6_device_flow_in_chromium`) with one JSON
// argument: {"issuer": "...", "client_id": "tv"}. Prints `VISIT <verification_uri_complete>`
// first (the test opens it in headless Chromium), then `OK <summary>`; any failed check
// throws (non-zero exit).

import * as client from 'openid-client';

const cfg = JSON.parse(process.argv[2]);
const done = [];

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

const config = await client.discovery(
  new URL(cfg.issuer), cfg.client_id, undefined, client.None(),
  { execute: [client.allowInsecureRequests], algorithm: 'oauth2' });
const meta = config.serverMetadata();
check(meta.device_authorization_endpoint === `${cfg.issuer}/oauth2/device_authorization`,
  'device_authorization_endpoint advertised');
check(meta.grant_types_supported.includes('urn:ietf:params:oauth:grant-type:device_code'),
  'the device grant advertised');
done.push('RFC 8414 discovery');

const started = await client.initiateDeviceAuthorization(config, { scope: 'profile' });
check(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/.test(started.user_code),
  `user_code ${started.user_code}`);
check(started.verification_uri === `${cfg.issuer}/oauth2/device`, started.verification_uri);
check(started.verification_uri_complete.endsWith(`?user_code=${started.user_code}`),
  started.verification_uri_complete);
check(started.interval === 5 && started.expires_in === 600, 'interval and expires_in');
console.log(`VISIT ${started.verification_uri_complete}`);
done.push('initiateDeviceAuthorization');

const tokens = await client.pollDeviceAuthorizationGrant(config, started);
check(typeof tokens.access_token === 'string' && tokens.access_token.length > 20, 'access_token');
check(tokens.token_type.toLowerCase() === 'bearer', tokens.token_type);
check(tokens.scope === 'profile', `scope ${tokens.scope}`);
check(typeof tokens.refresh_token === 'string', 'refresh_token');
done.push('pollDeviceAuthorizationGrant');

const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
check(refreshed.access_token !== tokens.access_token, 'a new access token');
done.push('refreshTokenGrant');

console.log(`OK ${done.join(', ')}`);
