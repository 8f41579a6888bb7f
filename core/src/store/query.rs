//! SQL over a store with an embedded engine, Apache DataFusion (chosen by measurement over DuckDB:
//! ARCHITECTURE.md). Read-only: the engine is given the store's partitions as tables and refuses DDL, DML and
//! session statements. Only committed partitions are queried (a capture is committed when its `captures`
//! partition is); a damaged partition, one of a newer schema, or one of a capture that was never committed is
//! reported in [`QueryResult::skipped`] and the rest is queried.
//!
//! Owns: the saved hunts and the query path. Imports: `store` (layout, schemas); DataFusion, tokio (DataFusion
//! runs on it), futures.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{Array, RecordBatch};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::datasource::MemTable;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::execution::context::SQLOptions;
use datafusion::prelude::{SessionConfig, SessionContext};
use futures::StreamExt as _;

use super::{SCHEMA_VERSION, Store, StoreError, TABLES, VERSION_KEY, tables};
use crate::model::Analysis;

/// Rows a query returns at most; the rest is counted in [`QueryResult::rows_dropped`] (a `SELECT *` over a
/// terabyte store must not take the machine's memory).
pub const MAX_RESULT_ROWS: usize = 1_000_000;

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("SQL: {0}")]
    Sql(String),
}

/// A saved hunt: SQL that runs unchanged on Earshot's engine, DuckDB and Spark SQL (scale/spark/ runs them).
#[derive(Debug, Clone, Copy)]
pub struct Hunt {
    pub name: &'static str,
    pub title: &'static str,
    /// The SQL with `__ATTACK_RULES__` for the shared list: [`Hunt::sql`] fills it in.
    pub text: &'static str,
}

/// The rule ids whose findings name an attacking source address.
const ATTACK_RULES: &str = "'scanner', 'brute-force', 'extension-enumeration', 'flood', 'challenge-flood', \
                            'registration-hijack', 'toll-fraud'";

pub const HUNTS: &[Hunt] = &[
    Hunt {
        name: "repeat-attackers",
        title: "Addresses that attacked (scanning, guessing, flooding, hijacking, toll fraud) in more than one capture",
        text: "SELECT source, COUNT(DISTINCT capture_sha256) AS captures, COUNT(*) AS findings, \
              MIN(first_ts_ns) AS first_ts_ns, MAX(first_ts_ns) AS last_ts_ns \
              FROM findings WHERE source IS NOT NULL AND rule_id IN (__ATTACK_RULES__) \
              GROUP BY source HAVING COUNT(DISTINCT capture_sha256) > 1 \
              ORDER BY captures DESC, findings DESC, source",
    },
    Hunt {
        name: "calls-from-attackers",
        title: "Calls placed from an address that attacked any capture of the store",
        text: "SELECT c.capture_sha256, c.file, c.frame, c.call_id, c.from_user, c.to_user, c.src_ip, c.answered, \
              c.start_ts_ns FROM calls c \
              WHERE c.kind = 'call' AND c.src_ip IN (SELECT source FROM findings WHERE source IS NOT NULL AND \
              rule_id IN (__ATTACK_RULES__)) \
              ORDER BY c.start_ts_ns, c.capture_sha256, c.call_id",
    },
    Hunt {
        name: "toll-fraud-destinations",
        title: "International destinations dialled (+, 00 or 011), by the first three digits after the prefix",
        text: "SELECT SUBSTR(REGEXP_REPLACE(to_user, '^([+]|00|011)', ''), 1, 3) AS prefix, COUNT(*) AS calls, \
              SUM(CASE WHEN answered THEN 1 ELSE 0 END) AS answered, \
              COALESCE(SUM(duration_secs), 0) AS talk_secs, COUNT(DISTINCT src_ip) AS sources, \
              COUNT(DISTINCT capture_sha256) AS captures \
              FROM calls WHERE kind = 'call' AND to_user IS NOT NULL AND \
              (to_user LIKE '+%' OR to_user LIKE '00%' OR to_user LIKE '011%') \
              GROUP BY SUBSTR(REGEXP_REPLACE(to_user, '^([+]|00|011)', ''), 1, 3) \
              ORDER BY calls DESC, prefix",
    },
    Hunt {
        name: "clear-credentials",
        title: "Accounts whose digest credentials were seen in clear, and whether their password was cracked",
        text: "SELECT username, realm, COUNT(DISTINCT capture_sha256) AS captures, COUNT(DISTINCT source) AS sources, \
              SUM(responses) AS responses, MAX(CASE WHEN cracked THEN 1 ELSE 0 END) AS cracked, \
              MAX(CASE WHEN proven THEN 1 ELSE 0 END) AS proven \
              FROM credentials GROUP BY username, realm \
              ORDER BY proven DESC, cracked DESC, responses DESC, username, realm",
    },
    Hunt {
        name: "low-mos-routes",
        title: "Calls whose worst stream has MOS below 3, by signalling route (source → destination address)",
        text: "SELECT src_ip, dst_ip, COUNT(*) AS calls, AVG(mos_min) AS mean_mos, MIN(mos_min) AS worst_mos \
              FROM calls WHERE kind = 'call' AND mos_min < 3 \
              GROUP BY src_ip, dst_ip ORDER BY calls DESC, worst_mos, src_ip, dst_ip",
    },
];

