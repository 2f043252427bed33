//! `nodefit etcd --cluster …`: run the cluster probe, print this node's view or the results
//! document (with its `etcd` and `cluster` sections). Done (0), could not run (2), Ctrl-C (130).

use super::etcd::{could_not_probe, finish, EtcdCmd};
use super::Outcome;
use crate::results::ResultsDocument;

/// Entry point, called by `nodefit etcd` when `--cluster` is given.
pub fn run(cmd: EtcdCmd) -> anyhow::Result<Outcome> {
    let started = std::time::SystemTime::now();
    let progress = super::progress(cmd.quiet);
    let (etcd, cluster) =
        match crate::cluster::probe_blocking(&cmd.options, &cmd.cluster, &progress) {
            Ok(r) => r,
            Err(e) => return Ok(could_not_probe("etcd --cluster", &e)),
        };
    let mut doc = ResultsDocument::new(started);
    doc.node_name = Some(cluster.self_name.clone());
    let mut text = crate::ui::etcd::text(&etcd);
    text.push_str(&crate::ui::cluster::text(&cluster));
    doc.etcd = Some(etcd);
    doc.cluster = Some(cluster);
    if let Some(name) = &cmd.profile {
        judge(&mut doc, name)?;
    }
    finish(&cmd, doc, text)
}

/// `--profile`: the profile's etcd and cluster checks held against this node's view; a verdict
/// and score only when the probe completed (an incomplete run keeps its checks, no verdict).
fn judge(doc: &mut ResultsDocument, name: &str) -> anyhow::Result<()> {
    let profile = crate::score::profile::Profile::find(name)?;
    let p = crate::score::cluster::probe_only(&profile);
    let outcome = crate::score::cluster::judge(&p, &serde_json::to_value(&*doc)?, &[]);
    let complete = doc.etcd.as_ref().is_some_and(|e| e.complete);
    doc.profile = Some(profile.summary_json());
    if complete {
        doc.verdict = Some(outcome.verdict);
        doc.score = Some(outcome.score);
    }
    doc.checks = outcome.checks;
    doc.warnings.extend(outcome.warnings);
    Ok(())
}
