//! etcd's own view of the probe: its Prometheus histograms (`/metrics`), scraped before and after
//! the load. Fetching is a plain HTTP/1.0 GET over a tokio TCP stream (tokio-rustls for https, with
//! the same CA and client certificate as the gRPC connection); percentiles come from bucket-count
//! deltas with Prometheus' `histogram_quantile` rule (linear interpolation inside the bucket), so
//! they are estimates whose precision is bounded by the bucket edges.

use super::MetricEstimate;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// WAL fsync latency histogram.
pub const WAL_FSYNC: &str = "etcd_disk_wal_fsync_duration_seconds";
/// Backend commit latency histogram.
pub const BACKEND_COMMIT: &str = "etcd_disk_backend_commit_duration_seconds";
/// Peer round-trip time histogram (one series per peer).
pub const PEER_RTT: &str = "etcd_network_peer_round_trip_time_seconds";

/// What every estimate says about itself.
pub const SOURCE: &str = "prometheus buckets (estimate)";

/// Cumulative bucket counts of one histogram, all label sets (e.g. every peer) summed:
/// upper bound (seconds, +Inf as infinity) → cumulative count.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Buckets {
    pub bounds: Vec<(f64, f64)>,
}

impl Buckets {
    /// Total observations (the +Inf bucket).
    pub fn count(&self) -> f64 {
        self.bounds.last().map(|b| b.1).unwrap_or(0.0)
    }

    /// `self − before`, bucket by bucket (a counter reset — member restarted — gives `self`).
    pub fn minus(&self, before: &Buckets) -> Buckets {
        let b: BTreeMap<u64, f64> = before
            .bounds
            .iter()
            .map(|(le, c)| (le.to_bits(), *c))
            .collect();
        let diff: Vec<(f64, f64)> = self
            .bounds
            .iter()
            .map(|(le, c)| (*le, c - b.get(&le.to_bits()).copied().unwrap_or(0.0)))
            .collect();
        if diff.iter().any(|(_, c)| *c < 0.0) {
            return self.clone();
        }
        Buckets { bounds: diff }
    }

    /// Prometheus' `histogram_quantile(q)`: find the bucket holding rank q·count and interpolate
    /// linearly between its lower and upper bound (lower bound 0 for the first bucket); a rank in
    /// the +Inf bucket answers the highest finite bound. `None` without observations.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total = self.count();
        if total <= 0.0 || self.bounds.len() < 2 {
            return None;
        }
        let rank = q * total;
        let mut prev_bound = 0.0;
        let mut prev_count = 0.0;
        for (i, &(le, c)) in self.bounds.iter().enumerate() {
            if c >= rank {
                if le.is_infinite() {
                    return Some(self.bounds[i.saturating_sub(1)].0);
                }
                let in_bucket = c - prev_count;
                if in_bucket <= 0.0 {
                    return Some(le);
                }
                return Some(prev_bound + (le - prev_bound) * (rank - prev_count) / in_bucket);
            }
            prev_bound = le;
            prev_count = c;
        }
        None
    }
}

/// Parse the text exposition format: for each histogram `name` wanted, sum the `name_bucket`
/// series over all label sets, by `le`.
pub fn parse_histograms(text: &str, names: &[&str]) -> BTreeMap<String, Buckets> {
    let mut acc: BTreeMap<String, BTreeMap<u64, (f64, f64)>> = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some(name_end) = line.find(['{', ' ']) else {
            continue;
        };
        let metric = &line[..name_end];
        let Some(base) = metric.strip_suffix("_bucket") else {
            continue;
        };
        if !names.contains(&base) {
            continue;
        }
        let (labels, rest) = if line[name_end..].starts_with('{') {
            match line[name_end..].find('}') {
                Some(close) => (
                    &line[name_end + 1..name_end + close],
                    &line[name_end + close + 1..],
                ),
                None => continue,
            }
        } else {
            ("", &line[name_end..])
        };
        let Some(le) = label_value(labels, "le").and_then(parse_prom_float) else {
            continue;
        };
        let Some(value) = rest.split_whitespace().next().and_then(parse_prom_float) else {
            continue;
        };
        let e = acc
            .entry(base.to_string())
            .or_default()
            .entry(le.to_bits())
            .or_insert((le, 0.0));
        e.1 += value;
    }
    acc.into_iter()
        .map(|(name, m)| {
            let mut bounds: Vec<(f64, f64)> = m.into_values().collect();
            bounds.sort_by(|a, b| a.0.total_cmp(&b.0));
            (name, Buckets { bounds })
        })
        .collect()
}

