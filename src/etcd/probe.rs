//! The probe from start to end: target (embedded or endpoints) → connect and check → prefix check
//! → status and metrics before → open-loop load with a leader watcher → status and metrics after →
//! delete the prefix → stop the embedded etcd. Cleanup runs on every path out once the prefix was
//! taken, including errors and Ctrl-C.

use super::client::ConnSettings;
use super::embedded::Embedded;
use super::load::{LoadOutcome, LoadPlan, LATE_THRESHOLD_NS};
use super::metrics::{self, Buckets, ScrapeTls};
use super::ops::Workload;
use super::status::{self, LeaderLog, Member};
use super::{
    hex_id, BehindSchedule, EtcdError, EtcdResult, LoadInfo, MemberResult, MemberStatus,
    TargetInfo, ERROR_KINDS,
};
use crate::options::etcd::EtcdOptions;
use crate::util::progress::{Progress, Tick};
use etcd_client::{Client, DeleteOptions, GetOptions};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Status polls during the load: often enough to time-stamp an election (etcd's default election
/// timeout is 1 s), rare enough to be no load on a live cluster.
const LEADER_POLL: Duration = Duration::from_millis(250);
/// Per-poll timeout of the leader watcher.
const POLL_TIMEOUT: Duration = Duration::from_millis(800);

fn cpu_seconds() -> f64 {
    let (user, system) = crate::util::cpu::process_times();
    (user + system).as_secs_f64()
}

/// Everything the probe learned, kept while it runs so cleanup can use it on any path.
#[derive(Default)]
struct Ctx {
    main: Option<Client>,
    prefix_taken: bool,
    members: Vec<Member>,
    before: Vec<Option<MemberStatus>>,
    after: Vec<Option<MemberStatus>>,
    metrics_before: Vec<Result<BTreeMap<String, Buckets>, String>>,
    metrics_after: Vec<Result<BTreeMap<String, Buckets>, String>>,
    outcome: Option<LoadOutcome>,
    leader: Arc<Mutex<LeaderLog>>,
    cpu_s: f64,
}

/// Run the probe (see the module comment).
pub async fn probe(args: &EtcdOptions, progress: Progress) -> Result<EtcdResult, EtcdError> {
    let id = crate::util::scratch::run_id().to_string();
    let prefix = args
        .prefix
        .clone()
        .unwrap_or_else(|| format!("/nodefit/{id}/"));
    let load = args.resolve_load(prefix)?;
    let mut target = TargetInfo::default();
    let mut embedded = None;
    let endpoints = if args.is_live() {
        target.kind = "endpoints".into();
        args.endpoints.clone()
    } else {
        target.kind = "embedded".into();
        let bin = args.etcd_binary()?;
        let e = Embedded::start(&bin, &args.directory, args.members, &id)?;
        target.directory = Some(args.directory.display().to_string());
        target.etcd_bin = Some(format!("{} ({})", bin.display(), e.version));
        let urls = e.client_urls.clone();
        embedded = Some(e);
        urls
    };
    target.endpoints = endpoints.clone();
    let settings = ConnSettings {
        endpoints,
        cacert: args.cacert.clone(),
        cert: args.cert.clone(),
        key: args.key.clone(),
        user: ConnSettings::user_from(args.user.as_deref(), password(args)?.as_deref()),
        dial_timeout: args.dial_timeout,
    };
    let mut ctx = Ctx::default();
    let res = async {
        if let Some(e) = embedded.as_mut() {
            wait_healthy(e, &settings).await?;
        }
        run(args, &load, &settings, &mut ctx, progress).await
    }
    .await;
    // Cleanup, on every path once the prefix is ours.
    let mut notes: Vec<String> = Vec::new();
    let mut cleaned_up = false;
    if ctx.prefix_taken {
        let t = args.command_timeout.max(args.dial_timeout);
        let mut last_err = String::new();
        if let Some(c) = ctx.main.as_mut() {
            match delete_prefix(c, &load.prefix, t).await {
                Ok(()) => cleaned_up = true,
                Err(e) => last_err = e,
            }
        }
        // The shared connection may be pinned to a member that died: try each member alone.
        if !cleaned_up {
            let mut eps: Vec<String> = ctx.members.iter().map(|m| m.endpoint.clone()).collect();
            eps.extend(settings.endpoints.iter().cloned());
            eps.dedup();
            for ep in eps.into_iter().filter(|e| !e.is_empty()) {
                let one = settings.with_endpoints(vec![ep]);
                if let Ok(mut c) = one.connect_lazy().await {
                    match delete_prefix(&mut c, &load.prefix, t).await {
                        Ok(()) => {
                            cleaned_up = true;
                            break;
                        }
                        Err(e) => last_err = e,
                    }
                }
            }
        }
        if !cleaned_up {
            notes.push(format!(
                "could not delete prefix {}: {last_err}",
                load.prefix
            ));
        }
    }
    drop(ctx.main.take());
    if let Some(mut e) = embedded.take() {
        // Blocks this thread for at most a few seconds; nothing else runs at this point.
        if let Err(err) = e.stop() {
            notes.push(err);
        }
    }
    res?;
    let Some(out) = ctx.outcome.take() else {
        return Err(EtcdError::Other("the load did not run".into()));
    };
    if out.stopped {
        notes.insert(0, "interrupted".into());
    }
    target.member_count = ctx.members.len() as u32;

    Ok(assemble(target, load, out, &ctx, cleaned_up, notes))
}

/// The password: `--password`, or the first line of `--password-file` (read here, never shown).
fn password(args: &EtcdOptions) -> Result<Option<String>, EtcdError> {
    use std::io::Read;
    let Some(path) = &args.password_file else {
        return Ok(args.password.clone());
    };
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(4096).read_to_string(&mut text))
        .map_err(|e| {
            EtcdError::Invalid(format!(
                "cannot read --password-file {}: {e}",
                path.display()
            ))
        })?;
    let line = text.lines().next().unwrap_or("").trim_end_matches('\r');
    if line.is_empty() {
        return Err(EtcdError::Invalid(format!(
            "--password-file {} is empty",
            path.display()
        )));
    }
    Ok(Some(line.to_string()))
}

