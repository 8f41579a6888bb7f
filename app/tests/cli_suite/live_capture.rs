//! Live capture acceptance: `earshot capture` on a real interface while sipp places a real SIP call with RTP, and
//! the missing-privilege message. Both need root (CI runs as root) and skip with a message otherwise; the first also
//! needs sipp (Debian `sip-tester`) and TShark. Counts are checked against TShark on the evidence file and against
//! `earshot analyze` of that file offline.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const EARSHOT: &str = env!("CARGO_BIN_EXE_earshot");
const G711_PCAP: &str = "/usr/share/sip-tester/g711a.pcap";

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

fn have(prog: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {prog}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A network namespace with `lo` up, deleted on drop (also when the test fails).
struct Netns {
    name: String,
}

impl Netns {
    fn create() -> Option<Netns> {
        let name = format!("earshot-test-{}", std::process::id());
        let ok = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return None;
        }
        let ns = Netns { name };
        let up = Command::new("ip")
            .args(["netns", "exec", &ns.name, "ip", "link", "set", "lo", "up"])
            .status()
            .is_ok_and(|s| s.success());
        up.then_some(ns)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// A command run inside the namespace (or directly when there is none).
fn cmd(ns: Option<&Netns>, prog: &str) -> Command {
    match ns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", &ns.name, prog]);
            c
        }
        None => Command::new(prog),
    }
}

/// Kills a child still running when the test ends early.
struct Reap(Option<Child>);

