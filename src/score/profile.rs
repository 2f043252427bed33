//! Profiles: the disk workloads, the etcd probe's load and the checks of a qualification, read from
//! TOML (`profiles/*.toml`). Thresholds are data: every check names its metric, comparison, limit,
//! severity and the document its limit comes from. Loading validates everything a run would trip
//! over later — unknown keys, unknown metric paths, bad sizes — and names the file and line.

use crate::options::disk::{DiskOptions, JobSpec};
use crate::options::etcd::EtcdOptions;
use crate::results::cluster::ClusterResult;
use crate::results::etcd::EtcdResult;
use crate::results::fingerprint::Fingerprint;
use crate::results::path::{MetricPath, Selector};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use toml::de::DeTable;
use toml::Spanned;

/// The profiles compiled into the binary, so an installed `nodefit` works from any directory.
pub const BUILTIN: [(&str, &str); 3] = [
    (
        "k8s-control-plane",
        include_str!("../../profiles/k8s-control-plane.toml"),
    ),
    ("openshift", include_str!("../../profiles/openshift.toml")),
    ("etcd-heavy", include_str!("../../profiles/etcd-heavy.toml")),
];

/// Name of the profile used when none is given.
pub const DEFAULT_PROFILE: &str = "k8s-control-plane";

/// Errors from finding and reading profiles.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("{file}:{line}: {message}")]
    At {
        file: String,
        line: usize,
        message: String,
    },
    #[error("{file}: {message}")]
    File { file: String, message: String },
    #[error("no profile named '{0}' (try `nodefit profiles`, or pass a file path)")]
    NotFound(String),
}

use crate::results::check::{Comparison, Severity};

/// One check of a profile.
#[derive(Clone, Debug)]
pub struct Check {
    pub id: String,
    pub title: String,
    pub metric: MetricPath,
    pub comparison: Comparison,
    /// The limit; with `limit_of`, a factor applied to that metric's value.
    pub limit: f64,
    /// Metric whose value, times `limit`, is the limit (e.g. 0.9 × `etcd.target_rate`).
    pub limit_of: Option<MetricPath>,
    /// Between `limit` and this value the check is MARGINAL instead of failing.
    pub marginal: Option<f64>,
    pub unit: String,
    pub severity: Severity,
    pub source: String,
}

/// One disk workload of a profile.
#[derive(Clone, Debug)]
pub struct DiskWorkload {
    /// Profile id; also the workload's name in results (`spec.name`).
    pub id: String,
    pub title: String,
    /// Workloads with the same group run at the same time.
    pub concurrent_group: Option<String>,
    /// Rounds for this workload (profile default when not set).
    pub rounds: u32,
    /// Options as written (directory filled in at run time).
    pub options: DiskOptions,
}

impl DiskWorkload {
    /// Resolve for a run on `dir`; `quick` halves the time and size bounds.
    pub fn spec(&self, dir: &Path, quick: bool) -> Result<JobSpec, crate::error::Error> {
        let mut o = self.options.clone();
        o.directory = Some(dir.to_path_buf());
        let mut spec = JobSpec::resolve(&o)?;
        if quick {
            spec.runtime_ns = spec.runtime_ns.map(|r| (r / 2).max(1));
            spec.size = (spec.size / 2).max(spec.bs);
        }
        Ok(spec)
    }
}

/// A loaded, validated profile.
#[derive(Clone, Debug)]
pub struct Profile {
    pub name: String,
    pub description: String,
    /// Where it was loaded from: a path, or `builtin:NAME`.
    pub file: String,
    /// The TOML text, for `nodefit profiles show`.
    pub text: String,
    pub rounds: u32,
    pub disk: Vec<DiskWorkload>,
    /// The etcd probe's options, as the `[etcd]` table sets them (flag names in snake_case).
    pub etcd: Option<EtcdOptions>,
    pub checks: Vec<Check>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    name: String,
    description: String,
    #[serde(default)]
    rounds: Option<Spanned<u32>>,
    // Read here for their shape only; their contents are read from the document as written
    // ([`written`]), where every key and value keeps its position.
    #[serde(default)]
    disk: Vec<toml::Table>,
    #[serde(default)]
    etcd: Option<toml::Table>,
    #[serde(default)]
    check: Vec<Spanned<RawCheck>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    id: String,
    title: String,
    metric: Spanned<String>,
    comparison: Spanned<String>,
    limit: Spanned<f64>,
    #[serde(default)]
    limit_of: Option<Spanned<String>>,
    #[serde(default)]
    marginal: Option<Spanned<f64>>,
    unit: String,
    severity: Spanned<String>,
    source: Spanned<String>,
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The profile's text and name, to place an error at its line.
struct Source<'a> {
    text: &'a str,
    file: &'a str,
}

