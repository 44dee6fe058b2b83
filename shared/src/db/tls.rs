//! TLS to PostgreSQL, with libpq's `sslmode` meanings, so a cloud database (RDS and Aurora
//! require TLS by default) works with the URL an operator already has:
//!
//! - `disable`: plain TCP;
//! - `prefer` (the default) and `require`: encrypted whenever the server offers TLS (`require`
//!   refuses a server that does not), the certificate not checked — what libpq does without
//!   a root certificate;
//! - `verify-ca` and `verify-full`: the certificate must chain to `sslrootcert` (a PEM file)
//!   or, without it, to the system's trust store, and name the host (both are checked as
//!   `verify-full`).
//!
//! tokio-postgres knows only the first three modes and not `sslrootcert`, so
//! [`split_url`] takes those out of the URL before it is parsed.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::sync::Arc;
use tokio_postgres_rustls::MakeRustlsConnect;

/// How the server's certificate is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// Encrypt, but accept any certificate (`prefer`, `require`).
    None,
    /// Check the chain and the host name against `roots` (a PEM file), or the system's roots.
    Full { roots: Option<String> },
}

/// Takes libpq's `sslmode=verify-ca|verify-full` and `sslrootcert=…` out of a URL (leaving
/// `sslmode=require` in their place) and says how to verify.
pub fn split_url(url: &str) -> (String, Verification) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), Verification::None);
    };
    let mut verify = false;
    let mut roots = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("sslmode", "verify-ca" | "verify-full")) => {
                verify = true;
                kept.push("sslmode=require".to_owned());
            }
            Some(("sslrootcert", path)) => roots = Some(path.to_owned()),
            _ => kept.push(pair.to_owned()),
        }
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    let verification = if verify {
        Verification::Full { roots }
    } else {
        Verification::None
    };
    (url, verification)
}

/// The TLS connector for `verification`. Only `Full` reads certificates (from the file or
/// the system store); nothing here touches the network.
pub fn connector(verification: &Verification) -> Result<MakeRustlsConnect, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let config = match verification {
        Verification::None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
            .with_no_client_auth(),
        Verification::Full { roots } => {
            let mut store = rustls::RootCertStore::empty();
            match roots {
                Some(path) => {
                    let pem = std::fs::read(path)
                        .map_err(|e| format!("reading sslrootcert {path}: {e}"))?;
                    for cert in pem_certificates(&pem)? {
                        store
                            .add(cert)
                            .map_err(|e| format!("sslrootcert {path}: {e}"))?;
                    }
                }
                None => {
                    let found = rustls_native_certs::load_native_certs();
                    store.add_parsable_certificates(found.certs);
                }
            }
            if store.is_empty() {
                return Err("no root certificates to verify the database server with".into());
            }
            builder.with_root_certificates(store).with_no_client_auth()
        }
    };
    Ok(MakeRustlsConnect::new(config))
}

fn pem_certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    use rustls::pki_types::pem::PemObject as _;
    CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("sslrootcert is not a PEM certificate bundle: {e}"))
}

/// Accepts any certificate but still checks that the server holds its key (the handshake
/// signatures), as libpq's `require` does.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libpq_only_settings_are_taken_out_of_the_url() {
        let (url, v) = split_url(
            "postgres://u:p@db:5432/sim?sslmode=verify-full&sslrootcert=/etc/rds.pem&application_name=x",
        );
        assert_eq!(
            url,
            "postgres://u:p@db:5432/sim?sslmode=require&application_name=x"
        );
        assert_eq!(
            v,
            Verification::Full {
                roots: Some("/etc/rds.pem".into())
            }
        );
        let (url, v) = split_url("postgres://db/sim?sslmode=require");
        assert_eq!(
            (url.as_str(), v),
            ("postgres://db/sim?sslmode=require", Verification::None)
        );
        let (url, v) = split_url("postgres://db/sim");
        assert_eq!((url.as_str(), v), ("postgres://db/sim", Verification::None));
        let (url, _) = split_url("postgres://db/sim?sslrootcert=/x.pem");
        assert_eq!(url, "postgres://db/sim");
    }

    #[test]
    fn a_missing_or_malformed_root_file_is_a_clear_error() {
        let missing = Verification::Full {
            roots: Some("/nonexistent/root.pem".into()),
        };
        assert!(
            connector(&missing)
                .err()
                .unwrap()
                .contains("/nonexistent/root.pem")
        );
        let dir = std::env::temp_dir().join(format!("simrunner-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate").unwrap();
        let error = connector(&Verification::Full {
            roots: Some(empty.display().to_string()),
        })
        .err()
        .unwrap();
        assert!(error.contains("no root certificates"), "{error}");
        assert!(connector(&Verification::None).is_ok());
    }
}
