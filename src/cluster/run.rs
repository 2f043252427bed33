//! The cluster run, step by step: start the member, join (ready keys), probe through the local
//! member while sampling the network to every peer, publish this member's figures (done keys), wait
//! for the others, stop in step. Every step after the member starts ends in the same teardown.

use super::member::{Member, MemberPlan};
use super::rtt::{handshake, PeerSamples, Sampler};
use super::spec::NodeSpec;
use super::{
    recommend, ClusterError, ClusterMember, ClusterOptions, ClusterResult, PeerResult, RttSummary,
};
use crate::etcd::client::ConnSettings;
use crate::etcd::metrics::{self, Buckets, ScrapeTls};
use crate::etcd::{status, EtcdResult, MemberResult};
use crate::options::etcd::EtcdOptions;
use crate::util::progress::Progress;
use crate::util::signals::stop_requested;
use crate::util::text::printable;
use etcd_client::{Client, GetOptions};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::time::Instant;

/// Coordination keys live here (the cluster is throwaway: nothing else is in it).
const KEYS: &str = "/nodefit-cluster/";
/// How often the barriers look at the keys.
const POLL: Duration = Duration::from_millis(20);
/// Timeout of one coordination request.
const REQ: Duration = Duration::from_secs(1);
/// How long a node that saw a member go stays at the start barrier before it gives up (so the
/// others, which may need its member for a quorum, see the same).
const GONE_GRACE: Duration = Duration::from_secs(10);

/// Run a cluster probe on its own tokio runtime (see the module comment).
pub fn probe_blocking(
    args: &EtcdOptions,
    cluster: &ClusterOptions,
    progress: &Progress,
) -> Result<(EtcdResult, ClusterResult), ClusterError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| ClusterError::Runtime(e.to_string()))?;
    let out = rt.block_on(run(args, cluster, progress));
    rt.shutdown_timeout(Duration::from_secs(2));
    out
}

/// FNV-1a, 64 bit: a stable hash for the default token (the same on every node and build).
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn default_token(nodes: &[NodeSpec], peer_port: u16) -> String {
    let mut parts: Vec<String> = nodes
        .iter()
        .map(|n| format!("{}={}", n.name, n.addr))
        .collect();
    parts.sort();
    format!(
        "nodefit-{:016x}",
        fnv(&format!("{}:{peer_port}", parts.join(",")))
    )
}

fn say(progress: &Progress, msg: &str) {
    progress.note(&format!("cluster: {msg}"));
}

/// The load this node will put on the cluster, in words (the key prefix aside, which names the
/// node): every node must run the same, or the nodes' figures are not of one run.
fn load_terms(args: &EtcdOptions, me: &str) -> Result<String, ClusterError> {
    let l = args.resolve_load(format!("/nodefit/{:016x}/{me}/", 0))?;
    let bound = match (l.duration_s, l.total) {
        (Some(d), Some(t)) => format!("{d} s or {t} requests"),
        (Some(d), None) => format!("{d} s"),
        (None, Some(t)) => format!("{t} requests"),
        (None, None) => "unbounded".into(),
    };
    Ok(format!(
        "{} at {}/s for {bound}, {} clients on {} connections, {} B keys, {} B values, {} {} keys",
        l.op,
        l.rate,
        l.clients,
        l.conns,
        l.key_size,
        l.val_size,
        l.key_space,
        if l.sequential_keys {
            "sequential"
        } else {
            "random"
        },
    ))
}

