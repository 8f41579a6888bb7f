//! Report writers: JSON and CSV (PDF and more come with the reports work). May import: `model`, `time`.
pub mod csv;
pub mod json;

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

#[cfg(test)]
mod tests {
    use super::terminal_safe;

    #[test]
    fn escapes_ansi_and_bidi() {
        assert_eq!(terminal_safe("a\x1b[31mred", 80), "a\\u{1b}[31mred");
        assert_eq!(terminal_safe("x\u{202e}gpj.exe", 80), "x\\u{202e}gpj.exe");
        assert_eq!(terminal_safe("line\r\nnext", 80), "line\\u{d}\\u{a}next");
        assert_eq!(terminal_safe("abcdef", 3), "abc…");
    }
}
