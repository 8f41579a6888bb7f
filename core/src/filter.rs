//! Call filter expressions, the same on the command line (`--filter`) and in the app's calls table:
//!
//! ```text
//! from ~ "^\+882" && mos < 3 && file == "eth1_0042.pcap"
//! (state == rejected || state == cancelled) && !answered
//! rule ~ "brute|weak" || findings >= 2
//! ```
//!
//! A comparison is `FIELD OP VALUE`: `==`, `!=` (case-insensitive equality), `~`, `!~` (regular expression,
//! `regex` syntax, unanchored; `(?i)` for case-insensitive), `<`, `<=`, `>`, `>=` (numbers; text compares as text,
//! so ISO times order correctly). Values are numbers, `"quoted text"` (with `\"` and `\\`) or bare words. A bare
//! field is true when it is true, non-zero or non-empty. `&&`/`and`, `||`/`or`, `!`/`not` and parentheses combine
//! them. A field with several values (codecs, user agents, files) matches when any value does (`!=` and `!~`: when
//! none does); a field without a value (no MOS) makes every comparison false. [`FIELDS`] lists the fields.
//!
//! May import: `model`, `calls::legs`.

use regex::Regex;

use crate::model::{Analysis, Call};

/// The fields a filter can name, with what they hold.
pub const FIELDS: &[(&str, &str)] = &[
    ("call_id", "the Call-ID"),
    ("from", "From user, URI and display name"),
    ("to", "To user, URI and display name"),
    ("pai", "P-Asserted-Identity user and URI"),
    (
        "kind",
        "call, or the first request's method: register, options, message, …",
    ),
    ("protocol", "sip, mgcp, megaco"),
    (
        "state",
        "completed, in-call, rejected, cancelled, ringing, trying, …",
    ),
    ("answered", "true when a 2xx answered the INVITE"),
    ("status", "final status code of the INVITE"),
    (
        "response",
        "every response code the Call-ID's messages carry",
    ),
    ("end_reason", "bye, cancel, the final status, none"),
    ("duration", "seconds from answer to BYE"),
    ("setup", "seconds from INVITE to answer"),
    ("start", "start time, UTC ISO 8601"),
    ("mos", "lowest MOS of the call's streams"),
    ("loss", "highest packet loss of the call's streams, %"),
    ("jitter", "highest jitter of the call's streams, ms"),
    ("codec", "codecs negotiated"),
    ("transport", "udp, tcp, tls, ws, wss, sctp"),
    ("user_agent", "User-Agent and Server values"),
    ("ip", "signalling endpoint addresses"),
    ("dtmf", "digits pressed"),
    ("findings", "number of findings on the call"),
    ("rule", "rule ids of the call's findings"),
    ("severity", "severities of the call's findings"),
    ("legs", "number of other legs linked to the call"),
    (
        "file",
        "case files the call's frames are in (file names; a stream's files from its first to its last)",
    ),
    ("point", "capture points that saw the call"),
];

/// Longest filter accepted.
pub const MAX_FILTER_LEN: usize = 4096;
/// Deepest nesting of parentheses and `!`.
const MAX_DEPTH: usize = 64;
/// Compiled size limit of one regular expression.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("filter: {message} (at character {at})")]
pub struct FilterError {
    pub message: String,
    pub at: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Match,
    NotMatch,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone)]
enum Lit {
    Num(f64),
    Text(String),
}

#[derive(Debug, Clone)]
enum Node {
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Not(Box<Node>),
    Truthy(String),
    Cmp(String, Op, Lit, Option<Regex>),
}

/// A parsed filter.
#[derive(Debug, Clone)]
pub struct Filter {
    root: Node,
    text: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(f64),
    Op(Op),
    And,
    Or,
    Not,
    LParen,
    RParen,
}

