//! Webhook endpoints: the URLs webhook seats call for their decisions, and the rules that keep
//! such a call from reaching inside (SSRF).
//!
//! Two pure checks, used by the admin API when an endpoint is created and by the runner before
//! every call: [`WebhookUrl::parse`] (https only, no user info, a host; plain http only to a
//! loopback host when [`WebhookPolicy::allow_loopback`] is on) and [`address_refusal`], which
//! says whether one IP address (an IP-literal host, or each address a host name resolves to)
//! is one a webhook may connect to. Nothing here resolves names or connects: the runner does,
//! and checks the very addresses it connects to.

use super::ValidationErrors;
use super::provider::checked_label;
use crate::settings::EnvReader;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The longest URL an endpoint may have.
pub const WEBHOOK_URL_MAX_CHARS: usize = 2048;

/// Where webhooks may go besides public addresses: `SIMRUNNER_WEBHOOK_ALLOW_HTTP_LOOPBACK`,
/// read by the admin API (creating endpoints) and by the runner (calling them). Off by
/// default; on a laptop it lets a receiver on this machine play (plain http included).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebhookPolicy {
    /// Loopback destinations (127.0.0.0/8, ::1, `localhost`) are allowed, over https or
    /// plain http.
    pub allow_loopback: bool,
}

impl WebhookPolicy {
    pub const SETTING: &'static str = "SIMRUNNER_WEBHOOK_ALLOW_HTTP_LOOPBACK";

    /// `on` or `off` (default).
    pub fn from_env(env: &mut EnvReader<'_>) -> Self {
        let allow_loopback = match env.raw(Self::SETTING).as_deref().map(str::trim) {
            None | Some("off") => false,
            Some("on") => true,
            Some(other) => {
                env.problem(Self::SETTING, format!("expected on or off, got {other:?}"));
                false
            }
        };
        Self { allow_loopback }
    }
}

/// IPv4 ranges no webhook may reach, most specific first: (network, prefix length, what it is).
const REFUSED_V4: [([u8; 4], u32, &str); 16] = [
    (
        [255, 255, 255, 255],
        32,
        "the broadcast address (255.255.255.255)",
    ),
    ([0, 0, 0, 0], 8, "“this network” (0.0.0.0/8)"),
    ([10, 0, 0, 0], 8, "a private address (10.0.0.0/8)"),
    (
        [100, 64, 0, 0],
        10,
        "a shared (CGNAT) address (100.64.0.0/10)",
    ),
    ([127, 0, 0, 0], 8, "a loopback address (127.0.0.0/8)"),
    (
        [169, 254, 0, 0],
        16,
        "a link-local address, where cloud metadata lives (169.254.0.0/16)",
    ),
    ([172, 16, 0, 0], 12, "a private address (172.16.0.0/12)"),
    (
        [192, 0, 0, 0],
        24,
        "an IETF protocol address (192.0.0.0/24)",
    ),
    ([192, 0, 2, 0], 24, "a documentation address (192.0.2.0/24)"),
    (
        [192, 88, 99, 0],
        24,
        "a 6to4 relay address (192.88.99.0/24)",
    ),
    ([192, 168, 0, 0], 16, "a private address (192.168.0.0/16)"),
    (
        [198, 18, 0, 0],
        15,
        "a benchmarking address (198.18.0.0/15)",
    ),
    (
        [198, 51, 100, 0],
        24,
        "a documentation address (198.51.100.0/24)",
    ),
    (
        [203, 0, 113, 0],
        24,
        "a documentation address (203.0.113.0/24)",
    ),
    ([224, 0, 0, 0], 4, "a multicast address (224.0.0.0/4)"),
    ([240, 0, 0, 0], 4, "a reserved address (240.0.0.0/4)"),
];

