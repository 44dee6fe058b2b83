//! Console sessions: after signing in with the admin token (or an admin's JWT) the browser
//! holds a signed, expiring cookie instead of the token; the token itself is never kept in
//! the browser, a URL, a page or a log.
//!
//! The cookie is `<claims>.<signature>`: the claims (who, a random session id, the expiry)
//! base64url-encoded, signed with HMAC-SHA256 under a key derived from the key-encryption key
//! (so a new deployment's key signs out everyone). A state-changing request made with the
//! cookie must also carry the session's CSRF token (derived from the session id, put in
//! every page) and come from this origin.

use crate::auth::Identity;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;

pub const COOKIE: &str = "simrunner_session";

/// How long a sign-in lasts.
pub const LIFETIME: Duration = Duration::hours(12);

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Claims {
    /// Who signed in: "admin token" or an email.
    who: String,
    /// Random, per sign-in: the CSRF token derives from it.
    id: String,
    /// Unix seconds.
    exp: i64,
}

/// A valid session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub who: String,
    pub id: String,
    pub expires: DateTime<Utc>,
}

impl Session {
    pub fn identity(&self) -> Identity {
        if self.who == ADMIN_TOKEN_USER {
            Identity::AdminToken
        } else {
            Identity::User {
                email: self.who.clone(),
            }
        }
    }
}

const ADMIN_TOKEN_USER: &str = "admin token";

/// Issues and checks session cookies.
pub struct Sessions {
    key: [u8; 32],
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sessions { key: [redacted] }")
    }
}

impl Sessions {
    pub fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    /// Sessions signed under a key derived from the key-encryption key: every instance of a
    /// deployment accepts the others' cookies, and a new key signs everyone out.
    pub fn for_keyring(keyring: &simrunner::secrets::Keyring) -> Self {
        Self::new(keyring.derive_key("console sessions v1"))
    }

    fn sign(&self, purpose: &str, text: &str) -> Vec<u8> {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(text.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// A cookie value for `identity`, valid for [`LIFETIME`] from `now`.
    pub fn issue(&self, identity: &Identity, now: DateTime<Utc>) -> String {
        let who = match identity {
            Identity::AdminToken => ADMIN_TOKEN_USER.to_owned(),
            Identity::User { email } => email.clone(),
        };
        let claims = Claims {
            who,
            id: simrunner::secrets::random_hex(16),
            exp: (now + LIFETIME).timestamp(),
        };
        let payload =
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).expect("claims serialise"));
        let signature = URL_SAFE_NO_PAD.encode(self.sign("session", &payload));
        format!("{payload}.{signature}")
    }

    /// The session a cookie value holds, if it is ours, untampered and unexpired.
    pub fn verify(&self, cookie: &str, now: DateTime<Utc>) -> Option<Session> {
        let (payload, signature) = cookie.split_once('.')?;
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        if !bool::from(self.sign("session", payload).ct_eq(&signature)) {
            return None;
        }
        let claims: Claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
        let expires = DateTime::from_timestamp(claims.exp, 0)?;
        (expires > now).then_some(Session {
            who: claims.who,
            id: claims.id,
            expires,
        })
    }

    /// The token a page sends back with every state-changing request of this session.
    pub fn csrf_token(&self, session: &Session) -> String {
        hex::encode(self.sign("csrf", &session.id))
    }

    pub fn csrf_matches(&self, session: &Session, token: &str) -> bool {
        bool::from(self.csrf_token(session).as_bytes().ct_eq(token.as_bytes()))
    }
}

/// The session cookie's value from a `Cookie` header.
pub fn cookie_value(cookie_header: &str) -> Option<&str> {
    cookie_header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
}

/// `Set-Cookie` for a new session: HttpOnly, SameSite=Strict, and Secure when the console is
/// served over HTTPS.
pub fn set_cookie(value: &str, secure: bool) -> String {
    format!(
        "{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        LIFETIME.num_seconds(),
        if secure { "; Secure" } else { "" }
    )
}

/// `Set-Cookie` that signs out.
pub fn clear_cookie(secure: bool) -> String {
    format!(
        "{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_signed_expires_and_cannot_be_forged() {
        let sessions = Sessions::new([7; 32]);
        let now = Utc::now();
        let cookie = sessions.issue(
            &Identity::User {
                email: "ops@example.com".into(),
            },
            now,
        );
        let session = sessions.verify(&cookie, now).unwrap();
        assert_eq!(
            session.identity(),
            Identity::User {
                email: "ops@example.com".into()
            }
        );
        assert!(
            sessions
                .verify(&cookie, now + LIFETIME + Duration::seconds(1))
                .is_none(),
            "expired"
        );
        assert!(
            Sessions::new([8; 32]).verify(&cookie, now).is_none(),
            "another key"
        );
        // Changing the claims (here: who) breaks the signature.
        let (payload, signature) = cookie.split_once('.').unwrap();
        let mut claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        claims["who"] = "admin token".into();
        let forged = format!("{}.{signature}", URL_SAFE_NO_PAD.encode(claims.to_string()));
        assert!(sessions.verify(&forged, now).is_none());
        assert!(sessions.verify("garbage", now).is_none());

        let csrf = sessions.csrf_token(&session);
        assert!(sessions.csrf_matches(&session, &csrf));
        assert!(!sessions.csrf_matches(&session, "0000"));
        let other = sessions
            .verify(&sessions.issue(&Identity::AdminToken, now), now)
            .unwrap();
        assert!(
            !sessions.csrf_matches(&other, &csrf),
            "a token belongs to its session"
        );
    }

    #[test]
    fn the_cookie_is_http_only_strict_and_secure_over_https() {
        assert_eq!(
            cookie_value("a=1; simrunner_session=abc.def; b=2"),
            Some("abc.def")
        );
        let cookie = set_cookie("v", true);
        for part in [
            "HttpOnly",
            "SameSite=Strict",
            "Secure",
            "Max-Age=43200",
            "Path=/",
        ] {
            assert!(cookie.contains(part), "{cookie}");
        }
        assert!(!set_cookie("v", false).contains("Secure"));
        assert!(clear_cookie(false).contains("Max-Age=0"));
    }
}
