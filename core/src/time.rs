//! Timestamp formatting: integer nanoseconds since the Unix epoch → UTC ISO 8601 with the capture's precision.

/// Format `ts_nanos` as `YYYY-MM-DDTHH:MM:SS.ffffffZ` with `digits` fractional digits (0..=9), in UTC.
pub fn format_utc(ts_nanos: i64, digits: u8) -> String {
    let secs = ts_nanos.div_euclid(1_000_000_000);
    let nanos = ts_nanos.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (sod / 3600, (sod % 3600) / 60, sod % 60);
    let digits = u32::from(digits.min(9));
    if digits == 0 {
        return format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z");
    }
    let frac = nanos / 10_i64.pow(9 - digits);
    format!(
        "{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{frac:0width$}Z",
        width = digits as usize
    )
}

/// Seconds between two timestamps as a float (for durations shown to people).
pub fn secs_between(from_nanos: i64, to_nanos: i64) -> f64 {
    (to_nanos.saturating_sub(from_nanos)) as f64 / 1e9
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        // SIP_DTMF2.cap first packet per capinfos: 2005-09-09 12:02:25.330945 UTC.
        let ts = 1_126_267_345_330_945_000;
        assert_eq!(format_utc(ts, 6), "2005-09-09T12:02:25.330945Z");
        assert_eq!(format_utc(ts, 9), "2005-09-09T12:02:25.330945000Z");
        assert_eq!(format_utc(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_utc(951_782_400_000_000_000, 3),
            "2000-02-29T00:00:00.000Z"
        );
        assert_eq!(format_utc(-1, 9), "1969-12-31T23:59:59.999999999Z");
    }
}
