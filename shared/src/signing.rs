//! Standard Webhooks signatures (<https://www.standardwebhooks.com>): the receiver checks
//! `webhook-signature: v1,<base64 HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{body}")>`,
//! where the key is the base64 after the secret's `whsec_` prefix. Pure: the runner signs
//! its webhook seats' requests with it, the ticks their alerts.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const PREFIX: &str = "whsec_";

/// The signing key inside a `whsec_…` secret. The error never quotes the secret.
pub fn signing_key(secret: &str) -> Result<Vec<u8>, &'static str> {
    let encoded = secret
        .strip_prefix(PREFIX)
        .ok_or("the signing secret does not start with whsec_")?;
    STANDARD
        .decode(encoded)
        .ok()
        .filter(|key| !key.is_empty())
        .ok_or("the signing secret is not base64 after whsec_")
}

/// The `webhook-signature` header for one message.
pub fn signature(key: &[u8], message_id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(message_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_the_standard_webhooks_test_vector() {
        // The example of the Standard Webhooks specification and its reference libraries.
        let key = signing_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(
            signature(
                &key,
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn malformed_secrets_are_refused_without_being_quoted() {
        for bad in [
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "whsec_not*base64",
            "whsec_",
        ] {
            let error = signing_key(bad).unwrap_err();
            assert!(
                !error.contains("MfKQ") && !error.contains("not*"),
                "{error}"
            );
        }
    }
}