impl Hunt {
    /// The hunt's SQL with its shared lists filled in.
    pub fn sql(&self) -> String {
        self.text.replace("__ATTACK_RULES__", ATTACK_RULES)
    }
}

/// The rows of a query, and what of the store could not be queried.
#[derive(Debug, Default)]
pub struct QueryResult {
    pub columns: Vec<String>,
    /// Utf8 columns (text from captures: neutralised in CSV).
    pub text_columns: Vec<bool>,
    pub batches: Vec<RecordBatch>,
    pub rows: usize,
    pub rows_dropped: u64,
    /// Partitions left out, each with why (damaged, newer schema, never committed).
    pub skipped: Vec<String>,
}

/// One table partition found on disk.
struct Partition {
    table: &'static str,
    sha: String,
    file: PathBuf,
}

/// The schema of `table` as this version writes it.
pub fn schema(table: &str) -> SchemaRef {
    let empty = Analysis::default();
    let ctx = tables::Context {
        sha256: "",
        paths: &[],
    };
    match tables::batches(&empty, &ctx, table) {
        Ok(b) => b.first().map_or_else(
            || Arc::new(datafusion::arrow::datatypes::Schema::empty()),
            |b| b.schema(),
        ),
        Err(_) => Arc::new(datafusion::arrow::datatypes::Schema::empty()),
    }
}

/// Every partition of the store with a readable footer of this or an older schema version, and the ones left out.
fn scan(store: &Store) -> (Vec<Partition>, Vec<String>) {
    let mut found = Vec::new();
    let mut skipped = Vec::new();
    for table in TABLES {
        let dir = store.root().join(table);
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n.starts_with("capture="))
            .collect();
        names.sort();
        for name in names {
            let sha = name.trim_start_matches("capture=").to_string();
            let file = dir.join(&name).join("part-0.parquet");
            match check_file(&file) {
                Ok(()) => found.push(Partition { table, sha, file }),
                Err(why) => skipped.push(format!("partition {table}/{name} skipped: {why}")),
            }
        }
    }
    let committed: BTreeSet<String> = found
        .iter()
        .filter(|p| p.table == "captures")
        .map(|p| p.sha.clone())
        .collect();
    let mut kept = Vec::new();
    for p in found {
        if committed.contains(&p.sha) {
            kept.push(p);
        } else {
            skipped.push(format!(
                "partition {}/capture={} skipped: its capture has no readable captures partition (an interrupted \
                 write; write the capture again)",
                p.table, p.sha
            ));
        }
    }
    (kept, skipped)
}

/// Whether a partition file can be queried: its Parquet footer reads and its schema version is not newer.
fn check_file(path: &Path) -> Result<(), String> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let f = fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let reader = SerializedFileReader::new(f).map_err(|e| format!("damaged Parquet file: {e}"))?;
    let meta = reader.metadata().file_metadata();
    let version = meta
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|k| k.key == VERSION_KEY))
        .and_then(|k| k.value.as_deref()?.parse::<u32>().ok());
    match version {
        Some(v) if v > SCHEMA_VERSION => Err(format!(
            "written with schema version {v}; this Earshot reads version {SCHEMA_VERSION}"
        )),
        Some(_) => Ok(()),
        None => Err(format!(
            "no {VERSION_KEY} in its metadata: not written by Earshot"
        )),
    }
}

/// Run `sql` over the store at `root`.
pub fn run(root: &Path, sql: &str) -> Result<QueryResult, QueryError> {
    let store = Store::open(root)?;
    let (parts, skipped) = scan(&store);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| QueryError::Sql(format!("cannot start the query engine: {e}")))?;
    // The engine decodes files anyone could have written: a panic in it (a damaged page past a sound footer)
    // is this query's error, never the caller's crash.
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(run_async(&parts, sql))
    }));
    let mut result = match ran {
        Ok(r) => r?,
        Err(panic) => {
            let why = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("no message");
            return Err(QueryError::Sql(format!(
                "the query engine failed reading the store (a damaged file?): {why}"
            )));
        }
    };
    result.skipped = skipped;
    Ok(result)
}

