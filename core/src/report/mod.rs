//! Report writers: JSON, CSV, PDF, ladder images, blocklists, and redaction of identities. They read only the
//! model (an [`Analysis`](crate::model::Analysis)). May import: `model`, `time`.
use std::path::PathBuf;

pub mod blocklist;
pub mod csv;
pub mod json;
pub mod ladder;
pub mod manifest;
pub mod pdf;
pub mod redact;

/// The fonts bundled in `assets/fonts` (DejaVu), compiled in: reports never look up or fetch fonts.
pub mod fonts {
    pub const SANS: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
    pub const SANS_BOLD: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans-Bold.ttf");
    pub const SANS_OBLIQUE: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans-Oblique.ttf");
    pub const MONO: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSansMono.ttf");
    /// Every bundled font, for renderers that take a list.
    pub const ALL: [&[u8]; 4] = [SANS, SANS_BOLD, SANS_OBLIQUE, MONO];
}

/// What a report says about its own making: the case fields (optional inputs), when it was generated, the
/// settings used, and the exports made in the session (chain of custody).
#[derive(Debug, Clone, Default)]
pub struct ReportMeta {
    pub case_id: Option<String>,
    pub analyst: Option<String>,
    pub notes: Option<String>,
    /// When the report was generated, UTC nanoseconds since the epoch.
    pub generated_at_nanos: i64,
    /// The rule settings used, as TOML (`findings::Settings::to_toml`).
    pub settings_toml: String,
    /// Identities were pseudonymised ([`redact::redact`] was applied to the analysis).
    pub redacted: bool,
    /// Calls that get their own pages even without findings (Call-IDs).
    pub selected_calls: Vec<String>,
    /// Exports made in this session, oldest first.
    pub exports: Vec<ExportRecord>,
}

/// One export made in a session (for the report's chain-of-custody list and the audit log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRecord {
    pub time_nanos: i64,
    /// `pdf`, `csv`, `json`, `pcap`, `wav`, `ladder`, `blocklist`...
    pub kind: String,
    pub path: String,
}

/// A report that could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    // Said once: the I/O error is in the message, not also the error's source.
    #[error("cannot write {path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("cannot render the PDF report: {0}")]
    Pdf(String),
    #[error("cannot render the image: {0}")]
    Image(String),
}

/// Make attacker-controlled text safe to print on a terminal or in a one-line table cell: control characters
/// (ANSI escapes included), bidi overrides and line breaks are shown as `\u{..}` escapes, and the result is cut
/// to `max_chars` characters (with `…`).
pub fn terminal_safe(s: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max_chars * 4));
    for (n, c) in s.chars().enumerate() {
        if n >= max_chars {
            out.push('…');
            break;
        }
        let bidi = matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}');
        if c.is_control() || bidi {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// [`terminal_safe`] line by line, for text of several lines: at most `max_lines` lines of `max_chars` each.
pub fn terminal_safe_lines(s: &str, max_lines: usize, max_chars: usize) -> String {
    s.lines()
        .take(max_lines)
        .map(|l| terminal_safe(l, max_chars))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::{terminal_safe, terminal_safe_lines};

    #[test]
    fn escapes_ansi_and_bidi() {
        assert_eq!(terminal_safe("a\x1b[31mred", 80), "a\\u{1b}[31mred");
        assert_eq!(terminal_safe("x\u{202e}gpj.exe", 80), "x\\u{202e}gpj.exe");
        assert_eq!(terminal_safe("line\r\nnext", 80), "line\\u{d}\\u{a}next");
        assert_eq!(terminal_safe("abcdef", 3), "abc…");
    }

    #[test]
    fn lines_are_kept_escaped_and_bounded() {
        assert_eq!(
            terminal_safe_lines("a = 1\nb\x1b = \"x\"\nc\nd", 3, 4),
            "a = …\nb\\u{1b} =…\nc"
        );
    }
}
