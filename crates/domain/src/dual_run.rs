//! What dual-run and the migration report keep (issue 22): the outcome of comparing a
//! legacy service's answer with Gatehouse's, the differences recorded (already redacted by
//! the caller: the domain never sees a secret here), and the use of the legacy dialects per
//! client, aggregated in memory by the server and added to the store periodically.

use time::OffsetDateTime;

/// One difference worth keeping: both answers are redacted before they get here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// When it was seen.
    pub recorded_at: OffsetDateTime,
    /// `observe` or `primary`.
    pub mode: String,
    /// The dialect label (`katana`, `v1`, `member`, `otc`, `onetime`).
    pub dialect: String,
    /// The normalised route (`/api/v1/auth/token`).
    pub endpoint: String,
    /// The client the request named, when it named one.
    pub client_id: Option<String>,
    /// The kinds of difference, comma separated (`status,members`).
    pub kinds: String,
    /// What differed, in words (member names and shapes, never values of secrets).
    pub detail: String,
    /// Gatehouse's answer, redacted.
    pub gatehouse_answer: String,
    /// The legacy service's answer, redacted.
    pub upstream_answer: String,
}

/// One counter of comparisons: `kind` is `compared`, `same`, a kind of difference, or an
/// upstream failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComparisonCount {
    /// The dialect label.
    pub dialect: String,
    /// The normalised route.
    pub endpoint: String,
    /// What was counted.
    pub kind: String,
    /// How many.
    pub count: u64,
}

/// Legacy-dialect use of one client in one dialect: a delta (what the server saw since the
/// last flush) or, read back, the totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    /// The client id the request named (`""`: none).
    pub client_id: String,
    /// The dialect label.
    pub dialect: String,
    /// Requests.
    pub requests: u64,
    /// First request seen.
    pub first_seen: OffsetDateTime,
    /// Last request seen.
    pub last_seen: OffsetDateTime,
    /// Legacy-only features used, each a count of requests.
    pub features: FeatureCounts,
}

/// How many requests used each legacy-only feature.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeatureCounts {
    /// The resource-owner password grant (a password sent to the token server).
    pub password_grant: u64,
    /// A form body (`application/x-www-form-urlencoded`).
    pub form_body: u64,
    /// An XML body.
    pub xml_body: u64,
    /// v1's Windows authentication.
    pub windows_auth: u64,
    /// One-time codes (issued or redeemed).
    pub onetime_code: u64,
    /// A legacy Katana ticket (a Bearer token in a legacy dialect).
    pub katana_ticket: u64,
}

impl FeatureCounts {
    /// Adds `other` to these counts (saturating).
    pub fn add(&mut self, other: &FeatureCounts) {
        self.password_grant = self.password_grant.saturating_add(other.password_grant);
        self.form_body = self.form_body.saturating_add(other.form_body);
        self.xml_body = self.xml_body.saturating_add(other.xml_body);
        self.windows_auth = self.windows_auth.saturating_add(other.windows_auth);
        self.onetime_code = self.onetime_code.saturating_add(other.onetime_code);
        self.katana_ticket = self.katana_ticket.saturating_add(other.katana_ticket);
    }

    /// The names and counts, in the report's order.
    pub fn named(&self) -> [(&'static str, u64); 6] {
        [
            ("password_grant", self.password_grant),
            ("form_body", self.form_body),
            ("xml_body", self.xml_body),
            ("windows_auth", self.windows_auth),
            ("onetime_code", self.onetime_code),
            ("katana_ticket", self.katana_ticket),
        ]
    }
}

impl Usage {
    /// Adds a later delta of the same client and dialect.
    pub fn add(&mut self, later: &Usage) {
        self.requests = self.requests.saturating_add(later.requests);
        self.first_seen = self.first_seen.min(later.first_seen);
        self.last_seen = self.last_seen.max(later.last_seen);
        self.features.add(&later.features);
    }
}

/// What `gatehouse migration report` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    /// Use per client and dialect, by dialect then client.
    pub usage: Vec<Usage>,
    /// Dual-run counters, by dialect, endpoint and kind.
    pub comparisons: Vec<ComparisonCount>,
    /// Differences stored (at most the configured cap).
    pub differences_stored: u64,
    /// Users created or completed by credential capture so far.
    pub users_captured: u64,
    /// Users import marked `capture` who have not logged in since.
    pub users_to_capture: u64,
}
