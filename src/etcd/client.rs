//! Connecting to etcd with etcdctl's options (endpoints, TLS files, user/password, timeouts) and
//! naming what went wrong: setup failures become one-line [`EtcdError`]s, failures during the run
//! are classified into the kinds the results count.

use super::EtcdError;
use etcd_client::{Certificate, Client, ConnectOptions, Identity, TlsOptions};
use std::path::PathBuf;
use std::time::Duration;

/// How to reach a cluster, resolved from the CLI options.
#[derive(Clone, Debug, Default)]
pub struct ConnSettings {
    /// Client URLs.
    pub endpoints: Vec<String>,
    /// CA bundle (PEM).
    pub cacert: Option<PathBuf>,
    /// Client certificate (PEM).
    pub cert: Option<PathBuf>,
    /// Client key (PEM).
    pub key: Option<PathBuf>,
    /// (user, password).
    pub user: Option<(String, String)>,
    /// Connection timeout.
    pub dial_timeout: Duration,
}

impl ConnSettings {
    /// From `--user` (`name` or `name:password`) and `--password`.
    pub fn user_from(user: Option<&str>, password: Option<&str>) -> Option<(String, String)> {
        let u = user?;
        match (u.split_once(':'), password) {
            (_, Some(p)) => Some((u.split(':').next().unwrap_or(u).to_string(), p.to_string())),
            (Some((n, p)), None) => Some((n.to_string(), p.to_string())),
            (None, None) => Some((u.to_string(), String::new())),
        }
    }

    /// The same settings aimed at other endpoints (one member).
    pub fn with_endpoints(&self, endpoints: Vec<String>) -> ConnSettings {
        ConnSettings {
            endpoints,
            ..self.clone()
        }
    }

    fn uses_tls(&self) -> bool {
        self.endpoints.iter().any(|e| e.starts_with("https://"))
    }

    fn read(path: &PathBuf, what: &str) -> Result<Vec<u8>, EtcdError> {
        std::fs::read(path)
            .map_err(|e| EtcdError::Invalid(format!("cannot read {what} {}: {e}", path.display())))
    }

    /// etcd-client options for these settings.
    pub fn connect_options(&self) -> Result<ConnectOptions, EtcdError> {
        let mut o = ConnectOptions::new()
            .with_connect_timeout(self.dial_timeout)
            .with_keep_alive(Duration::from_secs(10), self.dial_timeout)
            .with_require_leader(false);
        if let Some((u, p)) = &self.user {
            o = o.with_user(u.clone(), p.clone());
        }
        if self.uses_tls() {
            let mut tls = TlsOptions::new();
            if let Some(ca) = &self.cacert {
                tls = tls.ca_certificate(Certificate::from_pem(Self::read(ca, "--cacert")?));
            }
            match (&self.cert, &self.key) {
                (Some(c), Some(k)) => {
                    tls = tls.identity(Identity::from_pem(
                        Self::read(c, "--cert")?,
                        Self::read(k, "--key")?,
                    ))
                }
                (None, None) => {}
                _ => {
                    return Err(EtcdError::Invalid(
                        "--cert and --key go together".to_string(),
                    ))
                }
            }
            o = o.with_tls(tls);
        } else if self.cacert.is_some() || self.cert.is_some() {
            return Err(EtcdError::Invalid(
                "--cacert/--cert/--key need https:// endpoints".to_string(),
            ));
        }
        Ok(o)
    }

    /// Connect and prove the cluster answers (a Status call), all within the dial timeout.
    pub async fn connect_checked(&self) -> Result<Client, EtcdError> {
        let opts = self.connect_options()?;
        let eps = self.endpoints.join(",");
        let fut = async {
            let mut c = Client::connect(&self.endpoints, Some(opts))
                .await
                .map_err(|e| self.setup_error(&e))?;
            c.status().await.map_err(|e| self.setup_error(&e))?;
            Ok::<Client, EtcdError>(c)
        };
        match tokio::time::timeout(self.dial_timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(EtcdError::Unreachable {
                endpoints: eps,
                timeout_s: self.dial_timeout.as_secs_f64(),
                reason: if self.uses_tls() {
                    "no answer (nothing listening, or a TLS handshake that never completed)".into()
                } else {
                    "no answer (nothing listening, or the server expects TLS: use https:// and --cacert)".into()
                },
            }),
        }
    }

    /// Connect without checking (lazy channel); for the load's extra connections.
    pub async fn connect_lazy(&self) -> Result<Client, EtcdError> {
        let opts = self.connect_options()?;
        match tokio::time::timeout(
            self.dial_timeout,
            Client::connect(&self.endpoints, Some(opts)),
        )
        .await
        {
            Ok(r) => r.map_err(|e| self.setup_error(&e)),
            Err(_) => Err(EtcdError::Unreachable {
                endpoints: self.endpoints.join(","),
                timeout_s: self.dial_timeout.as_secs_f64(),
                reason: "no answer".into(),
            }),
        }
    }

