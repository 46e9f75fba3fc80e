//! Scope rules: normalising, granting, narrowing and intersecting space-separated scopes.

use crate::error::Error;
use crate::model::Client;

use super::client_auth::WithoutClient;
use super::Result;

/// Space-separated, duplicates removed, order kept.
pub(crate) fn normalize_scope(scope: &str) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for item in scope.split_ascii_whitespace() {
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    seen.join(" ")
}

/// The scope to grant: the client's whole scope when none is requested, else the requested
/// one, which must be within the client's (`InvalidScope`, RFC 6749 section 3.3). Without a
/// client only [`WithoutClient::Scope`] grants anything, and only within that fixed scope.
pub(crate) fn grant_scope(
    client: Option<&Client>,
    without: &WithoutClient,
    requested: Option<&str>,
) -> Result<String> {
    match (client, without) {
        (Some(client), _) => narrow_scope(&client.scope, requested),
        (None, WithoutClient::Scope(fixed)) => narrow_scope(fixed, requested),
        (None, _) => Err(Error::InvalidClient),
    }
}

/// The items of `a` that are also in `b`, in `a`'s order.
pub(crate) fn intersect_scope(a: &str, b: &str) -> String {
    let b: Vec<&str> = b.split_ascii_whitespace().collect();
    normalize_scope(
        &a.split_ascii_whitespace()
            .filter(|item| b.contains(item))
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// `requested` (if any) must be within `allowed`.
pub(crate) fn narrow_scope(allowed: &str, requested: Option<&str>) -> Result<String> {
    let Some(requested) = requested.map(normalize_scope).filter(|s| !s.is_empty()) else {
        return Ok(normalize_scope(allowed));
    };
    let allowed: Vec<&str> = allowed.split_ascii_whitespace().collect();
    if requested
        .split_ascii_whitespace()
        .all(|item| allowed.contains(&item))
    {
        Ok(requested)
    } else {
        Err(Error::InvalidScope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_rules() {
        assert_eq!(normalize_scope(" a  b a "), "a b");
        assert_eq!(
            narrow_scope("openid profile", None).ok().as_deref(),
            Some("openid profile")
        );
        assert_eq!(
            narrow_scope("openid profile", Some("profile"))
                .ok()
                .as_deref(),
            Some("profile")
        );
        assert!(matches!(
            narrow_scope("openid profile", Some("admin")),
            Err(Error::InvalidScope)
        ));
        // No client: refused, unless a fixed scope is configured; then only within it.
        assert!(matches!(
            grant_scope(None, &WithoutClient::Refuse, Some("admin")),
            Err(Error::InvalidClient)
        ));
        let katana = WithoutClient::Scope("openid".to_owned());
        assert_eq!(
            grant_scope(None, &katana, None).ok().as_deref(),
            Some("openid")
        );
        assert!(matches!(
            grant_scope(None, &katana, Some("admin root")),
            Err(Error::InvalidScope)
        ));
        assert_eq!(
            grant_scope(None, &WithoutClient::Scope(String::new()), None)
                .ok()
                .as_deref(),
            Some("")
        );
        assert_eq!(
            intersect_scope("openid profile admin", "admin openid"),
            "openid admin"
        );
        assert_eq!(intersect_scope("a", ""), "");
    }
}
