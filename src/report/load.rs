//! Reading results files for reports and trends. Promises: every file is either loaded or named
//! in a [`LoadProblem`] saying what is wrong with it; one bad file never hides the others (the caller
//! decides whether problems are fatal, `--strict`). Schema versions 1..=[`SCHEMA_VERSION`] are read;
//! newer ones are refused with a message saying so.

use crate::results::{ResultsDocument, SCHEMA_VERSION};
use std::path::{Path, PathBuf};

/// Oldest results format this reader understands (1: disk workloads only).
pub const OLDEST_SCHEMA_VERSION: u32 = 1;

/// One results file, parsed.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// Where it was read from.
    pub path: PathBuf,
    /// The typed document.
    pub doc: ResultsDocument,
    /// The same document as untyped JSON (the `etcd` section is read from here, defensively).
    pub raw: serde_json::Value,
    /// Caveats on how the file was read (shown in the report).
    pub notes: Vec<String>,
}

impl Loaded {
    /// Node name for grouping and column headings: `node_name`, else the host name.
    pub fn node(&self) -> String {
        match &self.doc.node_name {
            Some(n) if !n.trim().is_empty() => n.clone(),
            _ => self.doc.hostname.clone(),
        }
    }

    /// Profile name, when the document was qualified against one.
    pub fn profile_name(&self) -> Option<String> {
        let p = self.doc.profile.as_ref()?;
        match p {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Object(m) => {
                m.get("name").and_then(|v| v.as_str()).map(str::to_string)
            }
            _ => None,
        }
    }
}

/// Why one file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(
        "{path}: larger than {limit} bytes; not a nodefit results file (one is a few MB at most)"
    )]
    TooLarge { path: PathBuf, limit: u64 },
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not valid JSON: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path}: not a nodefit results file ({why})")]
    Foreign { path: PathBuf, why: String },
    #[error("{path}: schema_version {found} is newer than this nodefit reads ({oldest}..={newest}); use a newer nodefit")]
    TooNew {
        path: PathBuf,
        found: u64,
        oldest: u32,
        newest: u32,
    },
    #[error(
        "{path}: schema_version {found} is older than this nodefit reads ({oldest}..={newest})"
    )]
    TooOld {
        path: PathBuf,
        found: u64,
        oldest: u32,
        newest: u32,
    },
    #[error("{path}: results fields do not match schema_version {version}: {source}")]
    Shape {
        path: PathBuf,
        version: u64,
        source: serde_json::Error,
    },
    #[error("{path}: not a regular file ({kind}); not opened (a results file is a plain file)")]
    NotRegular { path: PathBuf, kind: &'static str },
    #[error("{path}: no results file found (a directory argument means every result.json or *result.json below it)")]
    EmptyDir { path: PathBuf },
}

/// Parse one results file from its bytes.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Loaded, LoadError> {
    let path_buf = path.to_path_buf();
    let raw: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|source| LoadError::Json {
            path: path_buf.clone(),
            source,
        })?;
    let obj = raw.as_object().ok_or_else(|| LoadError::Foreign {
        path: path_buf.clone(),
        why: "top level is not a JSON object".into(),
    })?;
    let version = nodefit_version(&path_buf, obj)?;
    let doc: ResultsDocument = match serde_json::from_value(raw.clone()) {
        Ok(d) => d,
        Err(source) => {
            // The etcd section is read loosely from `raw` anyway: when only it is off, keep the rest.
            let mut without = raw.clone();
            let had_etcd = without
                .as_object_mut()
                .and_then(|o| o.remove("etcd"))
                .is_some();
            match serde_json::from_value::<ResultsDocument>(without) {
                Ok(d) if had_etcd => {
                    return Ok(Loaded {
                        path: path_buf,
                        doc: d,
                        raw,
                        notes: vec![format!(
                            "the etcd section does not match this nodefit's typed format ({source}); its charts and figures are read field by field"
                        )],
                    })
                }
                _ => {
                    return Err(LoadError::Shape {
                        path: path_buf,
                        version,
                        source,
                    })
                }
            }
        }
    };
    Ok(Loaded {
        path: path_buf,
        doc,
        raw,
        notes: Vec::new(),
    })
}

