//! The case store: analyses written as Parquet tables that SQL engines (Earshot's own `earshot query`, DuckDB,
//! pyarrow, Spark) read. Layout and schema: `docs/store.md`.
//!
//! ```text
//! STORE/_earshot_store.json            {"format": "earshot-store", "schema_version": 1}
//! STORE/calls/capture=<sha256>/part-0.parquet
//! STORE/…/capture=<sha256>/part-0.parquet   one folder per table, one partition per capture
//! STORE/_tmp/                          partitions being written (readers skip `_` names)
//! ```
//!
//! One capture (a file analysed alone, or a case) is one partition of every table, named by its SHA-256.
//! Writing is per capture, so memory does not grow with the store. It is atomic per partition: the files are
//! written and synced under `_tmp/`, then each partition folder is renamed into place, `captures` last; a
//! capture is in the store when its `captures` partition is (readers of Earshot's own query engine see nothing
//! else; [`Store::incomplete`] lists the rest). Writing the same capture again replaces its partitions
//! (idempotent).
//!
//! Owns: the store's layout, schema version and tables. Imports: `model`, `report::json` (message summaries),
//! `hash`; arrow-rs (`arrow-array`, `arrow-schema`, `parquet`).

mod columns;
pub mod pull;
#[cfg(feature = "sql")]
pub mod query;
pub mod tables;

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::model::Analysis;
pub use tables::TABLES;

/// The store's schema version. Columns are only added within a version; anything else bumps it.
pub const SCHEMA_VERSION: u32 = 1;

/// The file at the store's root that says what it is.
pub const MARKER: &str = "_earshot_store.json";

/// The key-value metadata entry every partition file carries: the schema version that wrote it.
pub const VERSION_KEY: &str = "earshot.store.schema_version";

/// The folder under the store's root where partitions are written before they are renamed into place.
const STAGING: &str = "_tmp";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store {path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("store {path}: writing table {table}: {error}")]
    Write {
        path: PathBuf,
        table: &'static str,
        error: String,
    },
    #[error(
        "store {path} has schema version {found}; this Earshot reads and writes version {supported} (a newer \
         Earshot made it: use that version)"
    )]
    NewerSchema {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("{path} is not an Earshot store ({reason})")]
    NotAStore { path: PathBuf, reason: String },
    #[error(
        "the capture has no SHA-256 (analysed with --no-hash): the store names every capture by its hash; analyse \
         it without --no-hash"
    )]
    NoHash,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |error| StoreError::Io {
        path: path.to_path_buf(),
        error,
    }
}

/// A store folder, opened to write or to read.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

/// What [`Store::write`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub capture_sha256: String,
    /// Rows written per table, in [`TABLES`] order.
    pub rows: Vec<(&'static str, usize)>,
    /// The capture was already in the store and its partitions were replaced.
    pub replaced: bool,
}

impl Written {
    /// Rows written into `table` (0 for a table the store does not have).
    pub fn rows_of(&self, table: &str) -> usize {
        self.rows
            .iter()
            .find(|(t, _)| *t == table)
            .map_or(0, |r| r.1)
    }
}

/// A name part no other write, in this process or another, uses at the same time: process id, clock, and a
/// per-process counter (two threads in one nanosecond still differ).
fn unique_suffix() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{}.{nanos}.{n}", std::process::id())
}