fn label_value<'a>(labels: &'a str, key: &str) -> Option<&'a str> {
    // Label values in etcd's metrics hold no commas or quotes; a simple split suffices.
    labels.split(',').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k.trim() == key).then(|| v.trim().trim_matches('"'))
    })
}

fn parse_prom_float(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => s.parse().ok(),
    }
}

/// An estimate from before/after bucket sets: the probe window's delta when it saw observations,
/// otherwise everything since the member started (say so in `window`).
pub fn estimate(before: Option<&Buckets>, after: Option<&Buckets>) -> Option<MetricEstimate> {
    let after = after?;
    let delta = match before {
        Some(b) => after.minus(b),
        None => after.clone(),
    };
    let (b, window) = if delta.count() > 0.0 && before.is_some() {
        (delta, "probe")
    } else {
        (after.clone(), "since_start")
    };
    let ns = |q: f64| b.quantile(q).map(|s| (s * 1e9).round() as u64);
    Some(MetricEstimate {
        count: b.count().max(0.0) as u64,
        p50_ns: ns(0.5),
        p99_ns: ns(0.99),
        window: window.to_string(),
        source: SOURCE.to_string(),
    })
}

/// An estimate with no observations (the metric was not exported yet).
pub fn empty_estimate() -> MetricEstimate {
    MetricEstimate {
        count: 0,
        p50_ns: None,
        p99_ns: None,
        window: "since_start".to_string(),
        source: SOURCE.to_string(),
    }
}

/// TLS material for https scrapes.
#[derive(Clone, Debug, Default)]
pub struct ScrapeTls {
    pub cacert: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

fn tls_config(t: &ScrapeTls) -> Result<tokio_rustls::rustls::ClientConfig, String> {
    use rustls_pki_types::pem::{self, PemObject};
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    use tokio_rustls::rustls;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    let ca = t
        .cacert
        .as_ref()
        .ok_or("https metrics need --cacert to verify the server")?;
    let pem = std::fs::read(ca).map_err(|e| format!("cannot read {}: {e}", ca.display()))?;
    for c in CertificateDer::pem_slice_iter(&pem) {
        let c = c.map_err(|e| format!("bad CA PEM: {e}"))?;
        roots
            .add(c)
            .map_err(|e| format!("bad CA certificate: {e}"))?;
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots);
    match (&t.cert, &t.key) {
        (Some(c), Some(k)) => {
            let cp = std::fs::read(c).map_err(|e| format!("cannot read {}: {e}", c.display()))?;
            let kp = std::fs::read(k).map_err(|e| format!("cannot read {}: {e}", k.display()))?;
            let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(&cp).collect();
            let certs = certs.map_err(|e| format!("bad client certificate: {e}"))?;
            let key = PrivateKeyDer::from_pem_slice(&kp).map_err(|e| match e {
                pem::Error::NoItemsFound => "no private key in --key".to_string(),
                e => format!("bad client key: {e}"),
            })?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| e.to_string())
        }
        _ => Ok(builder.with_no_client_auth()),
    }
}

/// A /metrics page is a few hundred KB; more than this is not one.
pub const MAX_METRICS_BYTES: u64 = 16 << 20;

/// Read to the end, but no more than [`MAX_METRICS_BYTES`] + 1 bytes.
async fn read_capped(
    r: &mut (impl tokio::io::AsyncRead + Unpin),
    buf: &mut Vec<u8>,
) -> std::io::Result<usize> {
    r.take(MAX_METRICS_BYTES + 1).read_to_end(buf).await
}

/// GET `url` (http or https) with HTTP/1.0 and return the body.
pub async fn fetch(url: &str, tls: &ScrapeTls, timeout: Duration) -> Result<String, String> {
    match tokio::time::timeout(timeout, fetch_inner(url, tls)).await {
        Ok(r) => r,
        Err(_) => Err(format!("no answer from {url} within {timeout:?}")),
    }
}

