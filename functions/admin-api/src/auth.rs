//! Bearer authentication for every `/v1/admin/*` route. There is deliberately no switch to
//! turn it off. A request is let in with either
//! - the configured admin token (compared in constant time), or
//! - a JWT (HS256 shared secret or RS256 public key, e.g. from Supabase or Cognito) whose
//!   `email` claim is on the allowlist.
//!
//! No credentials or bad ones: 401. A valid identity that is not an admin: 403.
//!
//! The console signs in once with either of those and then holds a session cookie
//! ([`crate::session`]); a request with the cookie and no `Authorization` header is let in
//! as the session's identity, and one that changes state must also come from this origin and
//! carry the session's CSRF token (`X-CSRF-Token`), or it is refused with 403.

use crate::error::{ApiError, ErrorCode};
use crate::session::{Session, Sessions, cookie_value};
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, COOKIE, HOST, ORIGIN, REFERER};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use simrunner::settings::Secret;
use std::collections::HashSet;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// Who made a request, for the audit trail in logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    AdminToken,
    User { email: String },
}

/// How JWTs are verified.
pub struct JwtVerifier {
    key: DecodingKey,
    validation: Validation,
    allowed_emails: HashSet<String>,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("algorithms", &self.validation.algorithms)
            .field("allowed_emails", &self.allowed_emails.len())
            .finish_non_exhaustive()
    }
}

/// The key a JWT must be signed with.
#[derive(Debug)]
pub enum JwtKey {
    Hs256(Secret<String>),
    Rs256PublicPem(String),
}

impl JwtVerifier {
    /// Fails with a message naming what is wrong with the key (never the key itself).
    pub fn new(
        key: &JwtKey,
        allowed_emails: impl IntoIterator<Item = String>,
        issuer: Option<&str>,
        audience: Option<&str>,
    ) -> Result<Self, String> {
        let (key, algorithm) = match key {
            JwtKey::Hs256(secret) => (
                DecodingKey::from_secret(secret.expose().as_bytes()),
                Algorithm::HS256,
            ),
            JwtKey::Rs256PublicPem(pem) => (
                DecodingKey::from_rsa_pem(pem.as_bytes())
                    .map_err(|e| format!("not an RSA public key in PEM form: {e}"))?,
                Algorithm::RS256,
            ),
        };
        let mut validation = Validation::new(algorithm);
        validation.leeway = 30;
        match audience {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }
        if let Some(iss) = issuer {
            validation.set_issuer(&[iss]);
        }
        Ok(Self {
            key,
            validation,
            allowed_emails: allowed_emails
                .into_iter()
                .map(|e| e.trim().to_lowercase())
                .filter(|e| !e.is_empty())
                .collect(),
        })
    }
}

#[derive(Deserialize)]
struct Claims {
    email: Option<String>,
}

/// Decides who may use the admin API.
#[derive(Debug)]
pub struct Authenticator {
    token_digest: Option<[u8; 32]>,
    jwt: Option<JwtVerifier>,
    pub sessions: Sessions,
}

fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

impl Authenticator {
    /// `sessions` signs the console's cookies (see [`Sessions::for_keyring`]).
    pub fn new(
        admin_token: Option<&Secret<String>>,
        jwt: Option<JwtVerifier>,
        sessions: Sessions,
    ) -> Self {
        Self {
            token_digest: admin_token.map(|t| digest(t.expose())),
            jwt,
            sessions,
        }
    }

    /// The console session a request's cookie holds, if valid.
    pub fn session(&self, headers: &HeaderMap) -> Option<Session> {
        let cookie = headers.get(COOKIE)?.to_str().ok()?;
        self.sessions
            .verify(cookie_value(cookie)?, chrono::Utc::now())
    }