/// The schema version of a nodefit results document, refused when the document is not nodefit's
/// or its version is outside what this nodefit reads.
fn nodefit_version(
    path: &Path,
    obj: &serde_json::Map<String, serde_json::Value>,
) -> Result<u64, LoadError> {
    let tool = obj
        .get("tool")
        .and_then(|t| t.get("name"))
        .and_then(|n| n.as_str());
    if tool != Some("nodefit") {
        return Err(LoadError::Foreign {
            path: path.to_path_buf(),
            why: match tool {
                Some(t) => format!("tool.name is {t:?}, expected \"nodefit\""),
                None => "no tool.name".into(),
            },
        });
    }
    let version = obj
        .get("schema_version")
        .and_then(|v| v.as_u64())
        .ok_or_else(|| LoadError::Foreign {
            path: path.to_path_buf(),
            why: "no numeric schema_version".into(),
        })?;
    if version > u64::from(SCHEMA_VERSION) {
        return Err(LoadError::TooNew {
            path: path.to_path_buf(),
            found: version,
            oldest: OLDEST_SCHEMA_VERSION,
            newest: SCHEMA_VERSION,
        });
    }
    if version < u64::from(OLDEST_SCHEMA_VERSION) {
        return Err(LoadError::TooOld {
            path: path.to_path_buf(),
            found: version,
            oldest: OLDEST_SCHEMA_VERSION,
            newest: SCHEMA_VERSION,
        });
    }
    Ok(version)
}

/// What kind of non-regular file `ft` is, for the message.
fn kind_name(ft: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_dir() {
        "a directory"
    } else {
        "not a plain file"
    }
}

/// Read and parse one file. Only regular files (or symlinks to them) are opened: open() on a FIFO
/// with no writer blocks forever, and a device can be endless or have side effects.
pub fn load_file(path: &Path) -> Result<Loaded, LoadError> {
    use std::os::unix::fs::OpenOptionsExt;
    let io = |source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let not_regular = |ft| LoadError::NotRegular {
        path: path.to_path_buf(),
        kind: kind_name(ft),
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(not_regular(meta.file_type()));
    }
    // O_NONBLOCK so that a file swapped for a FIFO after the check above cannot block open(); on a
    // regular file the flag changes nothing. The type is checked again on what was opened.
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(io)?;
    let meta = f.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(not_regular(meta.file_type()));
    }
    let bytes = read_capped(path, &mut f)?;
    parse(path, &bytes)
}

/// A results file is a few MB at most; a larger one is refused before it fills memory.
pub const MAX_RESULTS_BYTES: u64 = 64 << 20;

/// Up to [`MAX_RESULTS_BYTES`] of `r`; more is an error. Nothing is allocated up front from what a
/// file says its size is.
fn read_capped(path: &Path, r: &mut impl std::io::Read) -> Result<Vec<u8>, LoadError> {
    read_at_most(path, r, MAX_RESULTS_BYTES)
}

fn read_at_most(path: &Path, r: &mut impl std::io::Read, limit: u64) -> Result<Vec<u8>, LoadError> {
    use std::io::Read;
    let mut bytes = Vec::new();
    r.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| LoadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    if bytes.len() as u64 > limit {
        return Err(LoadError::TooLarge {
            path: path.to_path_buf(),
            limit,
        });
    }
    Ok(bytes)
}

fn is_pipe(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata(path).is_ok_and(|m| m.file_type().is_fifo())
}

fn read_pipe(path: &Path) -> Result<Loaded, LoadError> {
    let mut f = std::fs::File::open(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let bytes = read_capped(path, &mut f)?;
    parse(path, &bytes)
}

/// True for the file names a directory argument picks up.
fn is_results_name(name: &str) -> bool {
    name.ends_with("result.json")
}

/// Every results file below `dir`, sorted by path (deterministic order).
fn walk(dir: &Path, out: &mut Vec<PathBuf>, problems: &mut Vec<LoadError>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(source) => {
            problems.push(LoadError::Io {
                path: dir.to_path_buf(),
                source,
            });
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        // A link to a directory is not followed: `latest -> run-7` would count run 7 twice (in
        // its own baseline, for trend), and `up -> ..` loops.
        let linked_dir =
            std::fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink()) && p.is_dir();
        if linked_dir {
            continue;
        }
        if p.is_dir() {
            walk(&p, out, problems);
        } else if p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(is_results_name)
        {
            // A FIFO, socket or device with a results name is named and skipped here, never
            // opened (open() on a FIFO without a writer blocks for good, deaf to Ctrl-C).
            match std::fs::metadata(&p) {
                Ok(m) if !m.is_file() => problems.push(LoadError::NotRegular {
                    path: p,
                    kind: kind_name(m.file_type()),
                }),
                _ => out.push(p),
            }
        }
    }
}

