//! DPoP (RFC 9449) at the HTTP edge: the one `DPoP` header of a request, checked against the
//! endpoint's public URL under the configured issuer (never the `Host` header) by the
//! domain ([`gatehouse_domain::dpop`]), and the server nonces of section 8.

use actix_web::http::StatusCode;
use actix_web::HttpRequest;
use gatehouse_domain::dpop::{self, DpopRejection, ProofRequest, VerifiedProof};
use gatehouse_domain::Error as DomainError;
use gatehouse_models::oauth::ErrorCode;

use super::error::OAuthAnswer;
use super::{ApiError, Endpoint};
use crate::AppState;

/// The header that carries a fresh nonce (section 8).
pub const NONCE_HEADER: &str = "DPoP-Nonce";

/// Whether DPoP is on (`--dpop`).
pub fn enabled(state: &AppState) -> bool {
    state.service.config().dpop
}

/// The request's `DPoP` header: `None` when absent; refused when sent more than once
/// (section 4.3 step 1), longer than [`dpop::MAX_PROOF_BYTES`] or not visible ASCII.
///
/// # Errors
/// `Dpop(Multiple)`, `Dpop(Malformed)`.
pub fn proof_header(req: &HttpRequest) -> Result<Option<String>, DomainError> {
    let mut values = req.headers().get_all(dpop::HEADER);
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(DomainError::Dpop(DpopRejection::Multiple));
    }
    if first.len() > dpop::MAX_PROOF_BYTES {
        return Err(DomainError::Dpop(DpopRejection::Malformed));
    }
    first
        .to_str()
        .map(|v| Some(v.trim().to_owned()))
        .map_err(|_| DomainError::Dpop(DpopRejection::Malformed))
}

/// Checks and records the request's proof for `endpoint` (with `access_token` at a
/// resource: `ath`). `None` when DPoP is off or the request carries no proof.
///
/// # Errors
/// `Domain(Dpop(..))` for a refused proof, `Internal`/`Storage` otherwise.
pub async fn accept(
    state: &AppState,
    req: &HttpRequest,
    endpoint: Endpoint,
    access_token: Option<&str>,
) -> Result<Option<VerifiedProof>, ApiError> {
    if !enabled(state) {
        return Ok(None);
    }
    let Some(proof) = proof_header(req)? else {
        return Ok(None);
    };
    let url = format!("{}{}", state.issuer(), endpoint.route());
    let method = req.method().as_str().to_owned();
    let access_token = access_token.map(str::to_owned);
    let nonce_key = state
        .service
        .config()
        .dpop_nonce
        .then(|| state.form_key().clone());
    state
        .blocking(move |s| {
            s.accept_dpop_proof(&ProofRequest {
                proof: &proof,
                method: &method,
                url: &url,
                access_token: access_token.as_deref(),
                nonce_key: nonce_key.as_ref(),
            })
        })
        .await
        .map(Some)
}

/// The nonce to hand out now, when nonces are required.
pub fn fresh_nonce(state: &AppState) -> Option<String> {
    let config = state.service.config();
    (config.dpop && config.dpop_nonce)
        .then(|| dpop::nonce(state.form_key(), state.service.clock().now()))
}

/// Section 8 at the token endpoint: `use_dpop_nonce` (400) with a fresh `DPoP-Nonce`.
pub fn use_nonce(state: &AppState) -> actix_web::HttpResponse {
    let mut answer = OAuthAnswer::new(
        StatusCode::BAD_REQUEST,
        ErrorCode::Other("use_dpop_nonce".to_owned()),
        "Authorization server requires nonce in DPoP proof.",
    );
    if let Some(nonce) = fresh_nonce(state) {
        answer = answer.dpop_nonce(nonce);
    }
    answer.respond()
}