fn lex(s: &str) -> Result<Vec<(Tok, usize)>, FilterError> {
    let err = |message: &str, at: usize| FilterError {
        message: message.to_string(),
        at,
    };
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&(pos, c)) = chars.get(i) {
        let next = chars.get(i + 1).map(|x| x.1);
        let two = |a: char, b: char| c == a && next == Some(b);
        if c.is_whitespace() {
            i += 1;
        } else if two('&', '&') {
            out.push((Tok::And, pos));
            i += 2;
        } else if two('|', '|') {
            out.push((Tok::Or, pos));
            i += 2;
        } else if two('=', '=') {
            out.push((Tok::Op(Op::Eq), pos));
            i += 2;
        } else if two('!', '=') {
            out.push((Tok::Op(Op::Ne), pos));
            i += 2;
        } else if two('!', '~') {
            out.push((Tok::Op(Op::NotMatch), pos));
            i += 2;
        } else if two('<', '=') {
            out.push((Tok::Op(Op::Le), pos));
            i += 2;
        } else if two('>', '=') {
            out.push((Tok::Op(Op::Ge), pos));
            i += 2;
        } else if c == '~' {
            out.push((Tok::Op(Op::Match), pos));
            i += 1;
        } else if c == '<' {
            out.push((Tok::Op(Op::Lt), pos));
            i += 1;
        } else if c == '>' {
            out.push((Tok::Op(Op::Gt), pos));
            i += 1;
        } else if c == '=' {
            out.push((Tok::Op(Op::Eq), pos));
            i += 1;
        } else if c == '!' {
            out.push((Tok::Not, pos));
            i += 1;
        } else if c == '(' {
            out.push((Tok::LParen, pos));
            i += 1;
        } else if c == ')' {
            out.push((Tok::RParen, pos));
            i += 1;
        } else if c == '"' || c == '\'' {
            let quote = c;
            let mut text = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(err("unterminated quoted text", pos)),
                    Some(&(_, '\\')) => {
                        // `\"` and `\\` are the quote and the backslash; any other `\x` is kept (regex escapes).
                        match chars.get(i + 1) {
                            Some(&(_, n)) if n == quote || n == '\\' => {
                                text.push(n);
                                i += 2;
                            }
                            _ => {
                                text.push('\\');
                                i += 1;
                            }
                        }
                    }
                    Some(&(_, ch)) if ch == quote => {
                        i += 1;
                        break;
                    }
                    Some(&(_, ch)) => {
                        text.push(ch);
                        i += 1;
                    }
                }
            }
            out.push((Tok::Str(text), pos));
        } else {
            let start = i;
            while let Some(&(_, ch)) = chars.get(i) {
                if ch.is_whitespace() || "()&|=!<>~\"'".contains(ch) {
                    break;
                }
                i += 1;
            }
            if i == start {
                // A lone `&` or `|`: nothing else starts here.
                return Err(err(&format!("unexpected `{c}` (`&&`, `||`?)"), pos));
            }
            let word: String = chars
                .get(start..i)
                .unwrap_or_default()
                .iter()
                .map(|x| x.1)
                .collect();
            let tok = match word.to_ascii_lowercase().as_str() {
                "and" => Tok::And,
                "or" => Tok::Or,
                "not" => Tok::Not,
                _ => match word.parse::<f64>() {
                    Ok(n) if n.is_finite() => Tok::Num(n),
                    _ => Tok::Ident(word),
                },
            };
            out.push((tok, pos));
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.0)
    }

    fn at(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end, |t| t.1)
    }

    fn err(&self, message: impl Into<String>) -> FilterError {
        FilterError {
            message: message.into(),
            at: self.at(),
        }
    }

    fn or(&mut self, depth: usize) -> Result<Node, FilterError> {
        let mut left = self.and(depth)?;
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            let right = self.and(depth)?;
            left = Node::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self, depth: usize) -> Result<Node, FilterError> {
        let mut left = self.unary(depth)?;
        while self.peek() == Some(&Tok::And) {
            self.pos += 1;
            let right = self.unary(depth)?;
            left = Node::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self, depth: usize) -> Result<Node, FilterError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nested too deeply"));
        }
        match self.peek().cloned() {
            Some(Tok::Not) => {
                self.pos += 1;
                Ok(Node::Not(Box::new(self.unary(depth + 1)?)))
            }
            Some(Tok::LParen) => {
                self.pos += 1;
                let inner = self.or(depth + 1)?;
                if self.peek() != Some(&Tok::RParen) {
                    return Err(self.err("expected `)`"));
                }
                self.pos += 1;
                Ok(inner)
            }
            Some(Tok::Ident(name)) => {
                let field = name.to_ascii_lowercase();
                if !FIELDS.iter().any(|(f, _)| *f == field) {
                    let known: Vec<&str> = FIELDS.iter().map(|(f, _)| *f).collect();
                    return Err(self.err(format!(
                        "unknown field `{name}` (fields: {})",
                        known.join(", ")
                    )));
                }
                self.pos += 1;
                let Some(Tok::Op(op)) = self.peek().cloned() else {
                    return Ok(Node::Truthy(field));
                };
                self.pos += 1;
                let lit = match self.peek().cloned() {
                    Some(Tok::Str(s)) | Some(Tok::Ident(s)) => Lit::Text(s),
                    Some(Tok::Num(n)) => Lit::Num(n),
                    _ => return Err(self.err("expected a value after the operator")),
                };
                let value_at = self.at();
                self.pos += 1;
                let re = match (op, &lit) {
                    (Op::Match | Op::NotMatch, lit) => {
                        let text = match lit {
                            Lit::Text(t) => t.clone(),
                            Lit::Num(n) => n.to_string(),
                        };
                        Some(
                            regex::RegexBuilder::new(&text)
                                .size_limit(REGEX_SIZE_LIMIT)
                                .build()
                                .map_err(|e| FilterError {
                                    message: format!("bad regular expression: {e}"),
                                    at: value_at,
                                })?,
                        )
                    }
                    _ => None,
                };
                Ok(Node::Cmp(field, op, lit, re))
            }
            _ => Err(self.err("expected a field, `!` or `(`")),
        }
    }
}