    /// A request made with the session cookie: a state-changing one must come from this
    /// origin and carry the session's CSRF token (`X-CSRF-Token`).
    fn check_session_request(
        &self,
        session: &Session,
        method: &Method,
        headers: &HeaderMap,
    ) -> Result<(), ApiError> {
        if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
            return Ok(());
        }
        let token = headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        self.check_session_change(session, headers, token)
    }

    /// A change made with the session cookie (an API call, or the console's sign-out form):
    /// it must come from this origin and carry `csrf`, the session's CSRF token.
    pub fn check_session_change(
        &self,
        session: &Session,
        headers: &HeaderMap,
        csrf: &str,
    ) -> Result<(), ApiError> {
        if !same_origin(headers) {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "cross-site request refused: it must come from this console's own pages",
            ));
        }
        if !self.sessions.csrf_matches(session, csrf) {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "missing or wrong CSRF token: reload the page and try again",
            ));
        }
        Ok(())
    }

    /// Checks an `Authorization` header value.
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<Identity, ApiError> {
        let unauthorized = |message: &str| ApiError::new(ErrorCode::Unauthorized, message);
        let header = authorization.ok_or_else(|| {
            unauthorized("missing credentials: send Authorization: Bearer <admin token or JWT>")
        })?;
        let token = header
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|token| !token.is_empty())
            .ok_or_else(|| unauthorized("the Authorization header must be: Bearer <token>"))?;

        // Hashing first makes the comparison constant-time whatever the lengths.
        if let Some(expected) = &self.token_digest
            && bool::from(digest(token).ct_eq(expected))
        {
            return Ok(Identity::AdminToken);
        }
        let Some(jwt) = &self.jwt else {
            return Err(unauthorized("invalid credentials"));
        };
        if token.split('.').count() != 3 {
            return Err(unauthorized("invalid credentials"));
        }
        let claims = jsonwebtoken::decode::<Claims>(token, &jwt.key, &jwt.validation)
            .map_err(|e| {
                tracing::info!(reason = %e, "rejected a JWT");
                unauthorized("invalid or expired token")
            })?
            .claims;
        let email = claims
            .email
            .map(|e| e.trim().to_lowercase())
            .unwrap_or_default();
        if email.is_empty() {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "the token has no email claim, so it cannot be on the admin allowlist",
            ));
        }
        if !jwt.allowed_emails.contains(&email) {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                format!("{email} is not an admin of this simrunner"),
            ));
        }
        Ok(Identity::User { email })
    }
}

/// Middleware for the admin routes: rejects the request or records who made it.
pub async fn require_admin(
    State(auth): State<Arc<Authenticator>>,
    mut request: Request,
    next: Next,
) -> Response {
    let header = request
        .headers()
        .get(AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or("\u{fffd}"));
    // The console's cookie counts only when no Authorization header is sent.
    let from_session = match header {
        Some(_) => None,
        None => auth.session(request.headers()),
    };
    let identity = match from_session {
        Some(session) => auth
            .check_session_request(&session, request.method(), request.headers())
            .map(|()| session.identity()),
        None => auth.authenticate(header),
    };
    match identity {
        Ok(identity) => {
            tracing::debug!(?identity, "authenticated");
            request.extensions_mut().insert(identity);
            next.run(request).await
        }
        Err(error) => error.into_response(),
    }
}

/// Whether a request's `Origin` (or, without one, its `Referer`) names the host it was sent
/// to: `X-Forwarded-Host` when the CDN in front sets it, else `Host`. Browsers send `Origin`
/// with every cross-origin request and with every non-GET fetch, so a forged form or script
/// on another site (another port of localhost included) fails; and a page on another site
/// cannot set `X-Forwarded-Host` on a request it forges.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(host) = headers
        .get("x-forwarded-host")
        .or_else(|| headers.get(HOST))
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let source = headers
        .get(ORIGIN)
        .or_else(|| headers.get(REFERER))
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let authority = source
        .split_once("://")
        .map(|(_, rest)| rest.split('/').next().unwrap_or(""))
        .unwrap_or("");
    !authority.is_empty() && authority.eq_ignore_ascii_case(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_requests_from_the_same_host_and_port_count_as_same_origin() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut map = HeaderMap::new();
            for (name, value) in pairs {
                map.insert(*name, value.parse().unwrap());
            }
            map
        };
        let host = ("host", "localhost:8080");
        assert!(same_origin(&headers(&[
            host,
            ("origin", "http://localhost:8080")
        ])));
        assert!(same_origin(&headers(&[
            host,
            ("referer", "http://localhost:8080/admin")
        ])));
        assert!(!same_origin(&headers(&[
            host,
            ("origin", "http://localhost:9999")
        ])));
        assert!(!same_origin(&headers(&[
            host,
            ("origin", "http://evil.example")
        ])));
        assert!(!same_origin(&headers(&[host, ("origin", "null")])));
        assert!(!same_origin(&headers(&[host])), "no origin at all");
        assert!(
            !same_origin(&headers(&[("origin", "http://localhost:8080")])),
            "no host"
        );
        let behind_cdn = [
            ("host", "abc.execute-api.aws"),
            ("x-forwarded-host", "d1.cloudfront.net"),
        ];
        let mut with_origin = behind_cdn.to_vec();
        with_origin.push(("origin", "https://d1.cloudfront.net"));
        assert!(same_origin(&headers(&with_origin)));
    }
}
