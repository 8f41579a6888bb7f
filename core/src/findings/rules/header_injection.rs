//! `header-injection`: hostile content in SIP headers — SQL injection, script tags, format strings, shell
//! metacharacters, control and bidi-override characters, over-long values — aimed at the CDR databases, web
//! consoles and log viewers that later display them. Shown escaped.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::findings::Facts;
use crate::findings::{Evidence, FindingText, Rule, Settings, list};
use crate::model::{Analysis, Confidence, Finding, Severity};

pub struct HeaderInjection;

/// What is hostile in a header value, if anything.
fn classify(v: &str, max_chars: usize) -> Option<&'static str> {
    let l = v.to_ascii_lowercase();
    if v.chars().count() > max_chars {
        return Some("over-long value");
    }
    if v.chars()
        .any(|c| ('\u{202A}'..='\u{202E}').contains(&c) || ('\u{2066}'..='\u{2069}').contains(&c))
    {
        return Some("bidi override characters");
    }
    if v.chars().any(|c| c.is_control() && c != '\t') {
        return Some("control characters");
    }
    if l.contains("<script")
        || l.contains("javascript:")
        || l.contains("onerror=")
        || l.contains("<img")
    {
        return Some("script/HTML injection");
    }
    if l.contains("' or ")
        || l.contains("'or'")
        || l.contains("union select")
        || l.contains("; drop ")
        || l.contains("';--")
        || l.contains("' --")
        || l.contains("sleep(")
    {
        return Some("SQL injection");
    }
    // Bash function-definition prefix (CVE-2014-6271 "shellshock"), in any spacing: `() { :;};`.
    let squeezed: String = l.chars().filter(|c| !c.is_whitespace()).collect();
    if squeezed.contains("(){") {
        return Some("shell function definition (shellshock)");
    }
    // Percent-encoded CR or LF: decoded by a later hop or a log viewer, it splits headers or log lines.
    if l.contains("%0d") || l.contains("%0a") {
        return Some("encoded CR/LF (header splitting)");
    }
    if v.contains("%n") || v.contains("%s%s") || v.contains("%x%x") || v.contains("%p%p") {
        return Some("format string");
    }
    if v.contains("$(")
        || v.contains('`')
        || v.contains("${")
        || v.contains("&&")
        || v.contains("|sh")
    {
        return Some("shell metacharacters");
    }
    if v.contains("../") || v.contains("..\\") {
        return Some("path traversal");
    }
    None
}

/// Call-IDs end up in file names and command lines: beyond `classify`, any shell or path separator is hostile.
fn classify_call_id(v: &str) -> Option<&'static str> {
    if v.chars().any(|c| {
        matches!(
            c,
            ';' | '|' | '&' | '/' | '\\' | '<' | '>' | '"' | '\'' | '$'
        )
    }) {
        return Some("shell or path characters in a Call-ID");
    }
    None
}

/// An excerpt safe to print anywhere: escaped, at most 80 characters.
fn excerpt(v: &str) -> String {
    let e: String = v.chars().flat_map(char::escape_default).take(80).collect();
    if v.chars().count() > 80 {
        format!("{e}…")
    } else {
        e
    }
}

