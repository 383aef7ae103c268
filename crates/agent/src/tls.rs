//! `--tls-cert`/`--tls-key`: `wss://` and `https://` without a reverse proxy (rustls, ring).
//!
//! Only loading lives here. Handshakes run in [`crate::listen`], one per connection task,
//! each within a time limit and counted against the caps on pending connections, so sockets
//! that never send a ClientHello cannot hold up anyone else or pile up.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::ServerConfig;

/// Why `--tls-cert`/`--tls-key` cannot be used; each message names the file. Permanent: the
/// agent does not start until the files are fixed.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The certificate file cannot be opened.
    #[error("cannot read --tls-cert {}: {source}", .path.display())]
    ReadCert {
        /// `--tls-cert`.
        path: PathBuf,
        /// Why.
        source: rustls_pki_types::pem::Error,
    },
    /// The certificate file is not PEM.
    #[error("--tls-cert {} is not a PEM certificate: {source}", .path.display())]
    NotPem {
        /// `--tls-cert`.
        path: PathBuf,
        /// Why.
        source: rustls_pki_types::pem::Error,
    },
    /// The certificate file holds no certificate.
    #[error("--tls-cert {} holds no certificate", .path.display())]
    NoCert {
        /// `--tls-cert`.
        path: PathBuf,
    },
    /// The key file holds no private key.
    #[error("--tls-key {}: no PEM private key found ({source})", .path.display())]
    NoKey {
        /// `--tls-key`.
        path: PathBuf,
        /// Why.
        source: rustls_pki_types::pem::Error,
    },
    /// rustls refused the protocol versions (should not happen with ring).
    #[error("TLS setup failed: {0}")]
    Setup(#[source] tokio_rustls::rustls::Error),
    /// The key does not belong to the certificate, or is of an unsupported kind.
    #[error("--tls-cert and --tls-key do not make a usable pair: {0}")]
    Pair(#[source] tokio_rustls::rustls::Error),
}

/// Loads a PEM certificate chain and private key into a server configuration.
///
/// # Errors
/// [`TlsError`], naming the file and what is wrong with it.
pub fn load(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|source| TlsError::ReadCert {
            path: cert.to_owned(),
            source,
        })?
        .collect::<Result<_, _>>()
        .map_err(|source| TlsError::NotPem {
            path: cert.to_owned(),
            source,
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCert {
            path: cert.to_owned(),
        });
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|source| TlsError::NoKey {
        path: key.to_owned(),
        source,
    })?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Setup)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(TlsError::Pair)?;
    // WebSockets upgrade over HTTP/1.1.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