impl Source<'_> {
    /// An error at the line of byte `offset`.
    fn at(&self, offset: usize, message: String) -> ProfileError {
        ProfileError::At {
            file: self.file.to_string(),
            line: line_of(self.text, offset),
            message,
        }
    }

    /// A toml error at the position toml gives it (the offending key or value), else at
    /// `fallback`; its message after `prefix`.
    fn toml(&self, e: &toml::de::Error, fallback: usize, prefix: &str) -> ProfileError {
        let offset = e.span().map_or(fallback, |s| s.start);
        self.at(offset, format!("{prefix}{}", e.message().trim()))
    }
}

/// A table as written: every key and value with its position in the profile's text.
type Written<'i> = DeTable<'i>;

/// The table under `key` of the document (the `index`th of an array of tables), as written, with
/// its span (an array-of-tables entry's starts at its header).
fn written<'i>(doc: &DeTable<'i>, key: &str, index: Option<usize>) -> Option<Spanned<Written<'i>>> {
    let v = doc.get(key)?;
    let v = match index {
        Some(i) => v.get_ref().as_array()?.get(i)?,
        None => v,
    };
    Some(Spanned::new(v.span(), v.get_ref().as_table()?.clone()))
}

/// Where `key` is written in `table`.
fn key_offset(table: &Written, key: &str) -> Option<usize> {
    table.get_key_value(key).map(|(k, _)| k.span().start)
}

/// Deserialize a written table with its positions, so an error carries the offending key's or
/// value's span.
fn from_written<'i, T: serde::Deserialize<'i>>(
    table: Written<'i>,
    span: std::ops::Range<usize>,
) -> Result<T, toml::de::Error> {
    T::deserialize(toml::de::Deserializer::from(Spanned::new(span, table)))
}