impl Rule for HeaderInjection {
    fn id(&self) -> &'static str {
        "header-injection"
    }

    fn evaluate(&self, a: &Analysis, s: &Settings, f: &Facts<'_>, out: &mut Vec<Finding>) {
        let mut by_source: BTreeMap<IpAddr, (Evidence, Vec<String>)> = BTreeMap::new();
        let origins = f.origins();
        for (m, origin) in a.messages.iter().zip(origins) {
            let Some(source) = super::counted_source(m, origin.as_ref()) else {
                continue;
            };
            let mut hits = Vec::new();
            let response = m.message.method().is_none();
            if let crate::model::StartLine::Request { uri, .. } = &m.message.start
                && let Some(kind) = classify(uri, s.max_header_chars)
            {
                hits.push(format!("{kind} in the Request-URI: `{}`", excerpt(uri)));
            }
            for (name, value) in &m.message.headers {
                let is_call_id = matches!(name.to_ascii_lowercase().as_str(), "call-id" | "i");
                if !response
                    && is_call_id
                    && classify(value, s.max_header_chars).is_none()
                    && let Some(kind) = classify_call_id(value)
                {
                    hits.push(format!("{kind}: `{}`", excerpt(value)));
                    continue;
                }
                // A response copies these from its request: the hostile text is the requester's, not the server's.
                if response
                    && matches!(
                        name.to_ascii_lowercase().as_str(),
                        "from"
                            | "f"
                            | "to"
                            | "t"
                            | "call-id"
                            | "i"
                            | "via"
                            | "v"
                            | "cseq"
                            | "record-route"
                    )
                {
                    continue;
                }
                if let Some(kind) = classify(value, s.max_header_chars) {
                    hits.push(format!("{kind} in {}: `{}`", excerpt(name), excerpt(value)));
                }
            }
            if hits.is_empty() {
                continue;
            }
            if by_source.len() >= 10_000 && !by_source.contains_key(&source) {
                continue;
            }
            let (ev, all) = by_source.entry(source).or_default();
            ev.frame(m.frame, m.ts_nanos).source(source);
            if let Some(c) = &m.message.call_id {
                ev.call(c);
            }
            for h in hits {
                if all.len() < 20 && !all.contains(&h) {
                    all.push(h);
                }
            }
        }
        for (ip, (ev, hits)) in by_source {
            let details = format!(
                "{} SIP messages from {ip} carry hostile header content: {}.",
                ev.frames_total(),
                list(&hits, 4)
            );
            out.push(ev.finish(
                FindingText {
                    rule_id: self.id(),
                    title: format!("Injection payloads in SIP headers from {ip}"),
                    details,
                    risk: "Header values end up in call records, billing databases, web consoles and logs: \
                           injected SQL, script or shell text attacks those systems, and control or bidi \
                           characters make what an operator reads differ from what was sent.",
                    remediation: "Validate and normalise SIP headers at the edge (SBC), escape them wherever they \
                                  are stored or displayed, and use parameterised queries for CDR storage.",
                    practice: "Treat signalling content as untrusted input.",
                },
                Severity::High,
                Confidence::Medium,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_values_are_classified() {
        assert_eq!(
            classify("\"x' OR '1'='1\" <sip:a@b>", 1024),
            Some("SQL injection")
        );
        assert_eq!(
            classify("<script>alert(1)</script>", 1024),
            Some("script/HTML injection")
        );
        assert_eq!(classify("%s%s%s%n", 1024), Some("format string"));
        assert_eq!(classify("$(reboot)", 1024), Some("shell metacharacters"));
        assert_eq!(
            classify("abc\u{202e}cba", 1024),
            Some("bidi override characters")
        );
        assert_eq!(classify("a\u{1b}[31mred", 1024), Some("control characters"));
        assert_eq!(
            classify("() { :;}; /bin/bash -c 'id'", 1024),
            Some("shell function definition (shellshock)")
        );
        assert_eq!(
            classify("(){ :; }; echo x", 1024),
            Some("shell function definition (shellshock)")
        );
        assert_eq!(classify("`id`", 1024), Some("shell metacharacters"));
        assert_eq!(
            classify("<sip:100%0D%0AX-Injected:%20yes@10.0.0.1>", 1024),
            Some("encoded CR/LF (header splitting)")
        );
        assert_eq!(
            classify("<sip:100%0aVia:x@h>", 1024),
            Some("encoded CR/LF (header splitting)")
        );
        // A percent-encoded space or quote is ordinary URI syntax.
        assert_eq!(classify("<sip:john%20doe@example.org>", 1024), None);
        assert_eq!(classify(&"x".repeat(2000), 1024), Some("over-long value"));
        assert_eq!(
            classify("SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-1", 1024),
            None
        );
        assert_eq!(
            classify("\"Alice\" <sip:alice@example.org>;tag=1", 1024),
            None
        );
        assert_eq!(excerpt("a\u{1b}b"), "a\\u{1b}b");
        assert_eq!(classify("../../etc/passwd", 1024), Some("path traversal"));
        assert_eq!(
            classify_call_id("abc;reboot;"),
            Some("shell or path characters in a Call-ID")
        );
        assert_eq!(classify_call_id("a84b4c76e66710@pc33.atlanta.com"), None);
    }
}
