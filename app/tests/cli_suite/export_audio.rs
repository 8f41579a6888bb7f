//! `earshot export-audio` from the command line: file naming (sanitised Call-IDs, per-stream names), SRTP keys by
//! hand, exit codes, and WAVs that an independent reader (symphonia) reads back.

use std::path::PathBuf;

use crate::{earshot, sha256sum};

use earshot_e2e::{captures_dir, read_wav, samples_dir};

fn tmp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("earshot-cli-audio-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn call_export_defaults_to_a_safe_file_named_after_the_call_id() {
    let dir = tmp_dir("default-name");
    let out = earshot()
        .current_dir(&dir)
        .arg("export-audio")
        .arg(samples_dir().join("clean-call/clean-call.pcap"))
        .args(["--call", "gen-0@example.org"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // `@` is not kept in file names; the manifest comes beside the WAV.
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "gen-0_example.org.wav\ngen-0_example.org.wav.manifest.json"
    );
    let m: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join("gen-0_example.org.wav.manifest.json")).unwrap(),
    )
    .unwrap();
    let capture = samples_dir().join("clean-call/clean-call.pcap");
    assert_eq!(m["evidence"]["sha256"], sha256sum(&capture));
    assert_eq!(m["files"][0]["kind"], "wav");
    assert_eq!(
        m["files"][0]["sha256"],
        sha256sum(&dir.join("gen-0_example.org.wav"))
    );
    assert_eq!(
        m["settings"]["crack_passwords"], false,
        "export-audio does not crack"
    );
    let (rate, ch, chans) = read_wav(&dir.join("gen-0_example.org.wav"));
    assert_eq!((rate, ch), (8000, 2));
    assert_eq!(chans[0].len(), 80_080);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("stream 0: caller")
            && err.contains("decoded PCMU (500 of 500 packets, 0 lost"),
        "{err}"
    );
}

#[test]
fn per_stream_export_writes_one_mono_file_per_stream() {
    let dir = tmp_dir("per-stream");
    let out = earshot()
        .arg("export-audio")
        .arg(samples_dir().join("clean-call/clean-call.pcap"))
        .args([
            "--call",
            "gen-0@example.org",
            "--per-stream",
            "--timing",
            "rtp",
            "-o",
        ])
        .arg(dir.join("call.wav"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            "call-s0-10000000.wav",
            "call-s1-20000000.wav",
            "call.wav.manifest.json"
        ]
    );
    names.pop();
    // Each file is aligned on the call's timeline (they line up in an editor): the callee's stream starts
    // 10 ms = 80 samples after the caller's.
    for (n, len) in names.iter().zip([80_000, 80_080]) {
        let (rate, ch, chans) = read_wav(&dir.join(n));
        assert_eq!((rate, ch, chans[0].len()), (8000, 1, len), "{n}");
    }
}

#[test]
fn srtp_key_by_hand_decrypts_marseillaise() {
    let dir = tmp_dir("marseillaise");
    let file = captures_dir().join("marseillaise-srtp.pcap");
    // Without the key: nothing to export, and it says why.
    let out = earshot()
        .arg("export-audio")
        .arg(&file)
        .args(["--stream", "0", "-o"])
        .arg(dir.join("m.wav"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("encrypted (SRTP): no key in the capture"),
        "{err}"
    );
    // With it.
    let out = earshot()
        .arg("export-audio")
        .arg(&file)
        .args([
            "--stream",
            "0",
            "--srtp-key",
            "*:AES_CM_128_HMAC_SHA1_80:aSBrbm93IGFsbCB5b3VyIGxpdHRsZSBzZWNyZXRz",
            "-o",
        ])
        .arg(dir.join("m.wav"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("11888 verified, 0 authentication failures"),
        "{err}"
    );
    let (rate, ch, chans) = read_wav(&dir.join("m.wav"));
    assert_eq!((rate, ch), (8000, 2));
    assert!(chans[0].len() > 11_888 * 160 - 160, "{}", chans[0].len());
}

#[test]
fn bad_requests_fail_clearly() {
    let file = samples_dir().join("clean-call/clean-call.pcap");
    let out = earshot()
        .arg("export-audio")
        .arg(&file)
        .args(["--call", "no-such-call"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no call with Call-ID `no-such-call`"));
    let out = earshot()
        .arg("export-audio")
        .arg(&file)
        .args([
            "--stream",
            "0",
            "--srtp-key",
            "zz:AES_CM_128_HMAC_SHA1_80:abc",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad SSRC `zz`"));
    let out = earshot()
        .arg("export-audio")
        .arg(&file)
        .args(["--stream", "0", "--timing", "jitter:abc"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad jitter buffer size"));
}

/// `earshot play` with ALSA pointed (through HOME's .asoundrc) at a null device, and at a card that does not exist.
#[test]
fn play_uses_the_audio_output_or_says_there_is_none() {
    let file = samples_dir().join("clean-call/clean-call.pcap");
    let null_home = tmp_dir("alsa-null");
    std::fs::write(null_home.join(".asoundrc"), "pcm.!default { type null }\n").unwrap();
    let out = earshot()
        .env("HOME", &null_home)
        .env("XDG_CONFIG_HOME", &null_home)
        .arg("play")
        .arg(&file)
        .args(["--call", "gen-0@example.org", "--seconds", "1"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let none_home = tmp_dir("alsa-none");
    std::fs::write(
        none_home.join(".asoundrc"),
        "pcm.!default { type hw card 99 }\n",
    )
    .unwrap();
    let out = earshot()
        .env("HOME", &none_home)
        .env("XDG_CONFIG_HOME", &none_home)
        .arg("play")
        .arg(&file)
        .args(["--call", "gen-0@example.org"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("earshot: no audio output device"));
}

#[test]
fn a_call_cut_across_rotated_files_exports_the_same_audio_as_the_whole_capture() {
    // editcap cuts the call's RTP into four files; the case decodes the call whole: the same samples (read back
    // by symphonia) as the single capture.
    let dir = tmp_dir("case");
    let whole = samples_dir().join("clean-call/clean-call.pcap");
    let parts_dir = dir.join("parts");
    std::fs::create_dir_all(&parts_dir).unwrap();
    let st = std::process::Command::new("editcap")
        .args(["-c", "300"])
        .arg(&whole)
        .arg(parts_dir.join("tap.pcap"))
        .status()
        .expect("editcap (scripts/setup.sh installs it)");
    assert!(st.success());
    let export = |input: &std::path::Path, out: &str| {
        let o = earshot()
            .arg("export-audio")
            .arg(input)
            .args(["--call", "gen-0@example.org", "-o"])
            .arg(dir.join(out))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        read_wav(&dir.join(out))
    };
    let a = export(&whole, "whole.wav");
    let b = export(&parts_dir, "case.wav");
    assert!(std::fs::read_dir(&parts_dir).unwrap().count() >= 3);
    assert_eq!((a.0, a.1), (b.0, b.1));
    assert_eq!(a.2[0].len(), 80_080);
    assert_eq!(
        a.2, b.2,
        "the same samples from the case as from the whole capture"
    );
}