impl Drop for Reap {
    fn drop(&mut self) {
        if let Some(c) = &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn wait_timeout(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    loop {
        if let Ok(Some(s)) = child.try_wait() {
            return Some(s);
        }
        if start.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The UAC: INVITE with a PCMA offer, ACK, 7 s of G.711 A-law from sipp's sample pcap, BYE.
fn uac_scenario() -> String {
    format!(
        r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="earshot live capture UAC">
  <send retrans="500"><![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:alice@[local_ip]:[local_port]>;tag=[pid]SIPpTag09[call_number]
      To: [service] <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: sip:alice@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[local_ip_type] [local_ip]
      t=0 0
      m=audio [auto_media_port] RTP/AVP 8
      a=rtpmap:8 PCMA/8000
    ]]></send>
  <recv response="100" optional="true"></recv>
  <recv response="180" optional="true"></recv>
  <recv response="200" rtd="true" crlf="true"></recv>
  <send><![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:alice@[local_ip]:[local_port]>;tag=[pid]SIPpTag09[call_number]
      To: [service] <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: sip:alice@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Length: 0
    ]]></send>
  <nop><action><exec play_pcap_audio="{G711_PCAP}"/></action></nop>
  <pause milliseconds="8000"/>
  <send retrans="500"><![CDATA[
      BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:alice@[local_ip]:[local_port]>;tag=[pid]SIPpTag09[call_number]
      To: [service] <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Contact: sip:alice@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Length: 0
    ]]></send>
  <recv response="200" crlf="true"></recv>
</scenario>
"#
    )
}

fn tshark(args: &[&str]) -> String {
    let out = Command::new("tshark")
        .args(args)
        .output()
        .expect("tshark runs");
    assert!(
        out.status.success(),
        "tshark {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// (src, dst, ssrc) → packets of every RTP stream in an analysis JSON.
fn streams(j: &Value) -> BTreeMap<(String, String, u64), u64> {
    j["streams"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "rtp")
        .map(|s| {
            (
                (
                    s["src"].as_str().unwrap().to_string(),
                    s["dst"].as_str().unwrap().to_string(),
                    s["ssrc"].as_u64().unwrap(),
                ),
                s["packets"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// What a call looks like, for comparing live and offline.
fn calls(j: &Value) -> Vec<(String, String, String, bool, String, usize)> {
    j["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["call_id"].as_str().unwrap().to_string(),
                c["kind"].as_str().unwrap().to_string(),
                c["state"].as_str().unwrap_or("-").to_string(),
                c["answered"].as_bool().unwrap(),
                c["end_reason"].as_str().unwrap_or("-").to_string(),
                c["frames"].as_array().unwrap().len(),
            )
        })
        .collect()
}

fn dir_for(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("earshot-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn live_capture_of_a_sipp_call_matches_tshark_and_offline() {
    if !is_root() {
        eprintln!("SKIP live_capture_of_a_sipp_call: needs root (CI runs as root)");
        return;
    }
    if !have("sipp") || !have("tshark") || !Path::new(G711_PCAP).exists() {
        eprintln!(
            "SKIP live_capture_of_a_sipp_call: needs sipp (sip-tester, with {G711_PCAP}) and tshark"
        );
        return;
    }
    let ns = Netns::create();
    if ns.is_none() {
        eprintln!("note: no network namespace; capturing on the host's lo");
    }
    let ns = ns.as_ref();
    let dir = dir_for("live");
    let ev = dir.join("ev.pcapng");
    let live_json = dir.join("live.json");
    let scen = dir.join("uac.xml");
    std::fs::write(&scen, uac_scenario()).unwrap();

    // Only this test's traffic: SIP on 5070/5080, media on 6000-6199.
    let filter = "udp port 5070 or udp port 5080 or udp portrange 6000-6199";
    let mut earshot = Reap(Some(
        cmd(ns, EARSHOT)
            .env("EARSHOT_AUDIT_LOG", crate::audit_log())
            .args(["capture", "-i", "lo", "-f", filter, "-w"])
            .arg(&ev)
            .arg("--json")
            .arg(&live_json)
            .stdout(std::fs::File::create(dir.join("earshot.out")).unwrap())
            .stderr(std::fs::File::create(dir.join("earshot.err")).unwrap())
            .spawn()
            .expect("earshot starts"),
    ));
    let start = Instant::now();
    while !ev.exists() {
        if let Some(s) = earshot.0.as_mut().unwrap().try_wait().unwrap() {
            panic!(
                "earshot capture exited early ({s}): {}",
                std::fs::read_to_string(dir.join("earshot.err")).unwrap_or_default()
            );
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "capture did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));

    let sipp_log = |n: &str| std::fs::File::create(dir.join(n)).unwrap();
    let mut uas = Reap(Some(
        cmd(ns, "sipp")
            .args([
                "-sn",
                "uas",
                "-i",
                "127.0.0.1",
                "-p",
                "5070",
                "-mp",
                "6100",
                "-rtp_echo",
                "-m",
                "1",
                "-nostdin",
                "-timeout",
                "40s",
            ])
            .stdout(sipp_log("uas.out"))
            .stderr(sipp_log("uas.err"))
            .current_dir(&dir)
            .spawn()
            .expect("sipp UAS starts"),
    ));
    std::thread::sleep(Duration::from_millis(500));
    let uac = cmd(ns, "sipp")
        .args(["127.0.0.1:5070", "-sf"])
        .arg(&scen)
        .args([
            "-i",
            "127.0.0.1",
            "-p",
            "5080",
            "-mp",
            "6000",
            "-m",
            "1",
            "-nostdin",
            "-timeout",
            "40s",
        ])
        .stdout(sipp_log("uac.out"))
        .stderr(sipp_log("uac.err"))
        .current_dir(&dir)
        .status()
        .expect("sipp UAC runs");
    assert!(
        uac.success(),
        "sipp UAC failed ({uac}): {}",
        std::fs::read_to_string(dir.join("uac.err")).unwrap_or_default()
    );
    let uas_status = wait_timeout(uas.0.as_mut().unwrap(), Duration::from_secs(20));
    assert!(
        uas_status.is_some_and(|s| s.success()),
        "sipp UAS: {uas_status:?}"
    );
    uas.0 = None;
    std::thread::sleep(Duration::from_millis(800));

    // Ctrl+C: the capture flushes, finishes and writes its JSON.
    let pid = earshot.0.as_ref().unwrap().id();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
    let status = wait_timeout(earshot.0.as_mut().unwrap(), Duration::from_secs(30))
        .expect("earshot stops on SIGINT");
    earshot.0 = None;
    let out = std::fs::read_to_string(dir.join("earshot.out")).unwrap();
    let err = std::fs::read_to_string(dir.join("earshot.err")).unwrap();
    assert!(
        matches!(status.code(), Some(0 | 1)),
        "earshot capture exit {status}: {err}"
    );
    println!("{out}");
    println!("{err}");

    let live = read_json(&live_json);
    let ev_s = ev.to_str().unwrap();
    // Every frame of the evidence was analysed: TShark's frame count equals the live packet count.
    let frames = tshark(&["-r", ev_s, "-T", "fields", "-e", "frame.number"])
        .lines()
        .count() as u64;
    assert!(frames > 400, "only {frames} frames captured");
    assert_eq!(live["summary"]["packets"].as_u64(), Some(frames));
    assert_eq!(live["capture"]["format"], "pcapng");
    assert_eq!(live["capture"]["link_types"][0], "ethernet");

    // The call: one INVITE dialog, answered, ended by the caller's BYE.
    assert_eq!(live["summary"]["invite_dialogs"], 1);
    assert_eq!(live["summary"]["answered_calls"], 1);
    let call = &live["calls"].as_array().unwrap()[0];
    assert_eq!(call["kind"], "call");
    assert_eq!(call["state"], "completed");
    assert_eq!(call["end_reason"], "bye");
    assert_eq!(call["ended_by"], "caller");
    // SIP messages: TShark's count on the evidence (INVITE, 100?, 180?, 200, ACK, BYE, 200).
    let sip = tshark(&[
        "-r",
        ev_s,
        "-Y",
        "sip",
        "-T",
        "fields",
        "-e",
        "frame.number",
    ])
    .lines()
    .count() as u64;
    assert_eq!(live["summary"]["sip_messages"].as_u64(), Some(sip));
    let call_ids = tshark(&["-r", ev_s, "-Y", "sip", "-T", "fields", "-e", "sip.Call-ID"]);
    assert!(
        call_ids
            .lines()
            .all(|l| l == call["call_id"].as_str().unwrap())
    );
    let methods = tshark(&[
        "-r",
        ev_s,
        "-Y",
        "sip.Method",
        "-T",
        "fields",
        "-e",
        "sip.Method",
    ]);
    for m in ["INVITE", "ACK", "BYE"] {
        assert!(methods.lines().any(|l| l == m), "{m} missing: {methods}");
    }

    // RTP: per direction (src, dst, SSRC) the packet counts TShark finds with its heuristic.
    let rtp = tshark(&[
        "-r",
        ev_s,
        "-o",
        "rtp.heuristic_rtp:TRUE",
        "-Y",
        "rtp",
        "-T",
        "fields",
        "-e",
        "ip.src",
        "-e",
        "udp.srcport",
        "-e",
        "ip.dst",
        "-e",
        "udp.dstport",
        "-e",
        "rtp.ssrc",
    ]);
    let mut want: BTreeMap<(String, String, u64), u64> = BTreeMap::new();
    for l in rtp.lines() {
        let f: Vec<&str> = l.split('\t').collect();
        let ssrc = u64::from_str_radix(f[4].trim_start_matches("0x"), 16).unwrap();
        *want
            .entry((
                format!("{}:{}", f[0], f[1]),
                format!("{}:{}", f[2], f[3]),
                ssrc,
            ))
            .or_default() += 1;
    }
    assert_eq!(
        want.len(),
        2,
        "two RTP directions (sent and echoed): {want:?}"
    );
    assert!(want.values().all(|&n| n >= 200), "{want:?}");
    assert_eq!(streams(&live), want);
    for s in live["streams"].as_array().unwrap() {
        assert_eq!(
            s["call_id"], call["call_id"],
            "stream bound to the call by SDP"
        );
        assert_eq!(s["codec"], "PCMA");
    }

    // The evidence re-analysed offline gives the same calls, streams and counts.
    let off_json = dir.join("offline.json");
    let off = crate::earshot()
        .args(["analyze", "-q", "--json"])
        .arg(&off_json)
        .arg(&ev)
        .output()
        .unwrap();
    assert!(matches!(off.status.code(), Some(0 | 1)), "{off:?}");
    let offline = read_json(&off_json);
    assert_eq!(calls(&offline), calls(&live));
    assert_eq!(streams(&offline), streams(&live));
    for k in [
        "packets",
        "sip_messages",
        "invite_dialogs",
        "answered_calls",
        "rtp_streams",
    ] {
        assert_eq!(offline["summary"][k], live["summary"][k], "summary.{k}");
    }
    // The evidence's hash in the live summary is the file's.
    let sha = Command::new("sha256sum").arg(&ev).output().unwrap();
    let sha = String::from_utf8_lossy(&sha.stdout);
    let sha = sha.split_whitespace().next().unwrap();
    assert_eq!(live["capture"]["sha256"], sha);
    assert_eq!(offline["capture"]["sha256"], sha);
    // The SHB names the tool; the IDB the interface and filter (TShark reads them back).
    let info = Command::new("capinfos").arg(&ev).output();
    if let Ok(info) = info {
        let info = String::from_utf8_lossy(&info.stdout);
        assert!(info.contains("Earshot"), "{info}");
        assert!(info.contains(filter), "{info}");
    }
    let drops: u64 = err
        .lines()
        .chain(out.lines())
        .filter(|l| l.starts_with("Capture "))
        .count() as u64;
    assert_eq!(drops, 1, "the summary's capture line: {out}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn unprivileged(args: &[&str]) -> Option<Output> {
    // setpriv drops to nobody with no capabilities; su is the fallback.
    if have("setpriv") {
        return Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "--inh-caps=-all",
            ])
            .arg(EARSHOT)
            .args(args)
            .output()
            .ok();
    }
    let line = std::iter::once(EARSHOT)
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ");
    Command::new("su")
        .args(["nobody", "-s", "/bin/sh", "-c", &line])
        .output()
        .ok()
}

#[test]
fn capture_without_privilege_says_what_is_missing() {
    if !is_root() {
        eprintln!("SKIP capture_without_privilege: needs root to switch to an unprivileged user");
        return;
    }
    let target = "/tmp/earshot-unprivileged-test.pcapng";
    let _ = std::fs::remove_file(target);
    let Some(out) = unprivileged(&["capture", "-i", "lo", "-w", target]) else {
        eprintln!("SKIP capture_without_privilege: neither setpriv nor su works here");
        return;
    };
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(err.contains("CAP_NET_RAW"), "{err}");
    assert!(err.contains("CAP_NET_ADMIN"), "{err}");
    assert!(err.contains("root"), "{err}");
    assert!(
        err.contains("sudo setcap cap_net_raw,cap_net_admin=eip $(command -v earshot)"),
        "{err}"
    );
    assert!(
        !err.contains("Operation not permitted"),
        "no raw libpcap error: {err}"
    );
    assert!(
        !Path::new(target).exists(),
        "no evidence file without a capture"
    );
}
