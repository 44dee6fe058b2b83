//! The SSRF guard of webhook calls: an endpoint's HTTP client resolves its host itself and
//! connects only to addresses that passed the rules of `simrunner::domain::WebhookUrl`
//! (no loopback unless allowed, no private, link-local, CGNAT, ULA, IPv4-in-IPv6, unspecified,
//! multicast, broadcast or reserved address). The addresses checked are the addresses handed
//! to the connector, so a name that resolves differently a moment later (DNS rebinding) gains
//! nothing. IP-literal hosts never reach a resolver: [`WebhookUrl::parse`] checked them. The
//! client follows no redirect and uses no proxy (a proxy would connect on our behalf,
//! unchecked).

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use simrunner::domain::{WebhookPolicy, WebhookUrl};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

/// A destination the rules refuse; found in a failed request's error chain.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// Every address `host` resolved to, if all may be connected to; else why not (one refused
/// address refuses the name: a mixed answer is a rebinding attempt, not a choice to make).
pub fn checked_addresses(
    url: &WebhookUrl,
    policy: WebhookPolicy,
    host: &str,
    addresses: Vec<SocketAddr>,
) -> Result<Vec<SocketAddr>, Refused> {
    if addresses.is_empty() {
        return Err(Refused(format!("{host} resolved to no address")));
    }
    for address in &addresses {
        url.check_address(address.ip(), policy)
            .map_err(|why| Refused(format!("{host}: {why}")))?;
    }
    Ok(addresses)
}

/// How a host name becomes addresses: the system resolver, or a stand-in in tests.
type Lookup = fn(String) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<SocketAddr>>> + Send>>;

fn system_lookup(
    host: String,
) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<SocketAddr>>> + Send>> {
    Box::pin(async move { Ok(tokio::net::lookup_host((host.as_str(), 0)).await?.collect()) })
}

/// Resolves a name, then keeps the answer only if every address passes.
struct GuardedResolver {
    url: WebhookUrl,
    policy: WebhookPolicy,
    lookup: Lookup,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let (url, policy) = (self.url.clone(), self.policy);
        let host = name.as_str().to_owned();
        let found = (self.lookup)(host.clone());
        Box::pin(async move {
            let addresses = checked_addresses(&url, policy, &host, found.await?)?;
            Ok(Box::new(addresses.into_iter()) as Addrs)
        })
    }
}

/// The HTTP client of one endpoint: its host resolved through the guard, no redirects, no
/// proxy, HTTP/1.1 with keep-alive on the runner's TLS settings.
pub fn endpoint_client(
    url: &WebhookUrl,
    policy: WebhookPolicy,
    tls: rustls::ClientConfig,
) -> Result<reqwest::Client, String> {
    client_with(url, policy, tls, system_lookup)
}

fn client_with(
    url: &WebhookUrl,
    policy: WebhookPolicy,
    tls: rustls::ClientConfig,
    lookup: Lookup,
) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .dns_resolver(GuardedResolver {
            url: url.clone(),
            policy,
            lookup,
        })
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .http1_only()
        .pool_idle_timeout(Duration::from_secs(60))
        .user_agent(concat!("simrunner-webhook/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("building the webhook client: {e}"))
}

/// The refusal behind a failed request, if the guard refused its destination.
pub fn refusal(error: &reqwest::Error) -> Option<&Refused> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = source {
        if let Some(refused) = error.downcast_ref::<Refused>() {
            return Some(refused);
        }
        source = error.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    const STRICT: WebhookPolicy = WebhookPolicy {
        allow_loopback: false,
    };

    fn at(ip: &str) -> SocketAddr {
        SocketAddr::new(ip.parse().unwrap(), 443)
    }

    #[test]
    fn a_name_passes_only_when_every_address_it_resolves_to_does() {
        let url = WebhookUrl::parse("https://bot.example.com/act", STRICT).unwrap();
        let public = vec![at("93.184.216.34"), at("2606:2800:220:1::1")];
        assert_eq!(
            checked_addresses(&url, STRICT, "bot.example.com", public.clone()).unwrap(),
            public
        );
        for inside in [
            "169.254.169.254",
            "10.0.0.5",
            "127.0.0.1",
            "::ffff:127.0.0.1",
            "fd00::2",
        ] {
            let mixed = vec![at("93.184.216.34"), at(inside)];
            let refused = checked_addresses(&url, STRICT, "bot.example.com", mixed).unwrap_err();
            assert!(
                refused
                    .0
                    .starts_with(&format!("bot.example.com: {inside} is")),
                "{refused}"
            );
        }
        assert!(checked_addresses(&url, STRICT, "bot.example.com", vec![]).is_err());
    }

    // What the stand-in resolvers answer for any name (the tests' port is in the URL).
    fn to_loopback(
        _: String,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<SocketAddr>>> + Send>> {
        Box::pin(async { Ok(vec![at("127.0.0.1")]) })
    }

    fn to_metadata(
        _: String,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<SocketAddr>>> + Send>> {
        Box::pin(async { Ok(vec![at("169.254.169.254")]) })
    }

    async fn post(url: &str, policy: WebhookPolicy, lookup: Lookup) -> reqwest::Error {
        let url = WebhookUrl::parse(url, policy).unwrap();
        let tls = crate::llm::client::tls_config().unwrap();
        let client = client_with(&url, policy, tls, lookup).unwrap();
        let sent = client
            .post(url.url().clone())
            .timeout(Duration::from_secs(2))
            .body("{}")
            .send()
            .await;
        sent.expect_err("no TLS server answers in these tests")
    }

    #[tokio::test]
    async fn the_client_connects_only_to_the_addresses_the_guard_passed() {
        let (port, reached) = simrunner::testing::counting_listener();
        let url = format!("https://bot.example.test:{port}/act");

        // A public-looking name that resolves to this machine: refused, never contacted.
        let error = post(&url, STRICT, to_loopback).await;
        let refused = refusal(&error).expect("refused by the guard");
        assert!(
            refused
                .0
                .contains("bot.example.test: 127.0.0.1 is a loopback address"),
            "{refused}"
        );
        // The metadata address, even where loopback is allowed.
        let local = WebhookPolicy {
            allow_loopback: true,
        };
        let error = post(&url, local, to_metadata).await;
        assert!(refusal(&error).unwrap().0.contains("169.254.169.254"));
        assert_eq!(reached.load(Ordering::SeqCst), 0, "nothing was sent");

        // Allowed, the connection goes exactly where the checked answer pointed.
        let error = post(&url, local, to_loopback).await;
        assert!(refusal(&error).is_none(), "{error}");
        assert_eq!(reached.load(Ordering::SeqCst), 1);
    }
}
