//! Does each peer share this run's cluster secret? Without this, members with different secrets
//! simply fail their TLS handshakes (etcd logs it and retries) and every node waits out the whole
//! `--join-timeout` before saying "did not join". Here, while the nodes wait for each other, a
//! task per peer makes a TLS handshake to its peer port with this node's peer certificate,
//! trusting only this run's CA, until it has an answer: the peer's certificate verifies (it holds
//! the secret), or it does not / the peer rejects ours (it does not), or — nothing listens yet —
//! again a moment later.

use super::peer_ca::PeerCredentials;
use super::spec::{host_port, NodeSpec};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio_rustls::rustls;

/// Between two tries at a peer that does not answer yet.
const RETRY: Duration = Duration::from_millis(500);
/// A node that found a peer without the secret keeps its member up this long before it leaves,
/// so that peer's own check (every [`RETRY`]) finds this member too and says the same.
pub const GRACE: Duration = Duration::from_secs(3);
/// One try: connect and handshake.
const TRY: Duration = Duration::from_secs(2);
/// After the handshake, how long to listen for the peer's rejection of our certificate (TLS 1.3
/// sends it after the client thinks the handshake is done).
const LISTEN: Duration = Duration::from_millis(300);

/// What one try found.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    /// The peer's certificate is from this run's CA, and it took ours.
    Shares,
    /// It is not, or the peer refused our certificate: the reason.
    DoesNot(String),
    /// Nothing to judge yet (nothing listens, no route, a timeout): the reason.
    NotYet(String),
}

fn config(c: &PeerCredentials) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(c.ca_der.clone()))
        .map_err(|e| e.to_string())?;
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_client_auth_cert(
            vec![rustls::pki_types::CertificateDer::from(c.cert_der.clone())],
            rustls::pki_types::PrivateKeyDer::Pkcs8(c.key_der.clone().into()),
        )
        .map_err(|e| e.to_string())
}

/// A TLS failure that means "another CA": theirs does not verify here, or ours not there.
fn rejection(e: &std::io::Error) -> Option<String> {
    let inner = e.get_ref()?.downcast_ref::<rustls::Error>()?;
    use rustls::AlertDescription as A;
    match inner {
        rustls::Error::InvalidCertificate(why) => Some(format!(
            "its certificate is not from this run's CA ({why:?})"
        )),
        rustls::Error::AlertReceived(
            a @ (A::BadCertificate
            | A::UnknownCA
            | A::CertificateRequired
            | A::CertificateUnknown
            | A::DecryptError),
        ) => Some(format!("it refused this node's certificate ({a:?})")),
        _ => None,
    }
}

/// One try at `addr` with this node's credentials.
pub async fn check(addr: SocketAddr, cfg: Arc<rustls::ClientConfig>) -> Verdict {
    let attempt = async {
        let tcp = match tokio::net::TcpStream::connect(addr).await {
            Ok(t) => t,
            Err(e) => return Verdict::NotYet(e.to_string()),
        };
        let name = rustls::pki_types::ServerName::IpAddress(addr.ip().into());
        let mut tls = match tokio_rustls::TlsConnector::from(cfg)
            .connect(name, tcp)
            .await
        {
            Ok(s) => s,
            Err(e) => {
                return match rejection(&e) {
                    Some(why) => Verdict::DoesNot(why),
                    None => Verdict::NotYet(e.to_string()),
                }
            }
        };
        let mut byte = [0u8; 1];
        match tokio::time::timeout(LISTEN, tls.read(&mut byte)).await {
            Ok(Err(e)) => match rejection(&e) {
                Some(why) => Verdict::DoesNot(why),
                None => Verdict::Shares,
            },
            _ => Verdict::Shares,
        }
    };
    tokio::time::timeout(TRY, attempt)
        .await
        .unwrap_or_else(|_| Verdict::NotYet(format!("no TLS answer within {TRY:?}")))
}

/// The background check of every peer; dropped, it stops.
pub struct PeerCheck {
    tasks: Vec<tokio::task::JoinHandle<()>>,
    refused: Arc<Mutex<Option<String>>>,
    refused_seen: Option<tokio::time::Instant>,
}