    /// Turn a client error met while setting up into a one-line error that says what to check.
    pub fn setup_error(&self, e: &etcd_client::Error) -> EtcdError {
        let eps = self.endpoints.join(",");
        let msg = error_chain(e);
        let lower = msg.to_ascii_lowercase();
        if lower.contains("authentication is not enabled") {
            return EtcdError::AuthNotEnabled { endpoints: eps };
        }
        // Authenticated, but the user's role does not cover the keys: not a password problem.
        if lower.contains("permission denied") {
            return EtcdError::Forbidden {
                endpoints: eps,
                reason: msg,
            };
        }
        match classify(e) {
            ErrorKind::Auth => EtcdError::Auth {
                endpoints: eps,
                reason: msg,
            },
            _ if lower.contains("certificate")
                || lower.contains("tls")
                || lower.contains("handshake")
                || lower.contains("unknownissuer")
                || lower.contains("invalid peer") =>
            {
                EtcdError::Tls {
                    endpoints: eps,
                    reason: msg,
                }
            }
            _ if matches!(
                e,
                etcd_client::Error::InvalidArgs(_) | etcd_client::Error::InvalidUri(_)
            ) =>
            {
                EtcdError::Invalid(msg)
            }
            _ => {
                let closed = lower.contains("connection closed")
                    || lower.contains("broken pipe")
                    || lower.contains("connection reset");
                let hint = match (closed, self.uses_tls()) {
                    (true, false) => " (the server may expect TLS: use https:// and --cacert)",
                    (true, true) if self.cert.is_none() => {
                        " (the server may require a client certificate: --cert/--key)"
                    }
                    _ => "",
                };
                EtcdError::Unreachable {
                    endpoints: eps,
                    timeout_s: self.dial_timeout.as_secs_f64(),
                    reason: format!("{msg}{hint}"),
                }
            }
        }
    }
}

/// Kinds of request failure counted during a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Timed out (client or server deadline).
    Deadline,
    /// Connection refused or lost, member down.
    Unavailable,
    /// The cluster had no leader, or it changed under the request.
    NoLeader,
    /// Authentication or permission.
    Auth,
    /// Anything else.
    Other,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Deadline => "deadline",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::NoLeader => "no_leader",
            ErrorKind::Auth => "auth",
            ErrorKind::Other => "other",
        }
    }
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Classify a client error.
pub fn classify(e: &etcd_client::Error) -> ErrorKind {
    use tonic::Code;
    match e {
        etcd_client::Error::GRpcStatus(s) => {
            let m = s.message();
            if m.contains("no leader") || m.contains("leader changed") {
                return ErrorKind::NoLeader;
            }
            if m.contains("authentication failed")
                || m.contains("invalid auth token")
                || m.contains("user name is empty")
                || m.contains("permission denied")
            {
                return ErrorKind::Auth;
            }
            match s.code() {
                Code::DeadlineExceeded => ErrorKind::Deadline,
                Code::Unavailable | Code::Cancelled => {
                    if m.contains("timed out") || m.contains("Timeout") {
                        ErrorKind::Deadline
                    } else {
                        ErrorKind::Unavailable
                    }
                }
                Code::Unauthenticated | Code::PermissionDenied => ErrorKind::Auth,
                // tonic reports a connection that broke mid-request as Unknown "transport error".
                _ if m.contains("transport error")
                    || m.contains("connection")
                    || m.contains("broken pipe") =>
                {
                    ErrorKind::Unavailable
                }
                _ => ErrorKind::Other,
            }
        }
        etcd_client::Error::TransportError(_) | etcd_client::Error::IoError(_) => {
            ErrorKind::Unavailable
        }
        _ => ErrorKind::Other,
    }
}

/// The error and its sources in one line, without repeats (etcd-client does not chain sources
/// itself, and tonic hides the useful part — "connection refused", "UnknownIssuer" — in them).
pub fn error_chain(e: &etcd_client::Error) -> String {
    let mut parts: Vec<String> = vec![match e {
        // tonic's Display of a Status dumps its whole debug form; the message is what matters.
        etcd_client::Error::GRpcStatus(s) => s.message().to_string(),
        other => other.to_string(),
    }];
    let mut src: Option<&(dyn std::error::Error + 'static)> = match e {
        etcd_client::Error::TransportError(t) => std::error::Error::source(t),
        etcd_client::Error::GRpcStatus(s) => std::error::Error::source(s),
        etcd_client::Error::IoError(i) => std::error::Error::source(i),
        _ => None,
    };
    let mut deepest = None;
    while let Some(s) = src {
        deepest = Some(s.to_string());
        src = s.source();
    }
    if let Some(t) = deepest {
        if !t.is_empty() && !parts.iter().any(|p| p.contains(&t)) {
            parts.push(t);
        }
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_forms() {
        assert_eq!(
            ConnSettings::user_from(Some("root:pw"), None),
            Some(("root".into(), "pw".into()))
        );
        assert_eq!(
            ConnSettings::user_from(Some("root"), Some("pw")),
            Some(("root".into(), "pw".into()))
        );
        assert_eq!(ConnSettings::user_from(None, Some("pw")), None);
    }

    #[test]
    fn classification() {
        let st = |code, m: &str| etcd_client::Error::GRpcStatus(tonic::Status::new(code, m));
        use tonic::Code;
        assert_eq!(
            classify(&st(Code::DeadlineExceeded, "context deadline exceeded")),
            ErrorKind::Deadline
        );
        assert_eq!(
            classify(&st(Code::Unavailable, "etcdserver: no leader")),
            ErrorKind::NoLeader
        );
        assert_eq!(
            classify(&st(Code::Unavailable, "etcdserver: leader changed")),
            ErrorKind::NoLeader
        );
        assert_eq!(
            classify(&st(Code::Unavailable, "connection refused")),
            ErrorKind::Unavailable
        );
        assert_eq!(
            classify(&st(
                Code::InvalidArgument,
                "etcdserver: authentication failed, invalid user ID or password"
            )),
            ErrorKind::Auth
        );
        assert_eq!(
            classify(&st(Code::Unknown, "transport error")),
            ErrorKind::Unavailable
        );
        assert_eq!(classify(&st(Code::Internal, "boom")), ErrorKind::Other);
    }
}
