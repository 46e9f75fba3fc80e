//! The device authorization grant (RFC 8628) on both backends with a mock clock: a device
//! code expires (`expired_token`), polling faster than its interval raises it
//! (`slow_down`), the per-client outstanding cap counts only live codes, an approval dies
//! with the browser session that gave it, and a redeemed code is single use.

use gatehouse_domain::device::{DeviceGrant, DevicePoll};
use gatehouse_domain::secret::Secret;
use gatehouse_domain::{Config, Error, GrantKind, GrantRejection};
use time::Duration;

use crate::support::{fx_with, public_client};

fn poll_of(g: Result<DeviceGrant, Error>) -> Result<DevicePoll, String> {
    match g {
        Ok(DeviceGrant::Poll(p)) => Ok(p),
        Ok(DeviceGrant::Issued(_)) => Err("issued".to_owned()),
        Err(e) => Err(e.to_string()),
    }
}

pub fn device_codes_expire_slow_down_are_capped_and_single_use() {
    let fx = fx_with(Config {
        max_device_codes_per_client: 3,
        ..Config::default()
    });
    let gh = &fx.gh;
    let client = public_client();
    let first = gh.device_authorization(&client, None).expect("issued");
    let code = first.device_code.expose().to_owned();
    let poll = |code: &str| poll_of(gh.device_code_grant(&client, code, None));
    assert_eq!(poll(&code), Ok(DevicePoll::Pending));
    assert_eq!(poll(&code), Ok(DevicePoll::SlowDown));
    fx.clock.advance(Duration::seconds(6));
    // The interval is now 10 s: 6 s later is still too fast.
    assert_eq!(poll(&code), Ok(DevicePoll::SlowDown));
    fx.clock.advance(Duration::seconds(16));
    assert_eq!(poll(&code), Ok(DevicePoll::Pending));

    // The outstanding cap (3 here): the fourth is refused until codes expire.
    gh.device_authorization(&client, None).expect("second");
    let third = gh.device_authorization(&client, None).expect("third");
    assert!(matches!(
        gh.device_authorization(&client, None),
        Err(Error::RateLimited { .. })
    ));
    fx.clock.advance(Duration::minutes(10));
    assert_eq!(poll(&code), Ok(DevicePoll::Expired));
    assert!(
        gh.device_request(&third.user_code, vec![])
            .expect("read")
            .is_err(),
        "an expired user code is not pending"
    );
    let fourth = gh
        .device_authorization(&client, None)
        .expect("expired codes no longer count");

    // Approved by a browser session that then ends: refused at redemption.
    let login = gh
        .browser_login("alice", &Secret::from("alice-password-1"), None)
        .expect("login");
    gh.decide_device_request(&fourth.user_code, &login.session, true)
        .expect("approved");
    assert!(
        gh.decide_device_request(&fourth.user_code, &login.session, false)
            .is_err(),
        "decided once"
    );
    gh.end_browser_session(login.cookie.expose())
        .expect("logout");
    let refused = gh.device_code_grant(&client, fourth.device_code.expose(), None);
    assert!(
        matches!(
            refused,
            Err(Error::InvalidGrant(GrantRejection::BrowserSessionEnded))
        ),
        "{refused:?}"
    );

    // Approved and redeemed once; the replay ends the session.
    let fifth = gh.device_authorization(&client, None).expect("fifth");
    let login = gh
        .browser_login("bob", &Secret::from("bob-password-1"), None)
        .expect("login");
    gh.decide_device_request(&fifth.user_code, &login.session, true)
        .expect("approved");
    let issued = match gh.device_code_grant(&client, fifth.device_code.expose(), None) {
        Ok(DeviceGrant::Issued(t)) => t,
        other => panic!("{other:?}"),
    };
    fx.clock.advance(Duration::seconds(6));
    let replay = gh.device_code_grant(&client, fifth.device_code.expose(), None);
    assert!(
        matches!(
            replay,
            Err(Error::InvalidGrant(GrantRejection::Replayed(
                GrantKind::DeviceCode
            )))
        ),
        "{replay:?}"
    );
    assert!(gh
        .validate_access_token(issued.access_token.expose())
        .is_err());
}

both!(device_codes_expire_slow_down_are_capped_and_single_use);