impl PeerCheck {
    /// Start checking every node in `nodes` but `me` on `port`.
    pub fn start(
        nodes: &[NodeSpec],
        me: usize,
        port: u16,
        creds: &PeerCredentials,
    ) -> Result<PeerCheck, String> {
        let cfg = Arc::new(config(creds)?);
        let refused = Arc::new(Mutex::new(None));
        let tasks = nodes
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != me)
            .map(|(_, n)| {
                let (cfg, refused, n) = (cfg.clone(), refused.clone(), n.clone());
                tokio::spawn(async move {
                    let addr = SocketAddr::new(n.addr, port);
                    loop {
                        match check(addr, cfg.clone()).await {
                            Verdict::Shares => return,
                            Verdict::DoesNot(why) => {
                                if let Ok(mut r) = refused.lock() {
                                    r.get_or_insert(format!(
                                        "peer {} ({}) does not share this run's cluster secret: {why}; give every node the same --cluster-secret-file",
                                        n.name,
                                        host_port(n.addr, port)
                                    ));
                                }
                                return;
                            }
                            Verdict::NotYet(_) => tokio::time::sleep(RETRY).await,
                        }
                    }
                })
            })
            .collect();
        Ok(PeerCheck {
            tasks,
            refused,
            refused_seen: None,
        })
    }

    /// The first peer found not to share the secret, in one line.
    pub fn refused(&self) -> Option<String> {
        self.refused.lock().ok().and_then(|r| r.clone())
    }

    /// As [`Self::refused`], once it has been known for [`GRACE`] (time to leave).
    pub fn refused_after_grace(&mut self) -> Option<String> {
        let why = self.refused()?;
        let seen = *self
            .refused_seen
            .get_or_insert_with(tokio::time::Instant::now);
        (seen.elapsed() >= GRACE).then_some(why)
    }
}

impl Drop for PeerCheck {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::peer_ca::PeerCa;
    use crate::cluster::secret::ClusterSecret;
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    fn credentials(secret: &str, dir: &Path, name: &str) -> PeerCredentials {
        let p = dir.join(format!("{name}.secret"));
        std::fs::write(&p, secret).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        let ca = PeerCa::derive(&ClusterSecret::read(&p, "test").unwrap(), "run").unwrap();
        let node = NodeSpec {
            name: name.into(),
            addr: "127.0.0.1".parse().unwrap(),
        };
        ca.issue(&node, &dir.join(name)).unwrap()
    }

    /// A TLS server on a free loopback port that, like an etcd member with
    /// `--peer-client-cert-auth`, presents `server`'s certificate and requires a client
    /// certificate from its CA.
    async fn serve(server: &PeerCredentials) -> SocketAddr {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(rustls::pki_types::CertificateDer::from(
                server.ca_der.clone(),
            ))
            .unwrap();
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        .unwrap();
        let cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(
                vec![rustls::pki_types::CertificateDer::from(
                    server.cert_der.clone(),
                )],
                rustls::pki_types::PrivateKeyDer::Pkcs8(server.key_der.clone().into()),
            )
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    if let Ok(mut tls) = acceptor.accept(tcp).await {
                        let mut b = [0u8; 1];
                        let _ = tls.read(&mut b).await;
                    }
                });
            }
        });
        addr
    }

    #[tokio::test]
    async fn tells_a_peer_with_the_secret_from_one_without_and_from_none_yet() {
        let d = tempfile::tempdir().unwrap();
        let secret = "3f9c0a7e51d2b8c4e6f1a0b9d7c5e3a1";
        let me = credentials(secret, d.path(), "me");
        let peer = credentials(secret, d.path(), "peer");
        let stranger = credentials("a1b2c3d4e5f60718293a4b5c6d7e8f90", d.path(), "stranger");
        let cfg = Arc::new(config(&me).unwrap());

        assert_eq!(
            check(serve(&peer).await, cfg.clone()).await,
            Verdict::Shares
        );
        match check(serve(&stranger).await, cfg.clone()).await {
            Verdict::DoesNot(why) => assert!(why.contains("not from this run's CA"), "{why}"),
            v => panic!("a stranger: {v:?}"),
        }
        // The stranger's view of us: our certificate is not from its CA either.
        let theirs = Arc::new(config(&stranger).unwrap());
        assert!(matches!(
            check(serve(&peer).await, theirs).await,
            Verdict::DoesNot(_)
        ));
        // Nothing listens (yet): no verdict.
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let closed = free.local_addr().unwrap();
        drop(free);
        assert!(matches!(check(closed, cfg).await, Verdict::NotYet(_)));
    }
}
