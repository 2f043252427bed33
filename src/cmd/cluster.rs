//! `nodefit etcd --cluster …`: run the cluster probe, print this node's view or the results
//! document (with its `etcd` and `cluster` sections). Done (0), could not run (2), Ctrl-C (130).

use super::etcd::EtcdCmd;
use super::{emit, Outcome, OutputFormat};
use crate::results::ResultsDocument;

/// Entry point, called by `nodefit etcd` when `--cluster` is given.
pub fn run(cmd: EtcdCmd) -> anyhow::Result<Outcome> {
    let started = std::time::SystemTime::now();
    let progress = super::progress(cmd.quiet);
    let (etcd, cluster) =
        match crate::cluster::probe_blocking(&cmd.options, &cmd.cluster, &progress) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("nodefit: etcd --cluster: {e}");
                return Ok(if crate::util::signals::stop_requested() {
                    Outcome::Interrupted
                } else {
                    Outcome::CouldNotRun
                });
            }
        };
    let interrupted = crate::util::signals::stop_requested();
    let mut doc = ResultsDocument::new(started);
    doc.node_name = Some(cluster.self_name.clone());
    if !etcd.complete {
        doc.complete = false;
        doc.incomplete_reason = etcd.error.clone();
    }
    let complete = etcd.complete;
    let body = match cmd.output_format {
        OutputFormat::Normal => {
            let mut t = crate::ui::etcd::text(&etcd);
            t.push_str(&crate::ui::cluster::text(&cluster));
            t.into_bytes()
        }
        OutputFormat::Json => Vec::new(),
    };
    doc.etcd = Some(etcd);
    doc.cluster = Some(cluster);
    doc.finish();
    let bytes = match cmd.output_format {
        OutputFormat::Json => {
            let mut v = serde_json::to_vec_pretty(&doc)?;
            v.push(b'\n');
            v
        }
        OutputFormat::Normal => body,
    };
    emit(cmd.output.as_deref(), &bytes)?;
    if let Some(p) = &cmd.prometheus_textfile {
        crate::report::prometheus::write_document(p, &doc)?;
    }
    Ok(if interrupted {
        Outcome::Interrupted
    } else if complete {
        Outcome::Done
    } else {
        Outcome::CouldNotRun
    })
}