/// IPv6 ranges no webhook may reach, most specific first. Ranges that embed or reach IPv4
/// (mapped, compatible, NAT64, 6to4, Teredo) are refused outright rather than unwrapped.
const REFUSED_V6: [(u128, u32, &str); 20] = [
    (0, 128, "the unspecified address (::)"),
    (1, 128, "the loopback address (::1)"),
    (
        0xffff_0000_0000,
        96,
        "an IPv4-mapped address (::ffff:0:0/96)",
    ),
    (0, 96, "an IPv4-compatible address (::/96)"),
    (
        0x0064_ff9b << 96,
        96,
        "a NAT64 address, which reaches IPv4 (64:ff9b::/96)",
    ),
    (
        0x0064_ff9b_0001 << 80,
        48,
        "a local NAT64 address (64:ff9b:1::/48)",
    ),
    (0x0100 << 112, 64, "a discard-only address (100::/64)"),
    (
        0x2001_0000 << 96,
        32,
        "a Teredo address, which reaches IPv4 (2001::/32)",
    ),
    (
        0x2001_0db8 << 96,
        32,
        "a documentation address (2001:db8::/32)",
    ),
    (0x2001 << 112, 23, "an IETF protocol address (2001::/23)"),
    (
        0x2002 << 112,
        16,
        "a 6to4 address, which reaches IPv4 (2002::/16)",
    ),
    (0x3fff << 112, 20, "a documentation address (3fff::/20)"),
    (0x5f00 << 112, 16, "an SRv6 address (5f00::/16)"),
    (0xfc00 << 112, 7, "a unique local address (fc00::/7)"),
    (0xfe80 << 112, 10, "a link-local address (fe80::/10)"),
    (0xfec0 << 112, 10, "a site-local address (fec0::/10)"),
    (0xff00 << 112, 8, "a multicast address (ff00::/8)"),
    // Global unicast is 2000::/3; the rest is unassigned or special.
    (0, 3, "not a global unicast address (outside 2000::/3)"),
    (
        0x4000 << 112,
        2,
        "not a global unicast address (outside 2000::/3)",
    ),
    (
        0x8000 << 112,
        1,
        "not a global unicast address (outside 2000::/3)",
    ),
];

fn in_v4(ip: Ipv4Addr, network: [u8; 4], prefix: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(network)) & mask
}

fn in_v6(ip: Ipv6Addr, network: u128, prefix: u32) -> bool {
    let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
    u128::from(ip) & mask == network & mask
}

/// Why a webhook may not connect to `ip`, or `None` when it may: only public (global
/// unicast) addresses, and loopback ones (127.0.0.0/8, ::1) when `policy` allows them.
pub fn address_refusal(ip: IpAddr, policy: WebhookPolicy) -> Option<&'static str> {
    if policy.allow_loopback && ip.is_loopback() {
        return None;
    }
    match ip {
        IpAddr::V4(v4) => REFUSED_V4
            .iter()
            .find(|(network, prefix, _)| in_v4(v4, *network, *prefix))
            .map(|(_, _, what)| *what),
        IpAddr::V6(v6) => REFUSED_V6
            .iter()
            .find(|(network, prefix, _)| in_v6(v6, *network, *prefix))
            .map(|(_, _, what)| *what),
    }
}

/// Host names that are loopback by definition (RFC 6761), whatever a resolver says.
fn is_loopback_name(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost" || host.ends_with(".localhost")
}

/// A URL a webhook endpoint may have (see [`WebhookUrl::parse`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(url::Url);

