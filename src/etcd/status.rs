//! Cluster observation through the Status and MemberList APIs: who the members are, each one's
//! version, raft term and index, DB size and leadership, and a poller that notices leader changes
//! while the load runs (polls every member; a change of leader id or raft term is one event,
//! time-stamped). Read-only: never compacts, defragments or changes membership.

use super::client::ConnSettings;
use super::{hex_id, EtcdError, LeaderChange, MemberStatus};
use etcd_client::Client;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// A member as listed by the cluster.
#[derive(Clone, Debug)]
pub struct Member {
    pub id: u64,
    pub name: String,
    /// First client URL (the one used for status and metrics).
    pub endpoint: String,
}

/// List the members via any endpoint.
pub async fn member_list(c: &mut Client, timeout: Duration) -> Result<Vec<Member>, EtcdError> {
    let resp = tokio::time::timeout(timeout, c.member_list())
        .await
        .map_err(|_| EtcdError::Other(format!("member list: no reply within {timeout:?}")))?
        .map_err(|e| {
            EtcdError::Other(format!("member list: {}", super::client::error_chain(&e)))
        })?;
    Ok(resp
        .members()
        .iter()
        .map(|m| Member {
            id: m.id(),
            name: m.name().to_string(),
            endpoint: m.client_urls().first().cloned().unwrap_or_default(),
        })
        .collect())
}

/// One client per member, for status polls (members that cannot be connected to get `None`).
pub async fn member_clients(settings: &ConnSettings, members: &[Member]) -> Vec<Option<Client>> {
    let mut out = Vec::new();
    for m in members {
        if m.endpoint.is_empty() {
            out.push(None);
            continue;
        }
        out.push(
            settings
                .with_endpoints(vec![m.endpoint.clone()])
                .connect_lazy()
                .await
                .ok(),
        );
    }
    out
}

/// Status of one member, with the leader id it reports.
pub async fn member_status(c: &mut Client, timeout: Duration) -> Option<(MemberStatus, u64, u64)> {
    let r = tokio::time::timeout(timeout, c.status()).await.ok()?.ok()?;
    let id = r.header().map(|h| h.member_id()).unwrap_or(0);
    Some((
        MemberStatus {
            version: r.version().to_string(),
            is_leader: r.leader() != 0 && r.leader() == id,
            raft_term: r.raft_term(),
            raft_index: r.raft_index(),
            db_size_bytes: r.db_size(),
        },
        id,
        r.leader(),
    ))
}

/// Status of every member (in order).
pub async fn all_status(
    clients: &mut [Option<Client>],
    timeout: Duration,
) -> Vec<Option<MemberStatus>> {
    let mut out = Vec::new();
    for c in clients.iter_mut() {
        out.push(match c {
            Some(c) => member_status(c, timeout).await.map(|s| s.0),
            None => None,
        });
    }
    out
}

/// Leader changes seen so far.
#[derive(Debug, Default)]
pub struct LeaderLog {
    pub events: Vec<LeaderChange>,
}

/// Poll every member's status every `interval` until `stop`; record a change whenever the leader
/// (as reported by the answering member with the highest term) differs from the last one seen or
/// its term moved on (a re-election of the same member).
pub async fn watch_leader(
    mut clients: Vec<Option<Client>>,
    interval: Duration,
    timeout: Duration,
    start: Instant,
    log: Arc<Mutex<LeaderLog>>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut last: Option<(u64, u64)> = None; // (leader, term)
    loop {
        let mut best: Option<(u64, u64)> = None;
        for c in clients.iter_mut().flatten() {
            if let Some((st, _, leader)) = member_status(c, timeout).await {
                if best.is_none_or(|(_, t)| st.raft_term > t) {
                    best = Some((leader, st.raft_term));
                }
            }
        }
        // Only members that know a leader count: a "no leader" interlude between two leaders is
        // part of one election, not a change of its own.
        if let Some((leader, term)) = best.filter(|b| b.0 != 0) {
            if let Some((prev, prev_term)) = last {
                if leader != prev || term > prev_term {
                    let ev = LeaderChange {
                        t_s: start.elapsed().as_secs_f64(),
                        at: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
                        from: Some(hex_id(prev)),
                        to: Some(hex_id(leader)),
                        raft_term: term,
                    };
                    if let Ok(mut l) = log.lock() {
                        l.events.push(ev);
                    }
                }
            }
            last = Some((leader, term));
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}
