//! Network round trip to every peer, measured by this node on its own: TCP handshakes to the
//! peer's etcd peer port (connect() returns when the SYN-ACK is back: one round trip), one task per
//! peer, all in parallel, one handshake started every `interval` while the probe runs (without
//! waiting for the previous one). Each sample is exact (monotonic
//! clock) and goes into an HDR histogram; a connection is closed with RST (SO_LINGER 0) so no
//! TIME_WAIT piles up.

use crate::util::stats::Recorder;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// What one peer's sampler measured.
#[derive(Debug, Default)]
pub struct PeerSamples {
    pub rtt: Recorder,
    /// Attempts that failed (refused, unreachable, no answer within 1 s).
    pub errors: u64,
    /// The last failure, for diagnosis.
    pub last_error: Option<String>,
}

/// Running samplers.
pub struct Sampler {
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<(String, JoinHandle<PeerSamples>)>,
}

/// Handshakes one sampler keeps in flight at most: a peer that answers nothing (or a flood of
/// half-open connections) costs at most this many sockets per peer; a tick that finds them all
/// busy counts as a failed attempt.
const MAX_IN_FLIGHT: usize = 32;

/// One handshake: its round trip, or why it failed.
pub async fn handshake(addr: SocketAddr, timeout: Duration) -> Result<u64, String> {
    let t = Instant::now();
    match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
        Ok(Ok(s)) => {
            let ns = t.elapsed().as_nanos() as u64;
            // Closed with a reset, not FIN: no TIME_WAIT socket left per sample.
            let _ = s.set_zero_linger();
            drop(s);
            Ok(ns)
        }
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {timeout:?}")),
    }
}

impl Sampler {
    /// Start one sampler per `(name, address)`.
    pub fn start(peers: &[(String, SocketAddr)], interval: Duration) -> Sampler {
        let (tx, rx) = tokio::sync::watch::channel(false);
        let tasks = peers
            .iter()
            .map(|(name, addr)| {
                let addr = *addr;
                let mut rx = rx.clone();
                let h = tokio::spawn(async move {
                    let mut out = PeerSamples::default();
                    let mut tick = tokio::time::interval(interval);
                    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    // Handshakes start on schedule, whatever the previous one is doing: a far peer
                    // gets as many samples as a near one.
                    let mut inflight = tokio::task::JoinSet::new();
                    let take = |out: &mut PeerSamples, r: Result<Result<u64, String>, _>| match r {
                        Ok(Ok(ns)) => out.rtt.record(ns),
                        Ok(Err(e)) => {
                            out.errors += 1;
                            out.last_error = Some(e);
                        }
                        Err(_) => {}
                    };
                    loop {
                        tokio::select! {
                            _ = tick.tick() => {}
                            Some(r) = inflight.join_next() => {
                                take(&mut out, r);
                                continue;
                            }
                            _ = rx.changed() => break,
                        }
                        if *rx.borrow() {
                            break;
                        }
                        if inflight.len() >= MAX_IN_FLIGHT {
                            out.errors += 1;
                            out.last_error = Some(format!(
                                "{MAX_IN_FLIGHT} handshakes already in flight (none answered yet)"
                            ));
                            continue;
                        }
                        inflight.spawn(handshake(addr, Duration::from_secs(1)));
                    }
                    // Handshakes already under way finish (each within its 1 s timeout).
                    while let Some(r) = inflight.join_next().await {
                        take(&mut out, r);
                    }
                    out
                });
                (name.clone(), h)
            })
            .collect();
        Sampler { stop: tx, tasks }
    }

    /// Stop and collect, in the order started.
    pub async fn finish(self) -> Vec<(String, PeerSamples)> {
        let _ = self.stop.send(true);
        let mut out = Vec::new();
        for (name, h) in self.tasks {
            out.push((name, h.await.unwrap_or_default()));
        }
        out
    }
}