impl Filter {
    pub fn parse(text: &str) -> Result<Filter, FilterError> {
        if text.len() > MAX_FILTER_LEN {
            return Err(FilterError {
                message: format!("longer than {MAX_FILTER_LEN} bytes"),
                at: MAX_FILTER_LEN,
            });
        }
        let toks = lex(text)?;
        if toks.is_empty() {
            return Err(FilterError {
                message: "empty".into(),
                at: 0,
            });
        }
        let mut p = Parser {
            toks,
            pos: 0,
            end: text.len(),
        };
        let root = p.or(0)?;
        if p.pos < p.toks.len() {
            return Err(p.err("unexpected text (missing `&&` or `||`?)"));
        }
        Ok(Filter {
            root,
            text: text.to_string(),
        })
    }

    /// The filter as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Indices of the calls of `a` the filter keeps, in order.
    pub fn select(&self, a: &Analysis) -> Vec<usize> {
        self.select_with_findings(a, &a.findings)
    }

    /// [`Filter::select`] with `findings` standing for the analysis's own (the app's findings of rules
    /// re-evaluated after loading, kept beside the analysis).
    pub fn select_with_findings(
        &self,
        a: &Analysis,
        findings: &[crate::model::Finding],
    ) -> Vec<usize> {
        let ctx = Context::new(a, findings);
        a.calls
            .iter()
            .enumerate()
            .filter(|(_, c)| eval(&self.root, &ctx, c))
            .map(|(i, _)| i)
            .collect()
    }

    /// Whether call `call` of `a` passes.
    pub fn matches(&self, a: &Analysis, call: usize) -> bool {
        a.calls
            .get(call)
            .is_some_and(|c| eval(&self.root, &Context::new(a, &a.findings), c))
    }
}

/// Per-analysis lookups the fields need.
struct Context<'a> {
    a: &'a Analysis,
    findings: std::collections::HashMap<&'a str, Vec<&'a crate::model::Finding>>,
}

impl<'a> Context<'a> {
    fn new(a: &'a Analysis, all: &'a [crate::model::Finding]) -> Context<'a> {
        let mut findings: std::collections::HashMap<&str, Vec<&crate::model::Finding>> =
            Default::default();
        for f in all {
            for id in &f.call_ids {
                findings.entry(id.as_str()).or_default().push(f);
            }
        }
        Context { a, findings }
    }
}

enum Val {
    Num(f64),
    Text(String),
}

fn name_values(n: Option<&crate::model::NameAddr>) -> Vec<Val> {
    let Some(n) = n else { return Vec::new() };
    let mut v = vec![Val::Text(n.uri.clone())];
    v.extend(n.user.clone().map(Val::Text));
    v.extend(n.display_name.clone().map(Val::Text));
    v
}