async fn run(
    args: &EtcdOptions,
    c: &ClusterOptions,
    progress: &Progress,
) -> Result<(EtcdResult, ClusterResult), ClusterError> {
    let (nodes, me, tls) = super::preflight(args, c)?;
    let bin = args.etcd_binary()?;
    let version = crate::etcd::embedded::etcd_version(&bin)?;
    let terms = format!(
        "etcd {}; {}",
        crate::etcd::binary::version_number(&version),
        load_terms(args, &nodes[me].name)?
    );
    let plan = MemberPlan {
        bin,
        directory: args.directory.clone(),
        nodes: nodes.clone(),
        me,
        peer_port: c.peer_port,
        client_port: c.client_port,
        token: c
            .cluster_token
            .clone()
            .unwrap_or_else(|| default_token(&nodes, c.peer_port)),
        tls,
    };
    let mut member = Member::start(&plan)?;
    say(
        progress,
        &format!(
            "member {} started ({}), waiting up to {:?} for {} peer(s)",
            nodes[me].name,
            plan.peer_url(me),
            c.join_timeout,
            nodes.len() - 1
        ),
    );
    let out = steps(args, c, &plan, &terms, &mut member, progress).await;
    // Teardown: every other node has finished (or given up) by now.
    let stopped = tokio::task::block_in_place(|| member.stop());
    let (mut etcd, cluster) = out?;
    if let Err(e) = stopped {
        let note = match etcd.error.take() {
            Some(n) => format!("{n}; {e}"),
            None => e,
        };
        etcd.error = Some(note);
    }
    Ok((etcd, cluster))
}

/// Put `key` = `value`; false when the cluster did not take it within [`REQ`].
async fn put(c: &mut Client, key: &str, value: &str) -> bool {
    matches!(
        tokio::time::timeout(REQ, c.put(key, value, None)).await,
        Ok(Ok(_))
    )
}

/// Every key under `prefix` (names after the prefix → values). `local`: a serializable read from
/// this node's member alone (no quorum needed: at the end, peers that saw every done key may
/// already have stopped, and this member has applied everything up to its own done key).
/// Names and values are peers' words: control characters are made visible before anything prints
/// them, and one listing holds at most [`MAX_LISTED_KEYS`] keys (a cluster has a few nodes).
async fn list(c: &mut Client, prefix: &str, local: bool) -> Option<BTreeMap<String, String>> {
    let mut o = GetOptions::new().with_prefix().with_limit(MAX_LISTED_KEYS);
    if local {
        o = o.with_serializable();
    }
    let r = tokio::time::timeout(REQ, c.get(prefix, Some(o)))
        .await
        .ok()?
        .ok()?;
    Some(
        r.kvs()
            .iter()
            .filter_map(|kv| {
                Some((
                    printable(kv.key_str().ok()?.strip_prefix(prefix)?),
                    printable(kv.value_str().ok()?),
                ))
            })
            .collect(),
    )
}

/// Far more keys than nodes in any cluster nodefit qualifies (at most a few per node).
const MAX_LISTED_KEYS: i64 = 1024;