/// Where the key an option error is about is written: the key whose flag (`--ramp-time`) the
/// message names first, else the key whose written value it quotes ('1q').
fn offending_key(table: &Written, message: &str) -> Option<usize> {
    let by_flag = table
        .iter()
        .filter_map(|(k, _)| {
            let flag = format!("--{}", k.get_ref().replace('_', "-"));
            let at = message.match_indices(&flag).find(|(i, _)| {
                // "--fsync" is not "--fsync-every": the flag ends where the name does.
                !message[i + flag.len()..]
                    .starts_with(|c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            })?;
            Some((at.0, k.span().start))
        })
        .min();
    let by_value = || {
        table.iter().find_map(|(k, v)| {
            let text = v.get_ref().as_str()?;
            message
                .contains(&format!("'{text}'"))
                .then(|| k.span().start)
        })
    };
    by_flag.map(|(_, offset)| offset).or_else(by_value)
}

/// Fields of a workload's result that a metric path may name after `workloads[ID].`.
const WORKLOAD_NUMBERS: [&str; 7] = [
    "iops",
    "ops",
    "sync_ops",
    "bw_bytes",
    "bytes_written",
    "bytes_read",
    "runtime_ns",
];
const SUMMARY_NUMBERS: [&str; 6] = ["count", "min", "max", "mean", "stddev", "clamped"];

/// Check a metric path against what a results document of this profile will hold. `etcd.` paths
/// are checked for syntax only (the probe's section is owned by the etcd probe).
fn validate_path(p: &MetricPath, disk: &[DiskWorkload]) -> Result<(), String> {
    let names: Vec<&str> = p.segments.iter().map(|s| s.name.as_str()).collect();
    match p.root() {
        "workloads" => {
            let Some(Selector::Id(id)) = &p.segments[0].selector else {
                return Err(format!(
                    "'{}': workloads must be selected by a profile workload id, e.g. workloads[wal]",
                    p.text
                ));
            };
            let Some(w) = disk.iter().find(|w| &w.id == id) else {
                return Err(format!(
                    "'{}': no [[disk]] workload with id '{id}' in this profile",
                    p.text
                ));
            };
            let ok = match &names[1..] {
                [f] => WORKLOAD_NUMBERS.contains(f),
                ["cpu", f] => ["usr_pct", "sys_pct"].contains(f),
                ["latency_ns", kind, f] => {
                    ["write", "read", "sync"].contains(kind) && SUMMARY_NUMBERS.contains(f)
                }
                ["latency_ns", kind, "percentiles", key] => {
                    if !["write", "read", "sync"].contains(kind) {
                        false
                    } else {
                        let spec = JobSpec::resolve(&w.options).map_err(|e| e.to_string())?;
                        let keys: Vec<String> = spec
                            .percentile_list
                            .iter()
                            .map(|q| crate::util::units::percentile_key(*q))
                            .collect();
                        if !keys.iter().any(|k| k == key) {
                            return Err(format!(
                                "'{}': percentile {key} is not reported for workload '{id}' (reported: {})",
                                p.text,
                                keys.join(", ")
                            ));
                        }
                        true
                    }
                }
                _ => false,
            };
            if ok && p.segments[1..].iter().all(|s| s.selector.is_none()) {
                Ok(())
            } else {
                Err(format!(
                    "unknown metric path '{}' (a workload has: {}, cpu.usr_pct, cpu.sys_pct, latency_ns.<write|read|sync>.<{}|percentiles.P>)",
                    p.text,
                    WORKLOAD_NUMBERS.join(", "),
                    SUMMARY_NUMBERS.join("|")
                ))
            }
        }
        "etcd" => validate_in(p, &section(EtcdResult::template())?, "the etcd section"),
        "cluster" => validate_in(p, &section(ClusterResult::template())?, "the cluster section"),
        "fingerprint" => {
            validate_in(p, &section(Fingerprint::template())?, "the fingerprint")
        }
        other => Err(format!(
            "unknown metric path '{}': it must start with workloads[ID], etcd, cluster or fingerprint, not '{other}'",
            p.text
        )),
    }
}

/// A section's template as JSON, to walk a metric path through.
fn section(template: impl serde::Serialize) -> Result<serde_json::Value, String> {
    serde_json::to_value(template).map_err(|e| e.to_string())
}

/// Check that `p` (after its root) names a number in `template`: arrays need a selector (their
/// first element stands for all), any key is accepted under `percentiles`.
fn validate_in(p: &MetricPath, template: &serde_json::Value, what: &str) -> Result<(), String> {
    let mut node = template;
    for (k, s) in p.segments.iter().enumerate().skip(1) {
        if k >= 2 && p.segments[k - 1].name == "percentiles" {
            return Ok(());
        }
        let Some(child) = node.get(&s.name) else {
            return Err(format!(
                "unknown metric path '{}': {what} has no '{}'",
                p.text, s.name
            ));
        };
        node = match (&s.selector, child.as_array()) {
            (None, None) => child,
            (Some(Selector::Id(_)), _) => {
                return Err(format!(
                    "'{}': [id] selects workloads only; use [*] or [N] for '{}'",
                    p.text, s.name
                ))
            }
            (Some(_), Some(items)) => match items.first() {
                Some(first) => first,
                None => return Ok(()),
            },
            (None, Some(_)) => {
                return Err(format!(
                    "'{}': '{}' is a list; select with [*] (worst element) or [N]",
                    p.text, s.name
                ))
            }
            (Some(_), None) => return Err(format!("'{}': '{}' is not a list", p.text, s.name)),
        };
    }
    if node.is_number() || node.is_null() {
        Ok(())
    } else {
        Err(format!("metric path '{}' does not name a number", p.text))
    }
}

impl Profile {
    /// Parse and validate a profile's TOML; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Profile, ProfileError> {
        let src = Source { text, file };
        let at = |offset: usize, message: String| src.at(offset, message);
        let raw: RawProfile = toml::from_str(text).map_err(|e| match e.span() {
            Some(_) => src.toml(&e, 0, ""),
            None => ProfileError::File {
                file: file.to_string(),
                message: e.message().trim().to_string(),
            },
        })?;
        // The same text parsed, keeping every key's and value's position (from_str succeeded, so
        // this does too).
        let doc = DeTable::parse(text)
            .map_err(|e| src.toml(&e, 0, ""))?
            .into_inner();
        let rounds = match &raw.rounds {
            Some(r) if *r.get_ref() == 0 || *r.get_ref() > 100 => {
                return Err(at(
                    r.span().start,
                    "rounds must be between 1 and 100".into(),
                ))
            }
            Some(r) => *r.get_ref(),
            None => 3,
        };
        let mut disk: Vec<DiskWorkload> = Vec::new();
        for i in 0..raw.disk.len() {
            let t = written(&doc, "disk", Some(i))
                .ok_or_else(|| at(0, "every [[disk]] entry must be a table".into()))?;
            let w = parse_workload(&src, t, rounds, &disk)?;
            disk.push(w);
        }
        let etcd = match &raw.etcd {
            None => None,
            Some(_) => {
                let e = written(&doc, "etcd", None)
                    .ok_or_else(|| at(0, "[etcd] must be a table".into()))?;
                Some(parse_etcd(&src, e)?)
            }
        };
        let mut checks: Vec<Check> = Vec::new();
        for c in &raw.check {
            let check = parse_check(&src, c, &disk, etcd.is_some(), &checks)?;
            checks.push(check);
        }
        if checks.is_empty() {
            return Err(ProfileError::File {
                file: file.to_string(),
                message: "a profile needs at least one [[check]]".into(),
            });
        }
        Ok(Profile {
            name: raw.name,
            description: raw.description,
            file: file.to_string(),
            text: text.to_string(),
            rounds,
            disk,
            etcd,
            checks,
        })
    }

    /// Load a profile file.
    pub fn from_file(path: &Path) -> Result<Profile, ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|e| ProfileError::File {
            file: path.display().to_string(),
            message: format!("cannot read: {e}"),
        })?;
        Profile::parse(&text, &path.display().to_string())
    }

    /// Find a profile by name or path: a path (contains '/' or ends in .toml) is read as is;
    /// a name is looked up in `./profiles`, next to the executable (`../../profiles`, a cargo
    /// build tree), then among the compiled-in copies.
    pub fn find(name_or_file: &str) -> Result<Profile, ProfileError> {
        if name_or_file.contains('/') || name_or_file.ends_with(".toml") {
            return Profile::from_file(Path::new(name_or_file));
        }
        for dir in search_dirs() {
            let p = dir.join(format!("{name_or_file}.toml"));
            if p.is_file() {
                return Profile::from_file(&p);
            }
        }
        match BUILTIN.iter().find(|(n, _)| *n == name_or_file) {
            Some((n, text)) => Profile::parse(text, &format!("builtin:{n}")),
            None => Err(ProfileError::NotFound(name_or_file.to_string())),
        }
    }

    /// The `profile` object of a results document.
    pub fn summary_json(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name,
            "file": self.file,
            "description": self.description,
        })
    }
}