fn values(field: &str, ctx: &Context<'_>, c: &Call) -> Vec<Val> {
    let a = ctx.a;
    let streams = || c.streams.iter().filter_map(|&i| a.streams.get(i));
    let num = |x: Option<f64>| x.map(Val::Num).into_iter().collect::<Vec<_>>();
    let fold_max = |it: &mut dyn Iterator<Item = f64>| {
        it.fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))))
    };
    match field {
        "call_id" => vec![Val::Text(c.call_id.clone())],
        "from" => name_values(c.from.as_ref()),
        "to" => name_values(c.to.as_ref()),
        "pai" => name_values(c.asserted_identity.as_ref()),
        "kind" => vec![Val::Text(c.kind.as_str().to_string())],
        "protocol" => vec![Val::Text(c.protocol.as_str().to_string())],
        "state" => c
            .state
            .map(|s| Val::Text(s.as_str().to_string()))
            .into_iter()
            .collect(),
        "answered" => vec![Val::Num(if c.answered { 1.0 } else { 0.0 })],
        "status" => num(c.final_status.map(f64::from)),
        "response" => c
            .messages
            .iter()
            .filter_map(|&i| a.messages.get(i))
            .filter_map(|m| match &m.message.start {
                crate::model::StartLine::Response { code, .. } => Some(Val::Num(f64::from(*code))),
                crate::model::StartLine::Request { .. } => None,
            })
            .collect(),
        "end_reason" => c.end_reason.clone().map(Val::Text).into_iter().collect(),
        "duration" => num(c.duration_secs),
        "setup" => num(c.setup_time_secs),
        "start" => vec![Val::Text(crate::time::format_utc(
            c.start_ts_nanos,
            a.capture.ts_precision_digits,
        ))],
        "mos" => num(streams()
            .filter_map(|s| s.mos)
            .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.min(x))))),
        "loss" => num(fold_max(&mut streams().map(|s| s.lost_pct))),
        "jitter" => num(fold_max(&mut streams().filter_map(|s| s.max_jitter_ms))),
        "codec" => c.codecs.iter().cloned().map(Val::Text).collect(),
        "transport" => c
            .transports
            .iter()
            .map(|t| Val::Text(t.as_str().to_string()))
            .collect(),
        "user_agent" => c.user_agents.iter().cloned().map(Val::Text).collect(),
        "ip" => c
            .endpoints
            .iter()
            .map(|e| Val::Text(e.ip().to_string()))
            .collect(),
        "dtmf" => vec![Val::Text(c.dtmf.clone())],
        "findings" => vec![Val::Num(
            ctx.findings.get(c.call_id.as_str()).map_or(0, Vec::len) as f64,
        )],
        "rule" => ctx
            .findings
            .get(c.call_id.as_str())
            .map(|v| v.iter().map(|f| Val::Text(f.rule_id.clone())).collect())
            .unwrap_or_default(),
        "severity" => ctx
            .findings
            .get(c.call_id.as_str())
            .map(|v| {
                v.iter()
                    .map(|f| Val::Text(f.severity.as_str().to_string()))
                    .collect()
            })
            .unwrap_or_default(),
        "legs" => vec![Val::Num(
            crate::calls::legs::legs_of(&a.legs, &c.call_id)
                .len()
                .saturating_sub(1) as f64,
        )],
        "file" | "point" => {
            let Some(case) = &a.case else {
                return Vec::new();
            };
            let mut out: Vec<String> = case
                .call_files(c, &a.streams)
                .iter()
                .filter_map(|&n| {
                    if field == "file" {
                        let f = case.files.iter().find(|f| f.number == n)?;
                        Some(
                            f.file
                                .rsplit(['/', '\\'])
                                .next()
                                .unwrap_or(&f.file)
                                .to_string(),
                        )
                    } else {
                        Some(case.point_label(case.point_of(n)?).to_string())
                    }
                })
                .collect();
            out.sort();
            out.dedup();
            out.into_iter().map(Val::Text).collect()
        }
        _ => Vec::new(),
    }
}