impl WebhookUrl {
    /// Checks a URL against `policy`: `https://` with a host and no user name or password; plain
    /// `http://` only to a loopback host (an address in 127.0.0.0/8, `[::1]` or `localhost`)
    /// and only when loopback is allowed. An IP-literal host must pass [`address_refusal`];
    /// a host name is checked when the runner resolves it, at every call.
    pub fn parse(text: &str, policy: WebhookPolicy) -> Result<Self, String> {
        let text = text.trim();
        if text.chars().count() > WEBHOOK_URL_MAX_CHARS {
            return Err(format!(
                "must be at most {WEBHOOK_URL_MAX_CHARS} characters"
            ));
        }
        let url = url::Url::parse(text).map_err(|e| format!("is not a valid URL: {e}"))?;
        let loopback_host = match url.host() {
            Some(url::Host::Domain(name)) => is_loopback_name(name),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        match url.scheme() {
            "https" => {}
            "http" if policy.allow_loopback && loopback_host => {}
            "http" if policy.allow_loopback => {
                return Err(
                    "must be https://; plain http:// is allowed only to a loopback host \
                     (127.0.0.1, [::1], localhost)"
                        .into(),
                );
            }
            "http" => {
                return Err(format!(
                    "must be https:// (plain http:// to a loopback host needs {}=on)",
                    WebhookPolicy::SETTING
                ));
            }
            other => return Err(format!("must be https:// (got {other}://)")),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("must not carry a user name or password".into());
        }
        if url.fragment().is_some() {
            return Err("must not have a #fragment (it is never sent)".into());
        }
        match url.host() {
            None => return Err("must name a host".into()),
            Some(url::Host::Domain(_)) if loopback_host && !policy.allow_loopback => {
                return Err(format!(
                    "names a loopback host; webhooks may call only public addresses (on this \
                     machine, set {}=on)",
                    WebhookPolicy::SETTING
                ));
            }
            Some(url::Host::Domain(_)) => {}
            Some(url::Host::Ipv4(ip)) => refuse_literal(IpAddr::V4(ip), policy)?,
            Some(url::Host::Ipv6(ip)) => refuse_literal(IpAddr::V6(ip), policy)?,
        }
        // Stored as written out, where the parser escapes (a space becomes `%20`).
        if url.as_str().chars().count() > WEBHOOK_URL_MAX_CHARS {
            return Err(format!(
                "must be at most {WEBHOOK_URL_MAX_CHARS} characters, with special characters escaped"
            ));
        }
        Ok(Self(url))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn url(&self) -> &url::Url {
        &self.0
    }

    /// The host when it is an IP address (no name to resolve).
    pub fn ip_host(&self) -> Option<IpAddr> {
        match self.0.host()? {
            url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
            url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
            url::Host::Domain(_) => None,
        }
    }

    /// Whether one address this URL's host resolved to may be connected to: what
    /// [`address_refusal`] allows, and for plain http loopback only.
    pub fn check_address(&self, ip: IpAddr, policy: WebhookPolicy) -> Result<(), String> {
        if let Some(what) = address_refusal(ip, policy) {
            return Err(format!(
                "{ip} is {what}; webhooks may call only public addresses"
            ));
        }
        if self.0.scheme() == "http" && !ip.is_loopback() {
            return Err(format!(
                "{ip} is not a loopback address; plain http:// may only reach this machine"
            ));
        }
        Ok(())
    }
}

fn refuse_literal(ip: IpAddr, policy: WebhookPolicy) -> Result<(), String> {
    match address_refusal(ip, policy) {
        None => Ok(()),
        Some(what) if ip.is_loopback() => Err(format!(
            "points at {ip}, {what}; webhooks may call only public addresses (on this machine, \
             set {}=on)",
            WebhookPolicy::SETTING
        )),
        Some(what) => Err(format!(
            "points at {ip}, {what}; webhooks may call only public addresses"
        )),
    }
}

/// Unvalidated input for a new webhook endpoint.
#[derive(Debug, Default)]
pub struct WebhookDraft {
    pub label: Option<String>,
    pub url: Option<String>,
}

/// A webhook endpoint ready to be stored (its signing secret is made by the store).
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub label: String,
    pub url: WebhookUrl,
}

impl WebhookDraft {
    /// Every problem at once, by field (`label`, `url`).
    pub fn validate(self, policy: WebhookPolicy) -> Result<NewWebhook, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let label = checked_label(&mut errors, self.label.as_deref());
        let url = match self.url.as_deref() {
            None => {
                errors.add("url", "is required: the https:// URL the seat calls");
                None
            }
            Some(text) => WebhookUrl::parse(text, policy)
                .map_err(|problem| errors.add("url", problem))
                .ok(),
        };
        errors.into_result(|| NewWebhook {
            label,
            url: url.expect("checked"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: WebhookPolicy = WebhookPolicy {
        allow_loopback: false,
    };
    const LOCAL: WebhookPolicy = WebhookPolicy {
        allow_loopback: true,
    };

    fn refusal(ip: &str, policy: WebhookPolicy) -> Option<&'static str> {
        address_refusal(ip.parse().unwrap(), policy)
    }

    #[test]
    fn public_addresses_are_allowed_and_every_inside_range_is_refused() {
        for public in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.216.34",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.167.255.255",
            "192.169.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "2a00:1450:4001:81b::200e",
            "2001:4860:4860::8888",
        ] {
            assert_eq!(refusal(public, STRICT), None, "{public}");
        }
        for (inside, what) in [
            ("127.0.0.1", "loopback"),
            ("127.255.255.254", "loopback"),
            ("10.0.0.1", "private"),
            ("10.255.255.255", "private"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "link-local"),
            ("169.254.0.1", "link-local"),
            ("100.64.0.1", "CGNAT"),
            ("100.127.255.255", "CGNAT"),
            ("0.0.0.0", "this network"),
            ("0.1.2.3", "this network"),
            ("255.255.255.255", "broadcast"),
            ("224.0.0.1", "multicast"),
            ("239.255.255.250", "multicast"),
            ("240.0.0.1", "reserved"),
            ("192.0.0.8", "IETF"),
            ("192.0.2.10", "documentation"),
            ("198.51.100.7", "documentation"),
            ("203.0.113.9", "documentation"),
            ("198.18.0.1", "benchmarking"),
            ("192.88.99.1", "6to4"),
            ("::", "unspecified"),
            ("::1", "loopback"),
            ("::ffff:127.0.0.1", "IPv4-mapped"),
            ("::ffff:169.254.169.254", "IPv4-mapped"),
            ("::ffff:8.8.8.8", "IPv4-mapped"),
            ("::127.0.0.1", "IPv4-compatible"),
            ("64:ff9b::a9fe:a9fe", "NAT64"),
            ("64:ff9b:1::1", "NAT64"),
            ("100::1", "discard"),
            ("2001::1", "Teredo"),
            ("2001:db8::1", "documentation"),
            ("2001:10::1", "IETF"),
            ("2002:a9fe:a9fe::1", "6to4"),
            ("3fff::1", "documentation"),
            ("5f00::1", "SRv6"),
            ("fc00::1", "unique local"),
            ("fd00:ec2::254", "unique local"),
            ("fe80::1", "link-local"),
            ("febf::1", "link-local"),
            ("fec0::1", "site-local"),
            ("ff02::1", "multicast"),
            ("1000::1", "global unicast"),
            ("4000::1", "global unicast"),
            ("e000::1", "global unicast"),
        ] {
            let refused = refusal(inside, STRICT);
            assert!(
                refused.is_some_and(|r| r.contains(what)),
                "{inside}: {refused:?}, expected {what}"
            );
        }
    }

    #[test]
    fn the_local_setting_opens_loopback_and_nothing_else() {
        for loopback in ["127.0.0.1", "127.3.2.1", "::1"] {
            assert_eq!(refusal(loopback, LOCAL), None, "{loopback}");
        }
        for inside in [
            "0.0.0.0",
            "::",
            "::ffff:127.0.0.1",
            "10.0.0.1",
            "169.254.169.254",
            "fd00::1",
        ] {
            assert!(refusal(inside, LOCAL).is_some(), "{inside}");
        }
    }

    #[test]
    fn urls_must_be_https_with_a_host_and_no_user_info() {
        let ok = WebhookUrl::parse(" https://bot.example.com/poker?team=7 ", STRICT).unwrap();
        assert_eq!(ok.as_str(), "https://bot.example.com/poker?team=7");
        assert_eq!(ok.ip_host(), None);
        for (bad, says) in [
            ("bot.example.com/poker", "not a valid URL"),
            ("ftp://bot.example.com/", "must be https://"),
            ("file:///etc/passwd", "must be https://"),
            (
                "http://bot.example.com/",
                "needs SIMRUNNER_WEBHOOK_ALLOW_HTTP_LOOPBACK=on",
            ),
            (
                "http://127.0.0.1:9000/",
                "needs SIMRUNNER_WEBHOOK_ALLOW_HTTP_LOOPBACK=on",
            ),
            ("https://user:pw@bot.example.com/", "user name or password"),
            ("https://user@bot.example.com/", "user name or password"),
            ("https://bot.example.com/#frag", "fragment"),
            ("https://localhost:8443/", "loopback host"),
            ("https://api.localhost/", "loopback host"),
            ("https://127.0.0.1/", "loopback"),
            ("https://2130706433/", "127.0.0.1"),
            ("https://0x7f.1/", "127.0.0.1"),
            ("https://[::1]/", "loopback"),
            ("https://169.254.169.254/latest/meta-data/", "link-local"),
            ("https://10.1.2.3/", "private"),
            ("https://[::ffff:10.0.0.1]/", "IPv4-mapped"),
            ("https://[fd00::1]/", "unique local"),
            ("https://0.0.0.0/", "this network"),
        ] {
            let problem = WebhookUrl::parse(bad, STRICT).unwrap_err();
            assert!(problem.contains(says), "{bad}: {problem}");
        }
        let long = format!("https://example.com/{}", "a".repeat(WEBHOOK_URL_MAX_CHARS));
        assert!(
            WebhookUrl::parse(&long, STRICT)
                .unwrap_err()
                .contains("at most")
        );
        // Within the limit as typed, over it once each space is written `%20` (the stored
        // form): refused, not a 500 from the database's check.
        let spaces = format!("https://example.com/{}", "a b".repeat(600));
        assert!(spaces.len() < WEBHOOK_URL_MAX_CHARS);
        assert!(
            WebhookUrl::parse(&spaces, STRICT)
                .unwrap_err()
                .contains("escaped")
        );
    }

    #[test]
    fn plain_http_goes_only_to_loopback_hosts_and_only_with_the_setting() {
        for local in [
            "http://127.0.0.1:9000/hook",
            "http://[::1]:9000/",
            "http://localhost:9000/",
            "https://127.0.0.1:9443/",
        ] {
            assert!(WebhookUrl::parse(local, LOCAL).is_ok(), "{local}");
        }
        let problem = WebhookUrl::parse("http://bot.example.com/", LOCAL).unwrap_err();
        assert!(problem.contains("only to a loopback host"), "{problem}");
        assert!(WebhookUrl::parse("http://10.0.0.1/", LOCAL).is_err());
        assert!(WebhookUrl::parse("https://169.254.169.254/", LOCAL).is_err());

        // What a name resolves to is checked too: plain http stays on this machine.
        let http = WebhookUrl::parse("http://localhost:9000/", LOCAL).unwrap();
        let v4 = |ip: [u8; 4]| IpAddr::from(ip);
        assert!(http.check_address(v4([127, 0, 0, 1]), LOCAL).is_ok());
        assert!(http.check_address("::1".parse().unwrap(), LOCAL).is_ok());
        let public = http
            .check_address(v4([93, 184, 216, 34]), LOCAL)
            .unwrap_err();
        assert!(public.contains("not a loopback address"), "{public}");
        let https = WebhookUrl::parse("https://bot.example.com/", LOCAL).unwrap();
        assert!(https.check_address(v4([93, 184, 216, 34]), LOCAL).is_ok());
        assert!(https.check_address(v4([127, 0, 0, 1]), STRICT).is_err());
        let metadata = https
            .check_address(v4([169, 254, 169, 254]), LOCAL)
            .unwrap_err();
        assert!(
            metadata.contains("169.254.169.254 is a link-local"),
            "{metadata}"
        );
    }

    #[test]
    fn a_draft_reports_every_field_and_the_setting_reads_on_or_off() {
        let errors = WebhookDraft {
            label: Some("  ".into()),
            url: None,
        }
        .validate(STRICT)
        .unwrap_err();
        let fields: Vec<_> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["label", "url"]);
        let ok = WebhookDraft {
            label: Some(" my bot ".into()),
            url: Some("https://bot.example.com/act".into()),
        }
        .validate(STRICT)
        .unwrap();
        assert_eq!(ok.label, "my bot");

        let read = |vars: &[(&str, &str)]| {
            let mut env = EnvReader::from_vars(vars);
            let policy = WebhookPolicy::from_env(&mut env);
            env.finish().map(|()| policy)
        };
        assert_eq!(read(&[]).unwrap(), STRICT);
        assert_eq!(read(&[(WebhookPolicy::SETTING, "on")]).unwrap(), LOCAL);
        let error = read(&[(WebhookPolicy::SETTING, "yes")]).unwrap_err();
        assert_eq!(error.problems[0].variable, WebhookPolicy::SETTING);
    }
}
