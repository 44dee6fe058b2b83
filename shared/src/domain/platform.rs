//! Remote platforms: MoltPoker-compatible servers whose tables simulations can play at.

use super::ValidationErrors;
use crate::settings::Secret;

pub const PLATFORM_NAME_CHARS: std::ops::RangeInclusive<usize> = 1..=100;
/// Admin credentials are tokens or JWTs; longer input is not one.
pub const CREDENTIAL_MAX_CHARS: usize = 4096;
/// A base URL as stored (escaped by the URL parser): the `platforms.base_url` column's limit.
pub const BASE_URL_MAX_CHARS: usize = 2048;

/// Unvalidated input for a platform.
#[derive(Debug, Default)]
pub struct PlatformDraft {
    pub name: Option<String>,
    pub base_url: Option<String>,
    pub credential: Option<Secret<String>>,
}

/// A platform ready to be stored (its credential sealed by the store).
#[derive(Debug)]
pub struct NewPlatform {
    pub name: String,
    /// `http(s)://host[:port][/path]`, without a trailing slash, query or fragment.
    pub base_url: String,
    pub credential: Secret<String>,
}

impl NewPlatform {
    /// What may be shown of the credential.
    pub fn credential_last4(&self) -> String {
        let text = self.credential.expose();
        let start = text.char_indices().rev().nth(3).map_or(0, |(i, _)| i);
        text[start..].to_owned()
    }
}

/// A platform's base URL: an http(s) URL the operator trusts (platforms are chosen by the
/// admin, and may well live in the operator's own network), with no credentials in it.
pub fn parse_base_url(text: &str) -> Result<String, String> {
    let url = url::Url::parse(text.trim()).map_err(|e| format!("is not a valid URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must be an http:// or https:// URL".into());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("must name a host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials; give the admin credential on its own".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must not have a query or a fragment".into());
    }
    let url = url.as_str().trim_end_matches('/');
    // Checked as written out: the parser escapes characters (a space in the path becomes
    // `%20`), so input within the limit may not be.
    if url.chars().count() > BASE_URL_MAX_CHARS {
        return Err(format!(
            "must be at most {BASE_URL_MAX_CHARS} characters, with special characters escaped"
        ));
    }
    Ok(url.to_owned())
}

impl PlatformDraft {
    /// Every problem at once, by field (`name`, `base_url`, `credential`); messages never
    /// contain the credential.
    pub fn validate(self) -> Result<NewPlatform, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let name = self
            .name
            .as_deref()
            .map(str::trim)
            .unwrap_or_default()
            .to_owned();
        if !PLATFORM_NAME_CHARS.contains(&name.chars().count()) {
            errors.add("name", "is required: 1 to 100 characters");
        } else if name.chars().any(char::is_control) {
            errors.add("name", "must not contain control characters");
        }
        let base_url = match self.base_url.as_deref() {
            None => {
                errors.add(
                    "base_url",
                    "is required: the platform's URL, e.g. https://poker.example.com",
                );
                String::new()
            }
            Some(text) => parse_base_url(text).unwrap_or_else(|message| {
                errors.add("base_url", message);
                String::new()
            }),
        };
        let credential = self.credential.map(|c| c.expose().trim().to_owned());
        match credential.as_deref() {
            None | Some("") => errors.add(
                "credential",
                "is required: what the platform's /v1/admin routes accept as a bearer token",
            ),
            Some(c) if c.chars().count() > CREDENTIAL_MAX_CHARS => errors.add(
                "credential",
                format!("must be at most {CREDENTIAL_MAX_CHARS} characters"),
            ),
            Some(c) if c.chars().any(|ch| ch.is_whitespace() || ch.is_control()) => errors.add(
                "credential",
                "must not contain spaces or control characters",
            ),
            Some(_) => {}
        }
        errors.into_result(|| NewPlatform {
            name,
            base_url,
            credential: Secret::new(credential.expect("checked")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(name: &str, url: &str, credential: &str) -> PlatformDraft {
        PlatformDraft {
            name: Some(name.into()),
            base_url: Some(url.into()),
            credential: Some(Secret::new(credential.into())),
        }
    }

    #[test]
    fn a_platform_keeps_a_clean_base_url_and_shows_four_characters_of_its_credential() {
        let platform = draft(
            " Prod ",
            "https://poker.example.com/",
            "service-role-key-abcd",
        )
        .validate()
        .unwrap();
        assert_eq!(platform.name, "Prod");
        assert_eq!(platform.base_url, "https://poker.example.com");
        assert_eq!(platform.credential_last4(), "abcd");
        let local = draft("local", "http://127.0.0.1:8081/api", "x")
            .validate()
            .unwrap();
        assert_eq!(local.base_url, "http://127.0.0.1:8081/api");
        assert_eq!(local.credential_last4(), "x");
    }

    #[test]
    fn a_base_url_over_the_stored_limit_is_refused_even_once_escaped() {
        // Found by the API fuzzer: 2,049 characters reached the database's check (a 500).
        let over = format!("http://0{}", "*".repeat(BASE_URL_MAX_CHARS - 7));
        assert_eq!(over.chars().count(), BASE_URL_MAX_CHARS + 1);
        let message = parse_base_url(&over).unwrap_err();
        assert!(message.contains("at most 2048"), "{message}");
        let at_limit = &over[..BASE_URL_MAX_CHARS];
        assert_eq!(parse_base_url(at_limit).as_deref(), Ok(at_limit));
        // 1,809 characters typed, 3,009 once each space is written `%20`.
        let spaces = format!("http://h/{}", "a b".repeat(600));
        assert!(spaces.len() < BASE_URL_MAX_CHARS);
        assert!(parse_base_url(&spaces).unwrap_err().contains("escaped"));
    }

    #[test]
    fn every_problem_is_named_and_the_credential_never_echoed() {
        for (url, says) in [
            ("ftp://x", "http"),
            ("https://user:pw@x.example", "credentials"),
            ("https://x.example/?a=1", "query"),
            ("not a url", "valid URL"),
        ] {
            let errors = draft("p", url, "secret-value").validate().unwrap_err();
            assert_eq!(errors.0[0].field, "base_url", "{url}");
            assert!(
                errors.0[0].message.contains(says),
                "{url}: {}",
                errors.0[0].message
            );
        }
        let errors = draft("", "https://x.example", "has space inside")
            .validate()
            .unwrap_err();
        let fields: Vec<_> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "credential"]);
        assert!(!errors.to_string().contains("space inside"));
    }
}