fn eval(n: &Node, ctx: &Context<'_>, c: &Call) -> bool {
    match n {
        Node::And(x, y) => eval(x, ctx, c) && eval(y, ctx, c),
        Node::Or(x, y) => eval(x, ctx, c) || eval(y, ctx, c),
        Node::Not(x) => !eval(x, ctx, c),
        Node::Truthy(f) => values(f, ctx, c).iter().any(|v| match v {
            Val::Num(x) => *x != 0.0,
            Val::Text(t) => !t.is_empty(),
        }),
        Node::Cmp(f, op, lit, re) => {
            let vals = values(f, ctx, c);
            let one = |v: &Val| -> bool {
                match (op, re) {
                    (Op::Match | Op::NotMatch, Some(re)) => match v {
                        Val::Text(t) => re.is_match(t),
                        Val::Num(x) => re.is_match(&x.to_string()),
                    },
                    _ => compare(v, *op, lit),
                }
            };
            match op {
                Op::Ne | Op::NotMatch => {
                    let positive = match op {
                        Op::Ne => Op::Eq,
                        _ => Op::Match,
                    };
                    !vals.is_empty()
                        && !vals.iter().any(|v| match (positive, re) {
                            (Op::Match, Some(re)) => match v {
                                Val::Text(t) => re.is_match(t),
                                Val::Num(x) => re.is_match(&x.to_string()),
                            },
                            _ => compare(v, positive, lit),
                        })
                }
                _ => vals.iter().any(one),
            }
        }
    }
}

fn compare(v: &Val, op: Op, lit: &Lit) -> bool {
    use std::cmp::Ordering;
    let ord = match (v, lit) {
        (Val::Num(x), Lit::Num(y)) => x.partial_cmp(y),
        (Val::Num(x), Lit::Text(t)) => match t.to_ascii_lowercase().as_str() {
            "true" | "yes" => 1.0f64
                .partial_cmp(&if *x != 0.0 { 1.0 } else { 0.0 })
                .map(Ordering::reverse),
            "false" | "no" => 0.0f64
                .partial_cmp(&if *x != 0.0 { 1.0 } else { 0.0 })
                .map(Ordering::reverse),
            _ => t.parse::<f64>().ok().and_then(|y| x.partial_cmp(&y)),
        },
        (Val::Text(t), Lit::Num(y)) => match t.parse::<f64>() {
            Ok(x) => x.partial_cmp(y),
            Err(_) => Some(t.to_lowercase().cmp(&y.to_string())),
        },
        (Val::Text(t), Lit::Text(s)) => Some(t.to_lowercase().cmp(&s.to_lowercase())),
    };
    let Some(ord) = ord else { return false };
    match op {
        Op::Eq => ord == Ordering::Equal,
        Op::Ne => ord != Ordering::Equal,
        Op::Lt => ord == Ordering::Less,
        Op::Le => ord != Ordering::Greater,
        Op::Gt => ord == Ordering::Greater,
        Op::Ge => ord != Ordering::Less,
        Op::Match | Op::NotMatch => false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn syntax_errors_say_where() {
        assert_eq!(Filter::parse("mos <").unwrap_err().at, 5);
        assert!(
            Filter::parse("color == red")
                .unwrap_err()
                .message
                .contains("unknown field `color`")
        );
        assert!(
            Filter::parse("from ~ \"(\"")
                .unwrap_err()
                .message
                .contains("bad regular expression")
        );
        assert!(
            Filter::parse("(mos < 3")
                .unwrap_err()
                .message
                .contains("expected `)`")
        );
        assert!(
            Filter::parse("mos < 3 mos > 1")
                .unwrap_err()
                .message
                .contains("unexpected")
        );
        assert!(Filter::parse(&"(".repeat(100)).is_err());
        assert!(Filter::parse("").is_err());
        // Found by fuzzing: a lone `|` or `&` looped forever.
        assert!(
            Filter::parse("(state == reject | state == cancelled)")
                .unwrap_err()
                .message
                .contains("`|`")
        );
        assert!(
            Filter::parse("mos < 3 & answered")
                .unwrap_err()
                .message
                .contains("`&`")
        );
        assert!(
            Filter::parse("from ~ \"^\\+882\" && mos < 3 && file == \"eth1_0042.pcap\"").is_ok()
        );
    }
}
