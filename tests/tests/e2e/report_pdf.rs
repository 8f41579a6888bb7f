//! The PDF report read back with poppler's `pdftotext` (an independent reader): the evidence SHA-256 (computed
//! here with sha2), every finding title and the call counts (checked against TShark) are in the text; tables
//! continue over pages; attacker text with typst markup is shown literally; two renders are byte-identical; a
//! 100 000-row call table is capped and renders quickly.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use earshot_core::model::{Analysis, NameAddr};
use earshot_core::report::ReportMeta;
use earshot_core::report::pdf::{MAX_CALL_ROWS, render_pdf};
use earshot_core::{AnalyzeOptions, analyze_file};
use earshot_e2e::truth::Truth;
use earshot_e2e::{captures_dir, samples_dir};
use sha2::{Digest, Sha256};

fn have_poppler() -> bool {
    let ok = Command::new("pdftotext").arg("-v").output().is_ok();
    if !ok {
        eprintln!("SKIP: pdftotext (poppler-utils) is not installed; run scripts/setup.sh");
    }
    ok
}

fn analyse(path: &Path) -> Analysis {
    analyze_file(path, &AnalyzeOptions::default(), &mut |_| {}).unwrap()
}

fn meta() -> ReportMeta {
    ReportMeta {
        case_id: Some("CASE-2026-0042".into()),
        analyst: Some("J. Doe".into()),
        notes: None,
        generated_at_nanos: 1_795_000_000_123_456_789,
        settings_toml: "[brute_force]\nthreshold = 50\n".into(),
        redacted: false,
        selected_calls: vec![],
        exports: vec![],
    }
}

fn out_dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report_pdf");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Write the PDF and read it back: (text with whitespace runs collapsed to one space, page count).
fn pdf_text(pdf: &[u8], name: &str) -> (String, usize) {
    let path = out_dir().join(format!("{name}.pdf"));
    std::fs::write(&path, pdf).unwrap();
    let out = Command::new("pdftotext")
        .arg("-layout")
        .arg(&path)
        .arg("-")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pdftotext failed on {}",
        path.display()
    );
    let raw = String::from_utf8(out.stdout).unwrap();
    let pages = raw.matches('\u{c}').count();
    // Long unbroken runs (Call-IDs, file names) carry zero-width spaces as line-break opportunities.
    let raw = raw.replace('\u{200b}', "");
    (raw.split_whitespace().collect::<Vec<_>>().join(" "), pages)
}