/// One `[[disk]]` table: id, title, group and rounds taken out, the rest read as fio options and
/// resolved once so a bad value is reported at its line now, not at run time.
fn parse_workload(
    src: &Source,
    t: Spanned<Written>,
    rounds: u32,
    disk: &[DiskWorkload],
) -> Result<DiskWorkload, ProfileError> {
    let span = t.span();
    let mut table = t.into_inner();
    let (id, id_at) = workload_id(src, &mut table, span.start, disk)?;
    let title = take_str(src, &mut table, "title")?.map_or_else(|| id.clone(), |(t, _)| t);
    let concurrent_group = take_str(src, &mut table, "concurrent_group")?.map(|(g, _)| g);
    let w_rounds = match table.remove_entry("rounds") {
        None => rounds,
        Some((k, v)) => v
            .get_ref()
            .as_integer()
            .and_then(|n| u32::from_str_radix(&n.as_str().replace('_', ""), n.radix()).ok())
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| {
                src.at(
                    k.span().start,
                    "rounds must be an integer between 1 and 100".into(),
                )
            })?,
    };
    for forbidden in ["name", "directory", "filename"] {
        if let Some(at) = key_offset(&table, forbidden) {
            return Err(src.at(
                at,
                format!("'{forbidden}' is not allowed in a profile: the id names the workload and --directory places it"),
            ));
        }
    }
    let (options, spec) = workload_options(src, Spanned::new(span.clone(), table), &id, id_at)?;
    if spec.runtime_ns.is_none() || options.size.is_none() || spec.time_based {
        return Err(src.at(
            span.start,
            format!(
                "workload '{id}' must be bounded by time and size: set both runtime and size, and not time_based"
            ),
        ));
    }
    Ok(DiskWorkload {
        id,
        title,
        concurrent_group,
        rounds: w_rounds,
        options,
    })
}

