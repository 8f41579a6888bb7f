//! Building one Arrow record batch from a slice of rows, column by column, with the store's fixed types: strings,
//! 64-bit integers, floats, booleans, UTC timestamps (microseconds, the precision every Parquet reader takes) and
//! lists of strings or integers. The provenance columns every table starts with (`capture_sha256`, `file`, `frame`)
//! are added by [`Batch::new`].

use std::sync::Arc;

use arrow_array::builder::{Int64Builder, ListBuilder, StringBuilder};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow_schema::{ArrowError, DataType, Field, Schema, TimeUnit};

use crate::model::{FrameNo, split_frame};

/// The timestamp type of the store: microseconds since the epoch, UTC (Spark reads no nanosecond timestamps; the
/// exact time is in the `*_ts_ns` integer column beside it).
pub fn ts_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

pub struct Batch<'a, R> {
    rows: &'a [R],
    fields: Vec<Field>,
    arrays: Vec<ArrayRef>,
}

impl<'a, R> Batch<'a, R> {
    /// A batch over `rows`, starting with the provenance columns: the capture's SHA-256, the case file and the
    /// frame inside that file (split from the case frame number `frame(row)`; null when the row has none).
    pub fn new(
        rows: &'a [R],
        capture_sha256: &str,
        frame: impl Fn(&'a R) -> Option<FrameNo>,
    ) -> Self {
        Self::with_file(rows, capture_sha256, |r| match frame(r).map(split_frame) {
            Some((file, f)) => (file, Some(f)),
            None => (0, None),
        })
    }

    /// A batch whose provenance is given as (case file, frame inside it) directly.
    pub fn with_file(
        rows: &'a [R],
        capture_sha256: &str,
        place: impl Fn(&'a R) -> (u32, Option<u64>),
    ) -> Self {
        let mut b = Batch {
            rows,
            fields: Vec::new(),
            arrays: Vec::new(),
        };
        let sha: StringArray = rows.iter().map(|_| Some(capture_sha256)).collect();
        b.push("capture_sha256", DataType::Utf8, false, Arc::new(sha));
        let places: Vec<(u32, Option<u64>)> = rows.iter().map(place).collect();
        let file: Int64Array = places.iter().map(|(f, _)| Some(i64::from(*f))).collect();
        b.push("file", DataType::Int64, false, Arc::new(file));
        let fr: Int64Array = places.iter().map(|(_, f)| f.map(int)).collect();
        b.push("frame", DataType::Int64, true, Arc::new(fr));
        b
    }

    fn push(&mut self, name: &str, ty: DataType, nullable: bool, a: ArrayRef) {
        self.fields.push(Field::new(name, ty, nullable));
        self.arrays.push(a);
    }

    /// A string column that is never null.
    pub fn text(mut self, name: &str, f: impl Fn(&'a R) -> &'a str) -> Self {
        let a: StringArray = self.rows.iter().map(|r| Some(f(r))).collect();
        self.push(name, DataType::Utf8, false, Arc::new(a));
        self
    }

    /// A nullable string column from borrowed text.
    pub fn opt_text(mut self, name: &str, f: impl Fn(&'a R) -> Option<&'a str>) -> Self {
        let a: StringArray = self.rows.iter().map(&f).collect();
        self.push(name, DataType::Utf8, true, Arc::new(a));
        self
    }

    /// A nullable string column from computed text.
    pub fn string(mut self, name: &str, f: impl Fn(&'a R) -> Option<String>) -> Self {
        let a: StringArray = self.rows.iter().map(&f).collect();
        self.push(name, DataType::Utf8, true, Arc::new(a));
        self
    }

    pub fn int(mut self, name: &str, f: impl Fn(&'a R) -> Option<i64>) -> Self {
        let a: Int64Array = self.rows.iter().map(&f).collect();
        self.push(name, DataType::Int64, true, Arc::new(a));
        self
    }

    pub fn float(mut self, name: &str, f: impl Fn(&'a R) -> Option<f64>) -> Self {
        let a: Float64Array = self.rows.iter().map(&f).collect();
        self.push(name, DataType::Float64, true, Arc::new(a));
        self
    }

    pub fn boolean(mut self, name: &str, f: impl Fn(&'a R) -> bool) -> Self {
        let a: BooleanArray = self.rows.iter().map(|r| Some(f(r))).collect();
        self.push(name, DataType::Boolean, false, Arc::new(a));
        self
    }

    /// A UTC timestamp column (microseconds, truncated towards the past) from nanoseconds since the epoch.
    pub fn ts(mut self, name: &str, f: impl Fn(&'a R) -> Option<i64>) -> Self {
        let a: TimestampMicrosecondArray = self
            .rows
            .iter()
            .map(|r| f(r).map(|ns| ns.div_euclid(1000)))
            .collect::<TimestampMicrosecondArray>()
            .with_timezone("UTC");
        self.push(name, ts_type(), true, Arc::new(a));
        self
    }

    /// A list-of-strings column (never null; an empty list when there is nothing).
    pub fn texts<I, S>(mut self, name: &str, f: impl Fn(&'a R) -> I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut b = ListBuilder::new(StringBuilder::new());
        for r in self.rows {
            for s in f(r) {
                b.values().append_value(s.as_ref());
            }
            b.append(true);
        }
        let a = b.finish();
        let ty = a.data_type().clone();
        self.push(name, ty, false, Arc::new(a));
        self
    }

    /// A list-of-integers column (never null).
    pub fn ints<I>(mut self, name: &str, f: impl Fn(&'a R) -> I) -> Self
    where
        I: IntoIterator<Item = i64>,
    {
        let mut b = ListBuilder::new(Int64Builder::new());
        for r in self.rows {
            for v in f(r) {
                b.values().append_value(v);
            }
            b.append(true);
        }
        let a = b.finish();
        let ty = a.data_type().clone();
        self.push(name, ty, false, Arc::new(a));
        self
    }

    pub fn finish(self) -> Result<RecordBatch, ArrowError> {
        let schema = Schema::new(self.fields);
        RecordBatch::try_new(Arc::new(schema), self.arrays)
    }
}

/// A count or frame number as the store's signed 64-bit integer (saturating: no capture comes near 2⁶³).
pub fn int<T: TryInto<i64>>(v: T) -> i64 {
    v.try_into().unwrap_or(i64::MAX)
}