impl Store {
    /// Open the store at `root`, creating it (and its marker) when the folder is missing or empty. Safe when
    /// several processes create the same store at once (a cluster's executors): the marker is written under a
    /// name of its own and renamed into place, and a folder that another creator has just started counts as
    /// a store once its marker is there.
    pub fn create(root: &Path) -> Result<Store, StoreError> {
        fs::create_dir_all(root).map_err(io(root))?;
        let marker = root.join(MARKER);
        if !marker.exists() {
            // Anything but the marker and its temporary twins makes the folder someone else's.
            let foreign = fs::read_dir(root)
                .map_err(io(root))?
                .filter_map(Result::ok)
                .any(|e| !e.file_name().to_string_lossy().starts_with(MARKER));
            if foreign && !marker.exists() {
                return Err(StoreError::NotAStore {
                    path: root.to_path_buf(),
                    reason: format!("the folder is not empty and has no {MARKER}"),
                });
            }
            if !marker.exists() {
                let text = format!(
                    "{{\"format\": \"earshot-store\", \"schema_version\": {SCHEMA_VERSION}}}\n"
                );
                let tmp = root.join(format!("{MARKER}.{}", unique_suffix()));
                write_synced(&tmp, text.as_bytes())?;
                // Atomic; a concurrent creator's rename puts the same bytes in place.
                fs::rename(&tmp, &marker).map_err(io(&marker))?;
            }
        }
        Store::open(root)
    }

