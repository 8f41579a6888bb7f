//! Legs of one call across a B2BUA: real calls through kamailio with topology hiding (a different Call-ID on each
//! side), captured on both sides (`tests/b2bua`, SIPp + kamailio + tcpdump). The truth pairs the Call-IDs by a
//! test-only header both legs carry (`X-Test-Seq`), which the linker does not read.

use std::collections::BTreeSet;
use std::path::PathBuf;

use earshot_core::AnalyzeOptions;
use earshot_core::case::{CaseOptions, Grouping, Source};
use earshot_core::model::{Analysis, LinkMethod, LinkStatus};

fn capture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("b2bua")
        .join("captures")
        .join(name)
}

fn truth(name: &str) -> BTreeSet<(String, String)> {
    let text = std::fs::read_to_string(capture(&format!("{name}.truth.csv"))).unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (a, b) = l.split_once(',').unwrap();
            (a.trim().to_string(), b.trim().to_string())
        })
        .collect()
}

fn case(name: &str) -> Analysis {
    let opts = CaseOptions {
        grouping: Grouping::PerFile,
        ..CaseOptions::default()
    };
    Source::from_inputs(
        &[
            capture(&format!("{name}-outer.pcap")),
            capture(&format!("{name}-inner.pcap")),
        ],
        opts,
    )
    .unwrap()
    .analyze(&AnalyzeOptions::default(), &mut |_| {})
    .unwrap()
}

/// (true links found, links that are not in the truth) for the links not rejected.
fn score(a: &Analysis, truth: &BTreeSet<(String, String)>) -> (usize, usize) {
    let mut tp = 0;
    let mut fp = 0;
    for l in &a.legs {
        if truth.contains(&(l.a.clone(), l.b.clone()))
            || truth.contains(&(l.b.clone(), l.a.clone()))
        {
            tp += 1;
        } else {
            fp += 1;
        }
    }
    (tp, fp)
}

#[test]
fn a_correlation_header_links_the_legs() {
    let a = case("hdr");
    let t = truth("hdr");
    assert_eq!(t.len(), 3);
    assert_eq!(a.calls.len(), 6);
    assert_eq!(score(&a, &t), (3, 0));
    for l in &a.legs {
        assert_eq!(l.method, LinkMethod::Header);
        assert_eq!(l.status, LinkStatus::Linked);
        assert_eq!(
            l.header.as_deref().map(str::to_ascii_lowercase).as_deref(),
            Some("x-orig-call-id")
        );
        // The outer leg's INVITE came first.
        assert!(
            t.contains(&(l.a.clone(), l.b.clone())),
            "{} -> {}",
            l.a,
            l.b
        );
    }
}

#[test]
fn without_a_header_the_legs_are_proposed_with_their_evidence() {
    let a = case("nohdr");
    let t = truth("nohdr");
    assert_eq!(score(&a, &t), (3, 0));
    for l in &a.legs {
        assert_eq!(l.method, LinkMethod::Score);
        assert_eq!(l.status, LinkStatus::Proposed);
        assert!(l.score >= earshot_core::calls::legs::PROPOSE_AT);
        assert!(
            l.evidence.iter().any(|e| e.contains("called number")),
            "{:?}",
            l.evidence
        );
    }
}

#[test]
fn concurrent_calls_are_not_linked_to_each_other() {
    // 60 calls, up to 40 at once, distinct numbers, no correlation header: precision and recall both 1.
    let a = case("busy");
    let t = truth("busy");
    assert_eq!(t.len(), 60);
    assert_eq!(a.calls.len(), 120);
    let (tp, fp) = score(&a, &t);
    eprintln!("busy: {tp} of {} legs linked, {fp} wrong links", t.len());
    assert_eq!(fp, 0, "no link between unrelated concurrent calls");
    assert_eq!(tp, 60);
}

#[test]
fn one_side_alone_has_no_legs_to_link() {
    for name in ["hdr-outer.pcap", "busy-inner.pcap"] {
        let a = earshot_core::analyze_file(&capture(name), &AnalyzeOptions::default(), &mut |_| {})
            .unwrap();
        assert!(a.legs.is_empty(), "{name}: {:?}", a.legs);
    }
}