/// A string-valued key taken out of a table: its value and where its key is written.
fn take_str(
    src: &Source,
    table: &mut Written,
    key: &str,
) -> Result<Option<(String, usize)>, ProfileError> {
    let Some((k, v)) = table.remove_entry(key) else {
        return Ok(None);
    };
    match v.get_ref().as_str() {
        Some(s) => Ok(Some((s.to_string(), k.span().start))),
        None => Err(src.at(k.span().start, format!("{key} must be a string"))),
    }
}

/// A workload's id (taken out of its table) and where it is written: present, of letters, digits,
/// '_' and '-', and not taken by an earlier workload.
fn workload_id(
    src: &Source,
    table: &mut Written,
    head: usize,
    disk: &[DiskWorkload],
) -> Result<(String, usize), ProfileError> {
    let (id, at) = take_str(src, table, "id")?
        .ok_or_else(|| src.at(head, "a [[disk]] workload needs an id".into()))?;
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(src.at(
            at,
            format!("id '{id}' may only hold letters, digits, '_' and '-'"),
        ));
    }
    if disk.iter().any(|d| d.id == id) {
        return Err(src.at(at, format!("two [[disk]] workloads have id '{id}'")));
    }
    Ok((id, at))
}

/// The fio options of a workload's table (what is left of it), named `id` and resolved once: a
/// bad key or value is reported where it is written (an option the resolution refuses, at the key
/// its message names; else at the id).
fn workload_options(
    src: &Source,
    t: Spanned<Written>,
    id: &str,
    id_at: usize,
) -> Result<(DiskOptions, JobSpec), ProfileError> {
    let span = t.span();
    let table = t.into_inner();
    let written = table.clone();
    let mut options: DiskOptions = from_written(table, span.clone())
        .map_err(|e| src.toml(&e, span.start, &format!("workload '{id}': ")))?;
    options.name = Some(id.to_string());
    let spec = JobSpec::resolve(&options).map_err(|e| {
        let msg = e.to_string();
        let at = offending_key(&written, &msg).unwrap_or(id_at);
        src.at(at, format!("workload '{id}': {msg}"))
    })?;
    Ok((options, spec))
}

/// The `[etcd]` table: `nodefit etcd`'s options by their flag names (snake_case), checked as the
/// probe would check them.
fn parse_etcd(src: &Source, e: Spanned<Written>) -> Result<EtcdOptions, ProfileError> {
    let span = e.span();
    let opts: EtcdOptions = from_written(e.into_inner(), span.clone())
        .map_err(|err| src.toml(&err, span.start, "[etcd] "))?;
    let prefix = opts
        .prefix
        .clone()
        .unwrap_or_else(|| "/nodefit/00000000-00000000/".into());
    opts.resolve_load(prefix)
        .map_err(|err| src.at(span.start, format!("[etcd] {err}")))?;
    Ok(opts)
}