async fn wait_healthy(e: &mut Embedded, settings: &ConnSettings) -> Result<(), EtcdError> {
    let limit = Duration::from_secs(if e.client_urls.len() > 1 { 20 } else { 10 });
    let deadline = Instant::now() + limit;
    let mut clients: Vec<Option<Client>> = Vec::new();
    for u in &e.client_urls {
        clients.push(
            settings
                .with_endpoints(vec![u.clone()])
                .connect_lazy()
                .await
                .ok(),
        );
    }
    loop {
        e.check_alive()?;
        if crate::util::signals::stop_requested() {
            return Err(EtcdError::Other(
                "interrupted while waiting for the embedded etcd".into(),
            ));
        }
        let mut ready = 0;
        for c in clients.iter_mut().flatten() {
            if let Some((_, _, leader)) = status::member_status(c, Duration::from_millis(500)).await
            {
                if leader != 0 {
                    ready += 1;
                }
            }
        }
        if ready == e.client_urls.len() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(EtcdError::Embedded(format!(
                "not healthy after {limit:?} ({ready} of {} members ready); their logs say: {}",
                e.client_urls.len(),
                e.log_summary()
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn delete_prefix(c: &mut Client, prefix: &str, timeout: Duration) -> Result<(), String> {
    match tokio::time::timeout(
        timeout,
        c.delete(prefix, Some(DeleteOptions::new().with_prefix())),
    )
    .await
    {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(super::client::error_chain(&e)),
        Err(_) => Err(format!("no reply within {timeout:?}")),
    }
}

async fn scrape_all(
    members: &[Member],
    urls: &[String],
    tls: &ScrapeTls,
    timeout: Duration,
) -> Vec<Result<BTreeMap<String, Buckets>, String>> {
    let mut out = Vec::new();
    for (i, m) in members.iter().enumerate() {
        let url = urls
            .get(i)
            .cloned()
            .unwrap_or_else(|| format!("{}/metrics", m.endpoint.trim_end_matches('/')));
        out.push(metrics::fetch(&url, tls, timeout).await.map(|t| {
            metrics::parse_histograms(
                &t,
                &[
                    metrics::WAL_FSYNC,
                    metrics::BACKEND_COMMIT,
                    metrics::PEER_RTT,
                ],
            )
        }));
    }
    out
}

async fn run(
    args: &EtcdOptions,
    load: &LoadInfo,
    settings: &ConnSettings,
    ctx: &mut Ctx,
    progress: Progress,
) -> Result<(), EtcdError> {
    let mut main = settings.connect_checked().await?;
    let timeout = args.command_timeout;
    // Refuse a prefix that already holds keys (a live cluster's data, or a previous run's).
    let count = tokio::time::timeout(
        timeout,
        main.get(
            load.prefix.as_str(),
            Some(GetOptions::new().with_prefix().with_count_only()),
        ),
    )
    .await
    .map_err(|_| EtcdError::Other(format!("checking prefix: no reply within {timeout:?}")))?
    .map_err(|e| settings.setup_error(&e))?
    .count();
    ctx.main = Some(main.clone());
    if count > 0 && !args.force {
        return Err(EtcdError::PrefixNotEmpty {
            prefix: load.prefix.clone(),
            count,
        });
    }
    ctx.prefix_taken = true;

    ctx.members = status::member_list(&mut main, timeout).await?;
    ctx.members
        .sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    let mut member_clients = status::member_clients(settings, &ctx.members).await;
    ctx.before = status::all_status(&mut member_clients, timeout).await;
    let tls = ScrapeTls {
        cacert: args.cacert.clone(),
        cert: args.cert.clone(),
        key: args.key.clone(),
    };
    ctx.metrics_before =
        scrape_all(&ctx.members, &args.metrics_urls, &tls, args.dial_timeout).await;

    // Connections for the load: the checked one plus conns − 1 more.
    let mut kvs = vec![main.kv_client()];
    for _ in 1..load.conns {
        kvs.push(settings.connect_lazy().await?.kv_client());
    }
    let workload = Arc::new(Workload::new(
        args.op,
        &load.prefix,
        load.key_size as usize,
        load.val_size as usize,
        load.key_space,
        load.sequential_keys,
    ));
    let plan = LoadPlan {
        rate: load.rate,
        clients: load.clients,
        duration: load.duration_s.map(Duration::from_secs_f64),
        total: load.total,
        command_timeout: timeout,
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stop_tx = Arc::new(stop_tx);
    let sig = {
        let tx = stop_tx.clone();
        tokio::spawn(async move {
            crate::util::signals::stopped().await;
            let _ = tx.send(true);
        })
    };
    let watcher = tokio::spawn(status::watch_leader(
        status::member_clients(settings, &ctx.members).await,
        LEADER_POLL,
        POLL_TIMEOUT,
        Instant::now(),
        ctx.leader.clone(),
        stop_rx.clone(),
    ));
    let cpu0 = cpu_seconds();
    let mut reporter = None;
    let outcome = super::load::run(&plan, workload, &kvs, stop_rx, |l| {
        if progress.live() {
            let total_s = load.duration_s;
            let sink = progress.clone();
            reporter = Some(tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    let p = l.progress();
                    sink.tick(&Tick::Etcd {
                        elapsed_s: p.elapsed_s,
                        total_s,
                        ops: p.ops,
                        errors: p.errors,
                        p99_ns: p.p99_ns,
                        lag_ns: p.lag_ns,
                    });
                }
            }));
        }
    })
    .await;
    ctx.cpu_s = cpu_seconds() - cpu0;
    if let Some(r) = reporter {
        r.abort();
        progress.end(true);
    }
    let _ = stop_tx.send(true);
    let _ = watcher.await;
    sig.abort();
    ctx.outcome = Some(outcome);
    ctx.after = status::all_status(&mut member_clients, timeout).await;
    ctx.metrics_after = scrape_all(&ctx.members, &args.metrics_urls, &tls, args.dial_timeout).await;
    Ok(())
}

fn assemble(
    target: TargetInfo,
    load: LoadInfo,
    out: LoadOutcome,
    ctx: &Ctx,
    cleaned_up: bool,
    notes: Vec<String>,
) -> EtcdResult {
    let pct = crate::util::stats::FIO_DEFAULT_PERCENTILES;
    let secs = out.runtime_ns as f64 / 1e9;
    let errors: BTreeMap<String, u64> = ERROR_KINDS
        .iter()
        .enumerate()
        .map(|(i, k)| (k.to_string(), out.errors[i]))
        .collect();
    let events = ctx
        .leader
        .lock()
        .map(|l| l.events.clone())
        .unwrap_or_default();
    let multi = ctx.members.len() > 1;
    let members = ctx
        .members
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let before = ctx.before.get(i).cloned().flatten();
            let after = ctx.after.get(i).cloned().flatten();
            let latest = after.clone().or_else(|| before.clone());
            let mb = ctx.metrics_before.get(i).and_then(|r| r.as_ref().ok());
            let ma = ctx.metrics_after.get(i).and_then(|r| r.as_ref().ok());
            let metrics_error = match (ctx.metrics_before.get(i), ctx.metrics_after.get(i)) {
                (_, Some(Err(e))) | (Some(Err(e)), _) => Some(e.clone()),
                _ => None,
            };
            let est = |name: &str| {
                metrics::estimate(mb.and_then(|b| b.get(name)), ma.and_then(|a| a.get(name)))
            };
            MemberResult {
                name: m.name.clone(),
                id: hex_id(m.id),
                endpoint: m.endpoint.clone(),
                version: latest.as_ref().map(|s| s.version.clone()),
                is_leader: latest.as_ref().map(|s| s.is_leader),
                raft_term: latest.as_ref().map(|s| s.raft_term),
                raft_index: latest.as_ref().map(|s| s.raft_index),
                db_size_bytes: latest.as_ref().map(|s| s.db_size_bytes),
                before,
                after,
                wal_fsync: est(metrics::WAL_FSYNC),
                backend_commit: est(metrics::BACKEND_COMMIT),
                // etcd probes its peers every few seconds, so a young cluster may not have
                // recorded a round trip yet: say so with an empty estimate.
                peer_rtt: if multi {
                    est(metrics::PEER_RTT).or_else(|| ma.map(|_| metrics::empty_estimate()))
                } else {
                    None
                },
                metrics_error,
            }
        })
        .collect();
    let errors_total: u64 = out.errors.iter().sum();
    EtcdResult {
        target,
        target_rate: load.rate,
        achieved_rate: if secs > 0.0 {
            out.ops as f64 / secs
        } else {
            0.0
        },
        requests: out.requests,
        ops: out.ops,
        errors_total,
        errors,
        error_samples: out.error_samples.clone(),
        leader_changes: events.len() as u64,
        leader_change_events: events,
        latency_ns: out.latency.summary(&pct),
        service_time_ns: out.service.summary(&pct),
        behind_schedule: BehindSchedule {
            max_lag_ns: out.max_lag_ns,
            final_lag_ns: out.final_lag_ns,
            late_share: if out.requests > 0 {
                out.late as f64 / out.requests as f64
            } else {
                0.0
            },
            late_threshold_ns: LATE_THRESHOLD_NS,
            unsent: out.unsent,
        },
        timeseries: out.seconds.clone(),
        members,
        runtime_ns: out.runtime_ns,
        client_cpu_s: ctx.cpu_s,
        cleaned_up,
        complete: !out.stopped,
        error: if notes.is_empty() {
            None
        } else {
            Some(notes.join("; "))
        },
        load,
    }
}