#[test]
fn the_analysts_decisions_are_recorded() {
    let t = truth("nohdr");
    let (x, y) = t.iter().next().unwrap().clone();
    let (p, q) = t.iter().nth(1).unwrap().clone();
    let opts = AnalyzeOptions {
        leg_decisions: vec![(y.clone(), x.clone(), false), (p.clone(), q.clone(), true)],
        ..AnalyzeOptions::default()
    };
    let a = Source::from_inputs(
        &[capture("nohdr-outer.pcap"), capture("nohdr-inner.pcap")],
        CaseOptions::default(),
    )
    .unwrap()
    .analyze(&opts, &mut |_| {})
    .unwrap();
    let status = |a0: &str| a.legs.iter().find(|l| l.a == a0).map(|l| l.status);
    assert_eq!(status(&x), Some(LinkStatus::Rejected));
    assert_eq!(status(&p), Some(LinkStatus::Confirmed));
    // A rejected link no longer joins the legs.
    assert_eq!(
        earshot_core::calls::legs::legs_of(&a.legs, &x),
        vec![x.clone()]
    );
    assert_eq!(
        earshot_core::calls::legs::legs_of(&a.legs, &p),
        [p.clone(), q.clone()]
    );
}

#[test]
fn both_legs_in_one_capture_are_linked_the_same_way() {
    // The B2BUA's own capture holds both legs: mergecap (an independent tool) makes it from the two sides.
    let dir = std::env::temp_dir().join(format!("earshot-legs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let merged = dir.join("busy-both.pcap");
    let st = std::process::Command::new("mergecap")
        .arg("-F")
        .arg("pcap")
        .arg("-w")
        .arg(&merged)
        .arg(capture("busy-outer.pcap"))
        .arg(capture("busy-inner.pcap"))
        .status()
        .expect("mergecap (scripts/setup.sh installs it with tshark)");
    assert!(st.success());
    let a = earshot_core::analyze_file(&merged, &AnalyzeOptions::default(), &mut |_| {}).unwrap();
    assert_eq!(score(&a, &truth("busy")), (60, 0));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_finding_about_one_leg_is_about_the_whole_call_when_the_link_is_proven() {
    // A finding that names the outer leg (as toll fraud names the leg that dialled) also names the inner leg when
    // a header proves them one call; a mere proposal adds nothing.
    let a = case("hdr");
    let l = a.legs.first().unwrap();
    let template = a.findings.first().unwrap().clone();
    let finding = |id: &str| earshot_core::model::Finding {
        call_ids: vec![id.to_string()],
        details: "About one leg.".into(),
        ..template.clone()
    };
    let mut f = vec![finding(&l.a)];
    earshot_core::calls::legs::extend_findings(&a.legs, &mut f);
    assert_eq!(f[0].call_ids, [l.a.clone(), l.b.clone()]);
    assert!(
        f[0].details.contains(&format!("`{}`", l.b)),
        "{}",
        f[0].details
    );
    let p = case("nohdr");
    let pl = p.legs.first().unwrap();
    let mut g = vec![finding(&pl.a)];
    earshot_core::calls::legs::extend_findings(&p.legs, &mut g);
    assert_eq!(g[0].call_ids, vec![pl.a.clone()], "a proposal is not proof");
}

#[test]
fn a_b2bua_that_anchors_the_media_is_linked_by_the_audio_it_relays() {
    // kamailio with rtpengine (tests/b2bua/make-anchored.sh): each leg has its own SDP and RTP ports, 8 calls, up
    // to 4 at once; the payloads rtpengine relays are the evidence, besides numbers and timing.
    let a = case("anchored");
    let t = truth("anchored");
    assert_eq!(t.len(), 8);
    assert_eq!(a.calls.len(), 16);
    assert_eq!(score(&a, &t), (8, 0));
    for l in &a.legs {
        assert!(
            l.evidence
                .iter()
                .any(|e| e.contains("RTP payloads of the first leg's media reappear")),
            "{:?}",
            l.evidence
        );
        assert!(
            !l.evidence.iter().any(|e| e.contains("SDP offer")),
            "rtpengine rewrites the SDP: {:?}",
            l.evidence
        );
    }
}