/// One `[[check]]` table, its metric paths validated against what this profile's runs record.
fn parse_check(
    src: &Source,
    c: &Spanned<RawCheck>,
    disk: &[DiskWorkload],
    has_etcd: bool,
    checks: &[Check],
) -> Result<Check, ProfileError> {
    let at = |offset: usize, message: String| src.at(offset, message);
    let r = c.get_ref();
    if checks.iter().any(|k| k.id == r.id) {
        return Err(at(c.span().start, format!("two checks have id '{}'", r.id)));
    }
    let metric = valid_path(src, &r.metric, disk)?;
    if metric.root() == "etcd" && !has_etcd {
        return Err(at(
            r.metric.span().start,
            format!(
                "check '{}' reads etcd results but the profile has no [etcd] table",
                r.id
            ),
        ));
    }
    let limit_of = match &r.limit_of {
        None => None,
        Some(l) => Some(valid_path(src, l, disk)?),
    };
    let comparison = Comparison::parse(r.comparison.get_ref()).ok_or_else(|| {
        at(
            r.comparison.span().start,
            format!(
                "comparison '{}': expected <=, <, >=, > or ==",
                r.comparison.get_ref()
            ),
        )
    })?;
    let severity = match r.severity.get_ref().as_str() {
        "must" => Severity::Must,
        "should" => Severity::Should,
        other => {
            return Err(at(
                r.severity.span().start,
                format!("severity '{other}': expected must or should"),
            ))
        }
    };
    let limit = *r.limit.get_ref();
    if !limit.is_finite() {
        return Err(at(
            r.limit.span().start,
            "limit must be a finite number".into(),
        ));
    }
    let marginal = match &r.marginal {
        None => None,
        Some(m) => Some(marginal(src, m, comparison, limit, limit_of.is_some())?),
    };
    if r.source.get_ref().trim().len() < 8 {
        return Err(at(
            r.source.span().start,
            "source must name the document and section the limit comes from".into(),
        ));
    }
    Ok(Check {
        id: r.id.clone(),
        title: r.title.clone(),
        metric,
        comparison,
        limit,
        limit_of,
        marginal,
        unit: r.unit.clone(),
        severity,
        source: r.source.get_ref().trim().to_string(),
    })
}

/// A metric path as written in a check, parsed and held against what this profile's runs record.
fn valid_path(
    src: &Source,
    text: &Spanned<String>,
    disk: &[DiskWorkload],
) -> Result<MetricPath, ProfileError> {
    MetricPath::parse(text.get_ref())
        .and_then(|p| validate_path(&p, disk).map(|_| p))
        .map_err(|m| src.at(text.span().start, m))
}

/// A check's `marginal`: beyond the limit on the failing side (between the two the check is
/// MARGINAL), and not with `limit_of` (whose limit is only known at judging time).
fn marginal(
    src: &Source,
    m: &Spanned<f64>,
    comparison: Comparison,
    limit: f64,
    has_limit_of: bool,
) -> Result<f64, ProfileError> {
    let v = *m.get_ref();
    let beyond = match comparison {
        Comparison::Le | Comparison::Lt => v > limit,
        Comparison::Ge | Comparison::Gt => v < limit,
        Comparison::Eq => false,
    };
    if !beyond || has_limit_of {
        return Err(src.at(
            m.span().start,
            format!(
                "marginal {v} must lie beyond the limit {limit} on the failing side (and cannot be used with limit_of)"
            ),
        ));
    }
    Ok(v)
}

/// Directories searched for `NAME.toml`, in order.
pub fn search_dirs() -> Vec<PathBuf> {
    let mut dirs = vec![PathBuf::from("profiles")];
    if let Ok(exe) = std::env::current_exe() {
        if let Some(d) = exe.parent() {
            dirs.push(d.join("../../profiles"));
        }
    }
    dirs
}

/// Every profile that can be found by name: (name, where from, description or load error).
pub fn list() -> Vec<(String, String, Result<String, String>)> {
    let mut out: Vec<(String, String, Result<String, String>)> = Vec::new();
    for dir in search_dirs() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        for p in files {
            let Some(name) = p.file_stem().map(|s| s.to_string_lossy().into_owned()) else {
                continue;
            };
            if out.iter().any(|(n, _, _)| *n == name) {
                continue;
            }
            let r = Profile::from_file(&p)
                .map(|pr| pr.description)
                .map_err(|e| e.to_string());
            out.push((name, p.display().to_string(), r));
        }
    }
    for (n, text) in BUILTIN {
        if out.iter().any(|(name, _, _)| name == n) {
            continue;
        }
        let r = Profile::parse(text, &format!("builtin:{n}"))
            .map(|p| p.description)
            .map_err(|e| e.to_string());
        out.push((n.to_string(), format!("builtin:{n}"), r));
    }
    out
}