/// Load every argument: files as given, directories expanded to every `result.json` (or
/// `*result.json`) below them. Returns what loaded and, separately, what did not.
pub fn load_all(args: &[PathBuf]) -> (Vec<Loaded>, Vec<LoadError>) {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for a in args {
        if a.is_dir() {
            let before = files.len();
            walk(a, &mut files, &mut problems);
            if files.len() == before {
                problems.push(LoadError::EmptyDir { path: a.clone() });
            }
        } else {
            files.push(a.clone());
        }
    }
    // One file named twice (directly and through a directory, or by two links) is read once.
    let mut seen = std::collections::HashSet::new();
    files.retain(|f| {
        use std::os::unix::fs::MetadataExt;
        match std::fs::metadata(f) {
            Ok(m) => seen.insert((m.dev(), m.ino())),
            Err(_) => true,
        }
    });
    let mut loaded = Vec::new();
    for f in files {
        // A pipe named on the command line (`report <(ssh cp1 cat result.json)`) is read, as cat
        // would; one found in a directory walk is not (nobody may ever write to it).
        let named = args.contains(&f);
        let read = if named && is_pipe(&f) {
            read_pipe(&f)
        } else {
            load_file(&f)
        };
        match read {
            Ok(l) => loaded.push(l),
            Err(e) => problems.push(e),
        }
    }
    (loaded, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_newer_and_foreign_with_the_file_named() {
        let p = Path::new("x/result.json");
        let e = parse(p, br#"{"tool":{"name":"nodefit"},"schema_version":99}"#).unwrap_err();
        let m = e.to_string();
        assert!(
            m.contains("x/result.json") && m.contains("99") && m.contains("newer"),
            "{m}"
        );
        let e = parse(p, br#"{"jobs":[]}"#).unwrap_err().to_string();
        assert!(e.contains("not a nodefit results file"), "{e}");
        let e = parse(p, b"{not json").unwrap_err().to_string();
        assert!(e.contains("not valid JSON"), "{e}");
    }

    #[test]
    fn reads_version_one() {
        let doc = br#"{"schema_version":1,"tool":{"name":"nodefit","version":"0.0.1"},
            "hostname":"h","started_at":"2026-01-01T00:00:00Z","finished_at":"2026-01-01T00:00:01Z",
            "complete":true,"workloads":[]}"#;
        let l = parse(Path::new("old.json"), doc).unwrap();
        assert_eq!(l.node(), "h");
    }

    #[test]
    fn an_odd_etcd_section_is_read_loosely_and_said() {
        let doc = br#"{"schema_version":2,"tool":{"name":"nodefit","version":"0.1.0"},
            "hostname":"h","started_at":"2026-01-01T00:00:00Z","finished_at":"2026-01-01T00:00:01Z",
            "complete":true,"workloads":[],"etcd":{"timeseries":[{"t_s":1,"p50_ns":5,"p99_ns":9}]}}"#;
        let l = parse(Path::new("e.json"), doc).unwrap();
        assert!(
            l.notes.iter().any(|n| n.contains("etcd section")),
            "{:?}",
            l.notes
        );
        assert!(l.raw["etcd"]["timeseries"].is_array());
    }

    /// A results file is read up to its cap and no further, whatever its size says.
    #[test]
    fn a_file_over_the_cap_is_refused_as_too_large() {
        let p = Path::new("big.json");
        let mut endless = std::io::repeat(b' ');
        let e = read_at_most(p, &mut endless, 1000).unwrap_err();
        assert!(matches!(e, LoadError::TooLarge { limit: 1000, .. }), "{e}");
        assert!(e.to_string().contains("larger than 1000 bytes"), "{e}");
        let ok = read_at_most(p, &mut std::io::Cursor::new(vec![b'x'; 1000]), 1000).unwrap();
        assert_eq!(ok.len(), 1000);
    }
}