async fn run_async(parts: &[Partition], sql: &str) -> Result<QueryResult, QueryError> {
    let err = |e: datafusion::error::DataFusionError| QueryError::Sql(e.to_string());
    let config = SessionConfig::new().with_information_schema(true);
    let ctx = SessionContext::new_with_config(config);
    for table in TABLES {
        let schema = schema(table);
        let urls: Vec<ListingTableUrl> = parts
            .iter()
            .filter(|p| p.table == table)
            .filter_map(|p| ListingTableUrl::parse(p.file.to_string_lossy()).ok())
            .collect();
        if urls.is_empty() {
            let mem = MemTable::try_new(schema.clone(), vec![vec![]]).map_err(err)?;
            ctx.register_table(table, Arc::new(mem)).map_err(err)?;
            continue;
        }
        let options =
            ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
        let config = ListingTableConfig::new_with_multi_paths(urls)
            .with_listing_options(options)
            .with_schema(schema);
        let listing = ListingTable::try_new(config).map_err(err)?;
        ctx.register_table(table, Arc::new(listing)).map_err(err)?;
    }
    let read_only = SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false);
    let df = ctx.sql_with_options(sql, read_only).await.map_err(err)?;
    let schema = df.schema().as_arrow().clone();
    let mut stream = df.execute_stream().await.map_err(err)?;
    let mut out = QueryResult {
        columns: schema.fields().iter().map(|f| f.name().clone()).collect(),
        text_columns: schema
            .fields()
            .iter()
            .map(|f| {
                matches!(
                    f.data_type(),
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                )
            })
            .collect(),
        ..Default::default()
    };
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(err)?;
        let room = MAX_RESULT_ROWS.saturating_sub(out.rows);
        if batch.num_rows() > room {
            out.rows_dropped = out
                .rows_dropped
                .saturating_add((batch.num_rows() - room) as u64);
            if room > 0 {
                out.batches.push(batch.slice(0, room));
                out.rows = out.rows.saturating_add(room);
            }
            continue;
        }
        out.rows = out.rows.saturating_add(batch.num_rows());
        out.batches.push(batch);
    }
    Ok(out)
}

impl QueryResult {
    /// Every cell as text (null as the empty string), row by row, at most `limit` rows.
    pub fn cells(&self, limit: usize) -> Vec<Vec<Option<String>>> {
        let opts = FormatOptions::default();
        let mut rows = Vec::new();
        for b in &self.batches {
            let formatters: Vec<Option<ArrayFormatter<'_>>> = b
                .columns()
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts).ok())
                .collect();
            for r in 0..b.num_rows() {
                if rows.len() >= limit {
                    return rows;
                }
                let row = b
                    .columns()
                    .iter()
                    .zip(&formatters)
                    .map(|(col, f)| {
                        if col.is_null(r) {
                            return None;
                        }
                        f.as_ref().map(|f| f.value(r).to_string())
                    })
                    .collect();
                rows.push(row);
            }
        }
        rows
    }

    /// RFC 4180 CSV with a header; text cells pass through the formula neutraliser.
    pub fn to_csv(&self, limit: usize) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        let _ = w.write_record(&self.columns);
        for row in self.cells(limit) {
            let rec: Vec<String> = row
                .into_iter()
                .zip(&self.text_columns)
                .map(|(c, text)| match (c, text) {
                    (Some(c), true) => crate::report::csv::safe_cell(&c),
                    (Some(c), false) => c,
                    (None, _) => String::new(),
                })
                .collect();
            let _ = w.write_record(&rec);
        }
        let bytes = w.into_inner().unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// One JSON object per row (JSON Lines), values as JSON numbers/booleans where the column is one.
    pub fn to_json_lines(&self, limit: usize) -> String {
        let mut out = String::new();
        let mut left = limit;
        for b in &self.batches {
            if left == 0 {
                break;
            }
            let b = b.slice(0, b.num_rows().min(left));
            left -= b.num_rows();
            let mut w = datafusion::arrow::json::LineDelimitedWriter::new(Vec::new());
            if w.write(&b).is_ok() && w.finish().is_ok() {
                out.push_str(&String::from_utf8_lossy(&w.into_inner()));
            }
        }
        out
    }

    /// A text table for a terminal: control characters of capture text escaped, wide cells cut.
    pub fn to_table(&self, limit: usize) -> String {
        let cells = self.cells(limit);
        let shown: Vec<Vec<String>> = cells
            .iter()
            .map(|r| {
                r.iter()
                    .map(|c| crate::report::terminal_safe(c.as_deref().unwrap_or(""), 60))
                    .collect()
            })
            .collect();
        let header: Vec<String> = self
            .columns
            .iter()
            .map(|c| crate::report::terminal_safe(c, 60))
            .collect();
        let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
        for r in &shown {
            for (w, c) in widths.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |r: &[String]| {
            let mut s = r
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect::<Vec<_>>()
                .join("  ");
            s.truncate(s.trim_end().len());
            s.push('\n');
            s
        };
        let mut out = line(&header);
        out.push_str(&line(
            &widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>(),
        ));
        for r in &shown {
            out.push_str(&line(r));
        }
        out.push_str(&format!(
            "({} row{}{})\n",
            self.rows,
            if self.rows == 1 { "" } else { "s" },
            if self.rows_dropped > 0 {
                format!(
                    ", {} more not kept (limit {MAX_RESULT_ROWS})",
                    self.rows_dropped
                )
            } else if cells.len() < self.rows {
                format!(", {} shown", cells.len())
            } else {
                String::new()
            }
        ));
        out
    }
}