    /// Open an existing store, refusing one of a newer schema version.
    pub fn open(root: &Path) -> Result<Store, StoreError> {
        let marker = root.join(MARKER);
        let text = fs::read_to_string(&marker).map_err(|e| StoreError::NotAStore {
            path: root.to_path_buf(),
            reason: format!("cannot read {MARKER}: {e}"),
        })?;
        let found = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .filter(|v| v.get("format").and_then(|f| f.as_str()) == Some("earshot-store"))
            .and_then(|v| v.get("schema_version")?.as_u64())
            .ok_or_else(|| StoreError::NotAStore {
                path: root.to_path_buf(),
                reason: format!(
                    "{MARKER} does not name an earshot-store format and schema version"
                ),
            })?;
        let found = u32::try_from(found).unwrap_or(u32::MAX);
        if found > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                path: root.to_path_buf(),
                found,
                supported: SCHEMA_VERSION,
            });
        }
        Ok(Store {
            root: root.to_path_buf(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder of one table's partition for one capture.
    pub fn partition(&self, table: &str, sha256: &str) -> PathBuf {
        self.root.join(table).join(format!("capture={sha256}"))
    }

    /// Write one analysis as a partition of every table. `paths` are the analysed files' absolute paths by case
    /// file number (so the app can cut a call's evidence from the original file later).
    pub fn write(&self, a: &Analysis, paths: &[String]) -> Result<Written, StoreError> {
        let sha = a.capture.sha256.as_str();
        if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(StoreError::NoHash);
        }
        let ctx = tables::Context { sha256: sha, paths };
        let stage_root = self.root.join(STAGING);
        fs::create_dir_all(&stage_root).map_err(io(&stage_root))?;
        let stage = stage_root.join(format!("{sha}.{}", unique_suffix()));
        let result = self.write_staged(a, &ctx, &stage);
        // Whatever happened, nothing of this write stays under _tmp.
        let _ = fs::remove_dir_all(&stage);
        result
    }

    fn write_staged(
        &self,
        a: &Analysis,
        ctx: &tables::Context<'_>,
        stage: &Path,
    ) -> Result<Written, StoreError> {
        let mut rows = Vec::new();
        for table in TABLES {
            let dir = stage.join(table);
            fs::create_dir_all(&dir).map_err(io(&dir))?;
            let n = write_table(a, ctx, table, &dir.join("part-0.parquet")).map_err(|error| {
                StoreError::Write {
                    path: self.root.clone(),
                    table,
                    error,
                }
            })?;
            rows.push((table, n));
        }
        let replaced = self.partition("captures", ctx.sha256).exists();
        for table in TABLES {
            let target = self.partition(table, ctx.sha256);
            let parent = self.root.join(table);
            fs::create_dir_all(&parent).map_err(io(&parent))?;
            if target.exists() {
                let old = stage.join(format!("old-{table}"));
                fs::rename(&target, &old).map_err(io(&target))?;
            }
            fs::rename(stage.join(table), &target).map_err(io(&target))?;
        }
        Ok(Written {
            capture_sha256: ctx.sha256.to_string(),
            rows,
            replaced,
        })
    }
}

/// Write one table's batches to `path` (synced), returning the row count.
fn write_table(
    a: &Analysis,
    ctx: &tables::Context<'_>,
    table: &str,
    path: &Path,
) -> Result<usize, String> {
    let batches = tables::batches(a, ctx, table).map_err(|e| e.to_string())?;
    let Some(schema) = batches.first().map(|b| b.schema()) else {
        return Ok(0);
    };
    let file = fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(tables::BATCH_ROWS))
        .set_created_by(format!(
            "earshot {} (parquet-rs)",
            env!("CARGO_PKG_VERSION")
        ))
        .set_key_value_metadata(Some(vec![parquet::file::metadata::KeyValue::new(
            VERSION_KEY.to_string(),
            SCHEMA_VERSION.to_string(),
        )]))
        .build();
    let mut w = ArrowWriter::try_new(file, schema, Some(props)).map_err(|e| e.to_string())?;
    let mut n = 0usize;
    for b in &batches {
        w.write(b).map_err(|e| e.to_string())?;
        n = n.saturating_add(b.num_rows());
    }
    let file = w.into_inner().map_err(|e| e.to_string())?;
    file.sync_all()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(n)
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let mut f = fs::File::create(path).map_err(io(path))?;
    f.write_all(bytes).map_err(io(path))?;
    f.sync_all().map_err(io(path))
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod tests {
    use super::*;
    use crate::model::{Call, CallKind, Finding};

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("earshot-store-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    fn analysis(sha: &str, calls: usize) -> Analysis {
        let mut a = Analysis::default();
        a.capture.sha256 = sha.to_string();
        a.capture.file = "x.pcap".into();
        a.calls = (0..calls)
            .map(|i| Call {
                call_id: format!("call-{i}"),
                kind: CallKind::Call,
                frames: vec![i as u64 + 1],
                ..Default::default()
            })
            .collect();
        a
    }

    /// The type names docs/store.md uses for the Arrow types the tables are built with.
    fn type_name(t: &arrow_schema::DataType) -> String {
        use arrow_schema::DataType as D;
        match t {
            D::Utf8 => "string".into(),
            D::Int64 => "int64".into(),
            D::Float64 => "float64".into(),
            D::Boolean => "bool".into(),
            D::Timestamp(_, _) => "timestamp".into(),
            D::List(f) => format!("list<{}>", type_name(f.data_type())),
            other => format!("{other:?}"),
        }
    }

    /// docs/store.md lists every table's columns, in order, with their types: the contract users write SQL
    /// against must be what the writer writes.
    #[test]
    fn docs_list_every_column_with_its_type() {
        let doc = include_str!("../../../docs/store.md");
        let empty = Analysis::default();
        let ctx = tables::Context {
            sha256: "",
            paths: &[],
        };
        for table in TABLES {
            let head = format!("### {table}\n");
            let start = doc
                .find(&head)
                .unwrap_or_else(|| panic!("docs/store.md has no section for {table}"));
            let section = &doc[start + head.len()..];
            let section = &section[..section.find("\n#").unwrap_or(section.len())];
            let documented: Vec<(String, String)> = section
                .lines()
                .filter(|l| l.starts_with("| `"))
                .map(|l| {
                    let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                    (cells[1].trim_matches('`').to_string(), cells[2].to_string())
                })
                .collect();
            let batches = tables::batches(&empty, &ctx, table).unwrap();
            let schema = batches[0].schema();
            let written: Vec<(String, String)> = schema
                .fields()
                .iter()
                .map(|f| (f.name().clone(), type_name(f.data_type())))
                .collect();
            assert_eq!(documented, written, "docs/store.md, table {table}");
        }
    }

    #[test]
    fn writing_a_capture_twice_replaces_it_and_leaves_nothing_staged() {
        let dir = scratch("twice");
        let store = Store::create(&dir).unwrap();
        let sha = "ab".repeat(32);
        let first = store
            .write(&analysis(&sha, 3), &["/x.pcap".into()])
            .unwrap();
        assert!(!first.replaced);
        assert_eq!(first.rows.iter().find(|r| r.0 == "calls").unwrap().1, 3);
        let again = store
            .write(&analysis(&sha, 3), &["/x.pcap".into()])
            .unwrap();
        assert!(again.replaced);
        for table in TABLES {
            let parts: Vec<_> = fs::read_dir(dir.join(table)).unwrap().collect();
            assert_eq!(
                parts.len(),
                1,
                "{table}: one partition for the capture written twice"
            );
        }
        assert_eq!(
            fs::read_dir(dir.join(STAGING)).unwrap().count(),
            0,
            "_tmp is empty after writing"
        );
        // A second capture is a second partition.
        store.write(&analysis(&"cd".repeat(32), 1), &[]).unwrap();
        assert_eq!(fs::read_dir(dir.join("calls")).unwrap().count(), 2);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn executors_creating_and_writing_one_store_at_once_all_succeed() {
        // What a cluster does: every executor creates the (shared) store and writes its captures into it.
        for round in 0..20 {
            let dir = scratch(&format!("race-{round}"));
            fs::create_dir_all(&dir).unwrap();
            let done: Vec<Result<Written, String>> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..4)
                    .map(|t| {
                        let dir = &dir;
                        s.spawn(move || {
                            let store = Store::create(dir).map_err(|e| e.to_string())?;
                            store
                                .write(&analysis(&format!("{t:02}{round:062}"), 2), &[])
                                .map_err(|e| e.to_string())
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            for d in &done {
                assert!(d.is_ok(), "round {round}: {d:?}");
            }
            let calls = fs::read_dir(dir.join("calls")).unwrap().count();
            assert_eq!(calls, 4, "round {round}: a partition per capture");
            let _ = fs::remove_dir_all(&dir);
        }
    }

    #[test]
    fn refusals_say_what_is_wrong() {
        // No hash: refused, nothing written.
        let dir = scratch("refuse");
        let store = Store::create(&dir).unwrap();
        let e = store.write(&analysis("", 1), &[]).unwrap_err();
        assert!(matches!(e, StoreError::NoHash), "{e}");
        assert!(!dir.join("calls").exists());
        // A newer schema version: refused, naming both versions.
        fs::write(
            dir.join(MARKER),
            "{\"format\": \"earshot-store\", \"schema_version\": 7}",
        )
        .unwrap();
        let e = Store::open(&dir).unwrap_err().to_string();
        assert!(
            e.contains("schema version 7") && e.contains(&format!("version {SCHEMA_VERSION}")),
            "{e}"
        );
        // A folder with other things in it is not made a store.
        let other = scratch("other");
        fs::create_dir_all(&other).unwrap();
        fs::write(other.join("notes.txt"), "mine").unwrap();
        let e = Store::create(&other).unwrap_err().to_string();
        assert!(e.contains("not an Earshot store"), "{e}");
        let _ = fs::remove_dir_all(&dir);
        let _ = fs::remove_dir_all(&other);
    }

    #[test]
    fn provenance_splits_case_frame_numbers() {
        let mut a = analysis(&"ef".repeat(32), 0);
        a.findings.push(Finding {
            rule_id: "scanner".into(),
            title: String::new(),
            severity: crate::model::Severity::High,
            confidence: crate::model::Confidence::High,
            first_ts_nanos: None,
            last_ts_nanos: None,
            evidence_frames: vec![crate::model::case_frame(3, 1234)],
            evidence_frames_total: 1,
            call_ids: vec![],
            streams: vec![],
            users: vec![],
            sources: vec![],
            details: String::new(),
            risk: String::new(),
            remediation: String::new(),
            practice: String::new(),
        });
        let ctx = tables::Context {
            sha256: &a.capture.sha256,
            paths: &[],
        };
        let b = &tables::batches(&a, &ctx, "findings").unwrap()[0];
        let col = |n: &str| {
            b.column_by_name(n)
                .unwrap()
                .as_any()
                .downcast_ref::<arrow_array::Int64Array>()
                .unwrap()
                .value(0)
        };
        assert_eq!((col("file"), col("frame")), (3, 1234));
    }
}