async fn fetch_inner(url: &str, tls: &ScrapeTls) -> Result<String, String> {
    let (https, rest) = if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("http://") {
        (false, r)
    } else {
        return Err(format!(
            "unsupported metrics URL '{url}' (http:// or https://)"
        ));
    };
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/metrics"),
    };
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (
            h.trim_start_matches('[').trim_end_matches(']'),
            p.parse::<u16>()
                .map_err(|_| format!("bad port in '{url}'"))?,
        ),
        _ => (hostport, if https { 443 } else { 80 }),
    };
    let tcp = tokio::net::TcpStream::connect((host, port))
        .await
        .map_err(|e| format!("cannot connect to {hostport}: {e}"))?;
    let req = format!(
        "GET {path} HTTP/1.0\r\nHost: {hostport}\r\nAccept: text/plain\r\nUser-Agent: nodefit\r\n\r\n"
    );
    let mut buf = Vec::new();
    if https {
        let cfg = tls_config(tls)?;
        let name = tokio_rustls::rustls::pki_types::ServerName::try_from(host.to_string())
            .map_err(|e| format!("bad host name '{host}': {e}"))?;
        let mut s = tokio_rustls::TlsConnector::from(Arc::new(cfg))
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS handshake with {hostport} failed: {e}"))?;
        s.write_all(req.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        // etcd (Go) ends its TLS replies with close_notify: an end without it is a reply cut short
        // (or cut by someone on the path), not a whole page.
        read_capped(&mut s, &mut buf).await.map_err(|e| {
            format!(
                "reading {url}: {e} (reply cut short after {} bytes)",
                buf.len()
            )
        })?;
    } else {
        let mut s = tcp;
        s.write_all(req.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        read_capped(&mut s, &mut buf)
            .await
            .map_err(|e| format!("reading {url}: {e}"))?;
    }
    if buf.len() as u64 > MAX_METRICS_BYTES {
        return Err(format!(
            "{url} answered with more than {} bytes; not a /metrics page nodefit reads",
            MAX_METRICS_BYTES
        ));
    }
    let text = String::from_utf8_lossy(&buf);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("malformed HTTP reply from {url}"))?;
    let status = head.lines().next().unwrap_or("");
    if status.split_whitespace().nth(1) != Some("200") {
        return Err(format!(
            "{url} answered '{}'",
            crate::util::text::printable(status)
        ));
    }
    let declared = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| v.trim().parse::<usize>().ok())?
    });
    if let Some(n) = declared {
        let got = body.len();
        if got < n {
            return Err(format!(
                "{url}: reply cut short ({got} of the {n} bytes it announced)"
            ));
        }
    }
    Ok(body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = r#"# HELP etcd_disk_wal_fsync_duration_seconds The latency distributions of fsync called by WAL.
# TYPE etcd_disk_wal_fsync_duration_seconds histogram
etcd_disk_wal_fsync_duration_seconds_bucket{le="0.001"} 10
etcd_disk_wal_fsync_duration_seconds_bucket{le="0.002"} 60
etcd_disk_wal_fsync_duration_seconds_bucket{le="0.004"} 90
etcd_disk_wal_fsync_duration_seconds_bucket{le="0.008"} 100
etcd_disk_wal_fsync_duration_seconds_bucket{le="+Inf"} 100
etcd_disk_wal_fsync_duration_seconds_sum 0.25
etcd_disk_wal_fsync_duration_seconds_count 100
etcd_network_peer_round_trip_time_seconds_bucket{To="a",le="0.0001"} 0
etcd_network_peer_round_trip_time_seconds_bucket{To="a",le="0.0002"} 2
etcd_network_peer_round_trip_time_seconds_bucket{To="a",le="+Inf"} 2
etcd_network_peer_round_trip_time_seconds_bucket{To="b",le="0.0001"} 1
etcd_network_peer_round_trip_time_seconds_bucket{To="b",le="0.0002"} 2
etcd_network_peer_round_trip_time_seconds_bucket{To="b",le="+Inf"} 2
etcd_disk_backend_commit_duration_seconds_count 0
"#;

    #[test]
    fn parses_and_sums_label_sets() {
        let h = parse_histograms(FIXTURE, &[WAL_FSYNC, PEER_RTT, BACKEND_COMMIT]);
        let w = &h[WAL_FSYNC];
        assert_eq!(w.count(), 100.0);
        assert_eq!(w.bounds.len(), 5);
        let p = &h[PEER_RTT];
        assert_eq!(
            p.bounds,
            vec![(0.0001, 1.0), (0.0002, 4.0), (f64::INFINITY, 4.0)]
        );
        assert!(!h.contains_key(BACKEND_COMMIT));
    }

    #[test]
    fn quantiles_interpolate_like_prometheus() {
        let h = parse_histograms(FIXTURE, &[WAL_FSYNC]);
        let w = &h[WAL_FSYNC];
        // rank 50 lies in (0.001, 0.002], 40 of 50 → 0.001 + 0.001 × 40/50.
        assert!((w.quantile(0.5).unwrap() - 0.0018).abs() < 1e-12);
        // rank 99 in (0.004, 0.008], 9 of 10 → 0.004 + 0.004 × 0.9.
        assert!((w.quantile(0.99).unwrap() - 0.0076).abs() < 1e-12);
        // First bucket interpolates from 0.
        assert!((w.quantile(0.05).unwrap() - 0.0005).abs() < 1e-12);
        // Rank in +Inf answers the highest finite bound.
        let inf = Buckets {
            bounds: vec![(0.001, 1.0), (f64::INFINITY, 10.0)],
        };
        assert_eq!(inf.quantile(0.99), Some(0.001));
        assert_eq!(Buckets::default().quantile(0.5), None);
    }

    #[test]
    fn deltas_and_windows() {
        let before = Buckets {
            bounds: vec![(0.001, 5.0), (0.002, 5.0), (f64::INFINITY, 5.0)],
        };
        let after = Buckets {
            bounds: vec![(0.001, 5.0), (0.002, 15.0), (f64::INFINITY, 15.0)],
        };
        let e = estimate(Some(&before), Some(&after)).unwrap();
        assert_eq!(e.count, 10);
        assert_eq!(e.window, "probe");
        assert_eq!(e.p50_ns, Some(1_500_000));
        assert_eq!(e.source, SOURCE);
        // No observation in the window: fall back to since-start and say so.
        let e = estimate(Some(&after), Some(&after)).unwrap();
        assert_eq!(e.window, "since_start");
        assert_eq!(e.count, 15);
        // Counter reset (restart): the after counts stand alone.
        let d = before.minus(&after);
        assert_eq!(d, before);
        assert!(estimate(Some(&before), None).is_none());
    }

    /// Serve `reply` once on a loopback port; the URL to fetch it from.
    async fn serve_once(reply: Vec<u8>) -> String {
        use tokio::io::AsyncWriteExt;
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            if let Ok((mut s, _)) = l.accept().await {
                let mut req = [0u8; 1024];
                let _ = tokio::io::AsyncReadExt::read(&mut s, &mut req).await;
                let _ = s.write_all(&reply).await;
            }
        });
        format!("http://{addr}/metrics")
    }

    /// A reply shorter than it announced, or larger than a /metrics page, is an error, not a page.
    #[tokio::test]
    async fn cut_short_and_oversized_replies_are_errors() {
        let tls = ScrapeTls::default();
        let t = Duration::from_secs(10);
        let url =
            serve_once(b"HTTP/1.0 200 OK\r\nContent-Length: 100\r\n\r\nfirst ten.".to_vec()).await;
        let e = fetch(&url, &tls, t).await.unwrap_err();
        assert!(e.contains("cut short (10 of the 100 bytes"), "{e}");
        let mut big = b"HTTP/1.0 200 OK\r\n\r\n".to_vec();
        big.resize(big.len() + MAX_METRICS_BYTES as usize + 10, b'#');
        let url = serve_once(big).await;
        let e = fetch(&url, &tls, t).await.unwrap_err();
        assert!(e.contains("more than 16777216 bytes"), "{e}");
        let url = serve_once(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n".to_vec()).await;
        assert_eq!(fetch(&url, &tls, t).await.unwrap(), "ok\n");
    }
}