fn named(nodes: &[NodeSpec], names: &[&String]) -> String {
    names
        .iter()
        .map(|n| {
            let addr = nodes
                .iter()
                .find(|x| &&x.name == n)
                .map(|x| x.addr.to_string())
                .unwrap_or_default();
            format!("member {n} ({addr})")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The etcd binary this node's member ran and its version line, for `etcd.target.etcd_bin`.
fn binary_and_version(args: &EtcdOptions) -> Option<String> {
    let bin = args.etcd_binary().ok()?;
    let version = crate::etcd::embedded::etcd_version(&bin).ok()?;
    Some(format!("{} ({version})", bin.display()))
}

/// The start barrier: publish this node's ready key (a nonce, its etcd version and the load it will
/// run: "<nonce> etcd <version>; <load>"), wait until every node's is there, the etcd versions and
/// the loads agree and every other member still listens on its peer port.
/// Returns the run id (the nonce of the first node by name: random, and the same for everyone).
async fn join(
    plan: &MemberPlan,
    terms: &str,
    member: &mut Member,
    settings: &ConnSettings,
    timeout: Duration,
) -> Result<(Client, String), ClusterError> {
    let me = &plan.nodes[plan.me].name;
    let key = format!("{KEYS}ready/{me}");
    let nonce = format!("{:016x}", rand::RngExt::random::<u64>(&mut rand::rng()));
    let deadline = Instant::now() + timeout;
    let mut client: Option<Client> = None;
    let mut published = false;
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut gone_since: Option<(Instant, Vec<String>)> = None;
    let mut mismatch_since: Option<Instant> = None;
    // With a cluster secret: does every peer hold it? (Otherwise their TLS handshakes fail and the
    // wait would run out the whole join timeout.)
    let mut peer_check = match &member.credentials {
        Some(c) => Some(
            super::peer_check::PeerCheck::start(&plan.nodes, plan.me, plan.peer_port, c)
                .map_err(ClusterError::Member)?,
        ),
        None => None,
    };
    loop {
        member.check_alive()?;
        if let Some(why) = peer_check.as_mut().and_then(|c| c.refused_after_grace()) {
            return Err(ClusterError::Unauthenticated(why));
        }
        if stop_requested() {
            // Take the ready key back, so no peer counts this node in (best effort: a node
            // killed outright is caught by the liveness look below).
            if let (true, Some(cl)) = (published, client.as_mut()) {
                let _ = tokio::time::timeout(REQ, cl.delete(key.as_str(), None)).await;
            }
            return Err(ClusterError::Interrupted);
        }
        if client.is_none() {
            client = settings.connect_lazy().await.ok();
        }
        if let Some(cl) = client.as_mut() {
            if !published {
                published = put(cl, &key, &format!("{nonce} {terms}")).await;
            }
            if published {
                if let Some(m) = list(cl, &format!("{KEYS}ready/"), false).await {
                    seen = m;
                }
                if plan.nodes.iter().all(|n| seen.contains_key(&n.name)) {
                    if let Err(e) = agree(plan, terms, &seen) {
                        // Stay a while, as for a member gone: a peer may need this member for
                        // the quorum read that shows it the same.
                        let since = *mismatch_since.get_or_insert_with(Instant::now);
                        if Instant::now() >= since + GONE_GRACE || Instant::now() >= deadline {
                            return Err(e);
                        }
                        tokio::time::sleep(POLL * 10).await;
                        continue;
                    }
                    let gone = gone_after_joining(plan, &seen).await;
                    if !gone.is_empty() {
                        // Stay a while before giving up, so the nodes still waiting (which may
                        // need this member for a quorum to read the keys) see it too. Named are
                        // the ones seen gone first: later ones may be peers that gave up.
                        let (since, first_gone) =
                            gone_since.get_or_insert_with(|| (Instant::now(), gone));
                        if Instant::now() >= *since + GONE_GRACE || Instant::now() >= deadline {
                            return Err(ClusterError::Left(format!(
                                "{} joined and then went away (nothing listens on its peer port {}); a member cannot rejoin a run: start nodefit again on every node",
                                named(&plan.nodes, &first_gone.iter().collect::<Vec<_>>()),
                                plan.peer_port
                            )));
                        }
                        tokio::time::sleep(POLL * 10).await;
                        continue;
                    }
                    let first = plan.nodes.iter().map(|n| &n.name).min();
                    let run_id = first
                        .and_then(|f| seen.get(f))
                        .map(|v| v.split(' ').next().unwrap_or(v).to_string())
                        .unwrap_or_else(|| nonce.clone());
                    if let Some(cl) = client.take() {
                        return Ok((cl, run_id));
                    }
                }
            }
        }
        if Instant::now() >= deadline {
            if let Some(why) = peer_check.as_ref().and_then(|c| c.refused()) {
                return Err(ClusterError::Unauthenticated(why));
            }
            let missing: Vec<&String> = plan
                .nodes
                .iter()
                .map(|n| &n.name)
                .filter(|n| *n != me && !seen.contains_key(*n))
                .collect();
            return Err(ClusterError::JoinTimeout {
                missing: named(&plan.nodes, &missing),
                timeout_s: timeout.as_secs_f64(),
                peer_port: plan.peer_port,
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Every node's ready key names the same etcd version and the same load as this node's, or the
/// run stops here: figures of members on different etcd versions are not of one cluster.
fn agree(
    plan: &MemberPlan,
    terms: &str,
    seen: &BTreeMap<String, String>,
) -> Result<(), ClusterError> {
    let me = &plan.nodes[plan.me].name;
    let (mine, my_load) = split_terms(terms);
    for (name, value) in seen {
        let (theirs, their_load) = split_terms(value.split_once(' ').map(|(_, t)| t).unwrap_or(""));
        if theirs != mine {
            return Err(ClusterError::EtcdVersions {
                other: name.clone(),
                theirs: theirs.to_string(),
                me: me.clone(),
                mine: mine.to_string(),
            });
        }
        if their_load != my_load {
            return Err(ClusterError::Invalid(format!(
                "{name} was started with another load ({their_load}) than {me} ({my_load}); start every node with the same options"
            )));
        }
    }
    Ok(())
}

/// A ready key's terms "etcd <version>; <load>" as (version, load); a node that sent none (an older
/// nodefit) has version "unknown", so it differs from any version sent.
fn split_terms(terms: &str) -> (&str, &str) {
    terms
        .strip_prefix("etcd ")
        .and_then(|t| t.split_once("; "))
        .unwrap_or(("unknown", terms))
}

/// Nodes whose ready key is there but whose member no longer listens on its peer port: they joined
/// and left (stopped or killed), and a member cannot rejoin, so the run cannot count them.
async fn gone_after_joining(plan: &MemberPlan, seen: &BTreeMap<String, String>) -> Vec<String> {
    let mut gone = Vec::new();
    for (i, n) in plan.nodes.iter().enumerate() {
        if i == plan.me || !seen.contains_key(&n.name) {
            continue;
        }
        let a = SocketAddr::new(n.addr, plan.peer_port);
        if let Err(e) = handshake(a, Duration::from_millis(500)).await {
            if e.to_ascii_lowercase().contains("refused") {
                gone.push(n.name.clone());
            }
        }
    }
    gone
}

/// Per-peer `etcd_network_peer_round_trip_time_seconds` buckets from this node's member, by the
/// peer's member id (hex, the metric's `To` label).
async fn peer_rtt_buckets(url: &str) -> Result<BTreeMap<String, Buckets>, String> {
    let text = metrics::fetch(url, &ScrapeTls::default(), Duration::from_secs(2)).await?;
    let mut by_peer: BTreeMap<String, String> = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with(metrics::PEER_RTT)) {
        if let Some(rest) = line.split("To=\"").nth(1) {
            if let Some(id) = rest.split('"').next() {
                let t = by_peer.entry(id.to_string()).or_default();
                t.push_str(line);
                t.push('\n');
            }
        }
    }
    Ok(by_peer
        .into_iter()
        .filter_map(|(id, t)| {
            metrics::parse_histograms(&t, &[metrics::PEER_RTT])
                .remove(metrics::PEER_RTT)
                .map(|b| (id, b))
        })
        .collect())
}

/// This member's status: (leader id, own id).
async fn leader_of(c: &mut Client) -> Option<(u64, u64)> {
    status::member_status(c, REQ)
        .await
        .map(|(_, id, l)| (l, id))
}

async fn steps(
    args: &EtcdOptions,
    c: &ClusterOptions,
    plan: &MemberPlan,
    terms: &str,
    member: &mut Member,
    progress: &Progress,
) -> Result<(EtcdResult, ClusterResult), ClusterError> {
    let nodes = &plan.nodes;
    let me = nodes[plan.me].name.clone();
    let settings = ConnSettings {
        endpoints: vec![plan.client_url()],
        dial_timeout: Duration::from_secs(2),
        ..Default::default()
    };
    let (mut client, run_id) = join(plan, terms, member, &settings, c.join_timeout).await?;
    say(
        progress,
        &format!("all {} members joined; run {run_id}", nodes.len()),
    );
    let ids: BTreeMap<u64, String> = status::member_list(&mut client, REQ)
        .await
        .map(|l| l.into_iter().map(|m| (m.id, m.name)).collect())
        .unwrap_or_default();
    let name_of = |id: u64| ids.get(&id).cloned();
    let role = leader_of(&mut client)
        .await
        .map(|(l, own)| if l == own { "leader" } else { "follower" }.to_string());
    let metrics_url = format!("{}/metrics", plan.client_url());
    let rtt_before = peer_rtt_buckets(&metrics_url).await;

    // Probe through the local member while sampling the network to every peer.
    let peers: Vec<(String, SocketAddr)> = nodes
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != plan.me)
        .map(|(_, n)| (n.name.clone(), SocketAddr::new(n.addr, plan.peer_port)))
        .collect();
    let duration = args.duration.unwrap_or(Duration::from_secs(60));
    let interval = (duration / 2000).clamp(Duration::from_millis(4), Duration::from_millis(10));
    let sampler = Sampler::start(&peers, interval);
    let mut inner = args.clone();
    inner.endpoints = vec![plan.client_url()];
    inner.prefix = Some(format!("/nodefit/{run_id}/{me}/"));
    // The cluster is our own throwaway: no live-cluster rate limit.
    inner.accept_production_load = true;
    let probed = crate::etcd::probe(&inner, progress.clone()).await;
    let samples = sampler.finish().await;
    let rtt_after = peer_rtt_buckets(&metrics_url).await;
    let leader = leader_of(&mut client).await.and_then(|(l, _)| name_of(l));

    // Done keys: this member's figures for everyone, then wait for the others.
    let own: Option<MemberResult> = probed
        .as_ref()
        .ok()
        .and_then(|r| r.members.iter().find(|m| m.name == me).cloned());
    let report = serde_json::to_string(&own).unwrap_or_else(|_| "null".into());
    let (reports, published) = finish(
        &mut client,
        plan,
        member,
        &report,
        args.command_timeout,
        progress,
    )
    .await;
    let mut etcd = probed?;
    // This node's own member died under the probe (ENOSPC, a failed fsync, a crash): the figures
    // after that are of a dead member, and etcd's own reason says why.
    if let Err(e) = member.check_alive() {
        etcd.complete = false;
        etcd.error = Some(e.to_string());
    } else if !published {
        let note = "could not publish this node's figures to the cluster (no quorum at the end?)";
        etcd.error = Some(match etcd.error.take() {
            Some(n) => format!("{n}; {note}"),
            None => note.to_string(),
        });
    }

    // Every member's own figures, from its node's done key (this node's client URL reaches its own
    // member only). They go to `cluster.members`; the `etcd` section keeps this node's member alone,
    // so the node is judged on its own disk and the cluster on its worst node.
    let figures = |name: &str| -> Option<MemberResult> {
        reports.get(name).and_then(|v| {
            serde_json::from_str::<Option<MemberResult>>(v)
                .ok()
                .flatten()
        })
    };
    let members: Vec<ClusterMember> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let f = figures(&n.name);
            ClusterMember {
                name: n.name.clone(),
                address: n.addr.to_string(),
                peer_url: plan.peer_url(i),
                id: ids
                    .iter()
                    .find(|(_, m)| **m == n.name)
                    .map(|(id, _)| crate::etcd::hex_id(*id)),
                reported: f.is_some(),
                wal_fsync: f.as_ref().and_then(|f| f.wal_fsync.clone()),
                backend_commit: f.as_ref().and_then(|f| f.backend_commit.clone()),
            }
        })
        .collect();
    etcd.members.retain(|m| m.name == me);
    etcd.target.kind = "cluster".into();
    etcd.target.member_count = nodes.len() as u32;
    etcd.target.directory = Some(args.directory.display().to_string());
    etcd.target.etcd_bin = binary_and_version(args);
    let unfinished: Vec<String> = nodes
        .iter()
        .filter(|n| n.name != me && !reports.contains_key(&n.name))
        .map(|n| n.name.clone())
        .collect();

    let peer_results = peer_results(nodes, samples, &ids, &rtt_before, &rtt_after);
    let worst = peer_results
        .iter()
        .filter_map(|p| {
            let v = p.rtt_ns.as_ref()?.summary.percentile(99.0)?;
            Some((format!("{me} → {}", p.name), v))
        })
        .max_by_key(|(_, v)| *v);
    let cluster = ClusterResult {
        self_name: me.clone(),
        token: plan.token.clone(),
        run_id,
        peer_tls: plan.tls.as_str().into(),
        insecure_peers: plan.tls.is_insecure(),
        members,
        leader,
        role,
        leader_changes: etcd.leader_changes,
        errors_total: etcd.errors_total,
        put_latency_ns: etcd.latency_ns.clone(),
        peers: peer_results,
        recommended: recommend(worst.as_ref().map(|(l, v)| (l.as_str(), *v))),
        worst_link: worst.as_ref().map(|w| w.0.clone()),
        worst_rtt_p99_ns: worst.map(|w| w.1),
        unfinished,
    };
    Ok((etcd, cluster))
}

/// Each peer's result: the handshake samples and etcd's own RTT estimate for it (by member id).
fn peer_results(
    nodes: &[NodeSpec],
    samples: Vec<(String, PeerSamples)>,
    ids: &BTreeMap<u64, String>,
    rtt_before: &Result<BTreeMap<String, Buckets>, String>,
    rtt_after: &Result<BTreeMap<String, Buckets>, String>,
) -> Vec<PeerResult> {
    let id_of = |name: &str| ids.iter().find(|(_, n)| *n == name).map(|(id, _)| *id);
    samples
        .into_iter()
        .map(|(name, s)| {
            let address = nodes
                .iter()
                .find(|n| n.name == name)
                .map(|n| n.addr.to_string())
                .unwrap_or_default();
            let est = id_of(&name).and_then(|id| {
                let key = crate::etcd::hex_id(id);
                let b = rtt_before.as_ref().ok().and_then(|m| m.get(&key));
                let a = rtt_after.as_ref().ok().and_then(|m| m.get(&key));
                metrics::estimate(b, a)
            });
            PeerResult {
                rtt_ns: s
                    .rtt
                    .summary(&super::RTT_PERCENTILES)
                    .map(|summary| RttSummary {
                        samples: summary.count,
                        summary,
                    }),
                name,
                address,
                rtt_errors: s.errors,
                rtt_last_error: s.last_error,
                etcd_peer_rtt_ns: est,
            }
        })
        .collect()
}

/// The end barrier: publish this node's done key (with its member's figures), then wait until
/// every other node has published its own — or has gone (its peer port refuses connections), or
/// the wait times out, or this node's own member has died. Returns the done keys seen (name →
/// figures) and whether this node's own key was taken.
async fn finish(
    c: &mut Client,
    plan: &MemberPlan,
    member: &mut Member,
    report: &str,
    command_timeout: Duration,
    progress: &Progress,
) -> (BTreeMap<String, String>, bool) {
    let me = &plan.nodes[plan.me].name;
    let limit = (command_timeout * 3).max(Duration::from_secs(30));
    let deadline = Instant::now() + limit;
    let mut published = false;
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut gone: Vec<String> = Vec::new();
    let mut said = false;
    loop {
        if !published {
            published = put(c, &format!("{KEYS}done/{me}"), report).await;
        }
        if published {
            if let Some(m) = list(c, &format!("{KEYS}done/"), true).await {
                seen = m;
            }
        }
        let waiting: Vec<&NodeSpec> = plan
            .nodes
            .iter()
            .filter(|n| &n.name != me && !seen.contains_key(&n.name) && !gone.contains(&n.name))
            .collect();
        if waiting.is_empty() && published {
            break;
        }
        if Instant::now() >= deadline || stop_requested() || member.check_alive().is_err() {
            break;
        }
        if !said && !waiting.is_empty() {
            let names: Vec<&str> = waiting.iter().map(|n| n.name.as_str()).collect();
            say(
                progress,
                &format!("waiting for {} to finish", names.join(", ")),
            );
            said = true;
        }
        // A peer whose member is gone (nothing listens on its peer port) will never finish.
        for n in &waiting {
            let a = SocketAddr::new(n.addr, plan.peer_port);
            if let Err(e) = handshake(a, Duration::from_millis(500)).await {
                if e.to_ascii_lowercase().contains("refused") {
                    gone.push(n.name.clone());
                }
            }
        }
        tokio::time::sleep(POLL * 5).await;
    }
    (seen, published)
}