fn sha256_hex(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Distinct Call-IDs and Call-IDs with an INVITE request, as TShark counts them (for captures without a truth
/// file).
fn tshark_call_counts(path: &Path) -> (u64, u64) {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(path)
        .args([
            "-Y",
            "sip",
            "-T",
            "fields",
            "-e",
            "sip.Call-ID",
            "-e",
            "sip.Method",
        ])
        .output()
        .expect("tshark");
    let mut all = BTreeSet::new();
    let mut invites = BTreeSet::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut f = line.split('\t');
        let id = f.next().unwrap_or("").to_string();
        if id.is_empty() {
            continue;
        }
        if f.next() == Some("INVITE") {
            invites.insert(id.clone());
        }
        all.insert(id);
    }
    (all.len() as u64, invites.len() as u64)
}

/// Render a capture's report and check it against independent figures.
/// `call_ids_known_diff`: how many more Call-IDs the analysis has than TShark (a known, reported difference).
fn check_capture(path: &Path, truth: (u64, u64), min_pages: usize) -> (Analysis, String) {
    let a = analyse(path);
    let name = path.file_name().unwrap().to_str().unwrap();
    assert_eq!(
        (a.calls.len() as u64, a.summary.invite_dialogs),
        truth,
        "{name}: Call-IDs and INVITE dialogs vs TShark"
    );
    let t0 = Instant::now();
    let pdf = render_pdf(&a, &meta()).unwrap();
    eprintln!(
        "{name}: {} calls, {} findings -> {} bytes PDF in {:.2} s",
        a.calls.len(),
        a.findings.len(),
        pdf.len(),
        t0.elapsed().as_secs_f64()
    );
    assert!(pdf.starts_with(b"%PDF-"));
    let (text, pages) = pdf_text(&pdf, name);
    let sha = sha256_hex(path);
    assert!(
        text.contains(&sha),
        "{name}: SHA-256 {sha} not in the PDF text"
    );
    assert!(text.contains("CASE-2026-0042") && text.contains("J. Doe"));
    assert!(text.contains(name), "{name}: evidence file name missing");
    for f in &a.findings {
        assert!(
            text.contains(&f.title),
            "{name}: finding title {:?} not in the PDF text",
            f.title
        );
    }
    let calls_line = format!(
        "{} Call-IDs ({} calls, i.e. INVITE dialogs",
        truth.0, truth.1
    );
    assert!(text.contains(&calls_line), "{name}: {calls_line:?} missing");
    assert!(
        text.contains(&format!("Calls (INVITE dialogs) {}", truth.1)),
        "{name}: summary call count missing"
    );
    assert!(
        pages >= min_pages,
        "{name}: {pages} pages, expected at least {min_pages}"
    );
    (a, text)
}

/// Distinct SIP Call-IDs TShark finds in `path` (with extra dissection options), `None` without tshark.
fn tshark_call_ids(path: &Path, opts: &[&str]) -> Option<u64> {
    let out = std::process::Command::new("tshark")
        .arg("-r")
        .arg(path)
        .args(opts)
        .args(["-Y", "sip", "-T", "fields", "-e", "sip.Call-ID"])
        .output()
        .ok()?;
    assert!(out.status.success(), "tshark failed on {path:?}");
    let ids: std::collections::BTreeSet<&str> = std::str::from_utf8(&out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .collect();
    Some(ids.len() as u64)
}

#[test]
fn dtmf_call_report() {
    if !have_poppler() {
        return;
    }
    let path = captures_dir().join("SIP_DTMF2.cap");
    let t = Truth::for_capture(&path);
    let (a, text) = check_capture(&path, (t.call_ids, t.invite_dialogs), 3);
    // Capture span in UTC with microsecond precision, per capinfos (truth file).
    assert!(text.contains("2005-09-09T12:02:25.330945Z"));
    assert!(text.contains("2005-09-09T12:04:05.367724Z"));
    // The DTMF digits RFC 2833 carried (MANIFEST: 6789123) are on the call's page.
    assert!(text.contains("6789123"));
    assert!(a.streams.iter().any(|s| !s.series.is_empty()));
}

#[test]
fn brute_force_report_spans_pages() {
    if !have_poppler() {
        return;
    }
    let path = captures_dir().join("SIP-Bruteforce-Single-IP.pcap");
    let t = Truth::for_capture(&path);
    // 478 Call-IDs: the call table alone continues over several pages. The truth file's 477 is TShark's default
    // dissection, which takes the attacker's source port 1293 for PacketCable (PKTC) and misses the REGISTERs of
    // frames 1974-1979; told that port is SIP, TShark finds the 478th Call-ID too.
    let Some(call_ids) = tshark_call_ids(&path, &["-d", "udp.port==1293,sip"]) else {
        eprintln!("SKIPPED: tshark is not installed");
        return;
    };
    assert_eq!(call_ids, t.call_ids + 1);
    let (_, text) = check_capture(&path, (call_ids, t.invite_dialogs), 8);
    // The header row is repeated on continued pages.
    assert!(text.matches("Start (UTC) From To State").count() >= 5);
}

#[test]
fn sipvicious_report() {
    if !have_poppler() {
        return;
    }
    let path = captures_dir().join("BadUserAgent-sipvicious.pcap");
    let t = Truth::for_capture(&path);
    let (_, text) = check_capture(&path, (t.call_ids, t.invite_dialogs), 2);
    assert!(text.contains("friendly-scanner"));
}

#[test]
fn brute_force_success_sample_report() {
    if !have_poppler() {
        return;
    }
    let path = samples_dir().join("brute-force-success/brute-force-success.pcap");
    let truth = tshark_call_counts(&path);
    let (a, text) = check_capture(&path, truth, 3);
    // The answered call has findings: it gets its own section with the stream-less note.
    let call = a.calls.iter().find(|c| c.kind.is_call()).unwrap();
    assert!(call.streams.is_empty());
    assert!(text.contains("Calls in detail"));
    assert!(text.contains("No media stream was seen for this call."));
}

#[test]
fn hostile_text_is_shown_literally() {
    if !have_poppler() {
        return;
    }
    let mut a = analyse(&captures_dir().join("SIP_DTMF2.cap"));
    let evil_name = r#"#panic("x") ] $x^2$ *bold* _it_ <script>alert(1)</script> @ref \ #{ // "#;
    let evil_id = r#"#panic("cid")@[evil]"#;
    let evil_ua = r#"UA = ]]) #set page(width: 1cm) `raw` {"#;
    let call = a.calls.iter_mut().find(|c| c.kind.is_call()).unwrap();
    call.call_id = evil_id.into();
    call.from = Some(NameAddr {
        display_name: Some(evil_name.into()),
        uri: "sip:x@y".into(),
        user: Some("x".into()),
        host: Some("y".into()),
        tag: None,
    });
    call.user_agents = vec![evil_ua.into()];
    a.findings[0].details = format!("details {evil_name}");
    a.findings[0].title = "Title with #strong[markup] and $math$".into();
    let mut m = meta();
    m.selected_calls = vec![evil_id.into()];
    m.notes = Some("= not a heading\n#panic(\"notes\")".into());
    let pdf = render_pdf(&a, &m).unwrap();
    let (text, _) = pdf_text(&pdf, "hostile");
    for s in [
        r#"#panic("x")"#,
        "$x^2$",
        "*bold*",
        "_it_",
        "<script>alert(1)</script>",
        "@ref",
        r#"#panic("cid")@[evil]"#,
        "#set page(width: 1cm) `raw` {",
        "Title with #strong[markup] and $math$",
        "= not a heading",
        r#"#panic("notes")"#,
    ] {
        assert!(text.contains(s), "{s:?} not shown literally");
    }
}

#[test]
fn same_input_gives_identical_bytes() {
    let a = analyse(&captures_dir().join("SIP_DTMF2.cap"));
    let m = meta();
    let one = render_pdf(&a, &m).unwrap();
    let two = render_pdf(&a, &m).unwrap();
    assert!(one == two, "two renders differ");
    let mut later = m.clone();
    later.generated_at_nanos += 86_400_000_000_000;
    assert!(
        render_pdf(&a, &later).unwrap() != one,
        "the generation time is in the PDF"
    );
}

#[test]
fn huge_call_table_is_capped() {
    if !have_poppler() {
        return;
    }
    let mut a = analyse(&captures_dir().join("SIP-Bruteforce-Single-IP.pcap"));
    let template = a.calls.clone();
    let mut n = 0usize;
    while a.calls.len() < 100_000 {
        let mut c = template[n % template.len()].clone();
        c.call_id = format!("clone-{n}-{}", c.call_id);
        a.calls.push(c);
        n += 1;
    }
    let t0 = Instant::now();
    let pdf = render_pdf(&a, &meta()).unwrap();
    let secs = t0.elapsed().as_secs_f64();
    eprintln!("100 000 Call-IDs: {} bytes PDF in {secs:.2} s", pdf.len());
    let (text, pages) = pdf_text(&pdf, "huge");
    assert!(text.contains(&format!(
        "The table lists the first {MAX_CALL_ROWS} of the 100000 Call-IDs; the complete list is in the CSV export (calls.csv)."
    )));
    assert!(pages > 20);
    assert!(secs < 120.0, "rendering took {secs:.1} s");
}

/// STIR/SHAKEN in the PDF: the summary counts the verdicts, each call page says attestation, verdict and signer,
/// and why when it is not valid (the labels of `sample-captures/stir-shaken/calls.toml`).
#[test]
fn stir_shaken_verdicts_in_the_report() {
    if !have_poppler() {
        return;
    }
    let dir = samples_dir().join("stir-shaken");
    let store = earshot_core::identity::CertStore::load(
        Some(&dir.join("certs")),
        Some(&dir.join("sti-pa-roots.pem")),
    )
    .unwrap();
    let opts = AnalyzeOptions {
        identity: Some(std::sync::Arc::new(store)),
        ..AnalyzeOptions::default()
    };
    let a = analyze_file(&dir.join("stir-shaken.pcap"), &opts, &mut |_| {}).unwrap();
    let (text, _) = pdf_text(&render_pdf(&a, &meta()).unwrap(), "stir-shaken");
    assert!(
        text.contains("Calls with caller identity (STIR/SHAKEN) 17: 1 invalid-signature, 2 claims-mismatch, 2 replayed, 1 stale, 1 malformed, 1 certificate-expired, 1 certificate-untrusted, 1 certificate-unknown, 7 valid"),
        "{text}"
    );
    assert!(text.contains(
        "Caller identity (STIR/SHAKEN) attestation A · invalid-signature · signed by CN=SHAKEN 1234 (SPC 1234) · frame 29 Identity check the ES256 signature does not verify with the key of `CN=SHAKEN 1234`"
    ));
    assert!(
        text.contains("attestation C · valid · signed by CN=SHAKEN 1234 (SPC 1234) · frame 15")
    );
    assert!(text.contains("Caller identity (STIR/SHAKEN) not signed (no Identity header)"));
}
