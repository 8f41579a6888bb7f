//! Whether this process may capture, and what to tell the user when it may not. On Linux capturing needs
//! CAP_NET_RAW (packet sockets) and CAP_NET_ADMIN (promiscuous mode, some interfaces); root has both. The check reads
//! the effective set from `/proc/self/status` before libpcap is asked, and libpcap's own permission errors are
//! recognised too, so the user reads what is missing and how to grant it instead of "socket: Operation not
//! permitted".

const CAP_NET_ADMIN: u32 = 12;
const CAP_NET_RAW: u32 = 13;

/// The capture capabilities this process holds, when the platform says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptureCaps {
    pub net_raw: bool,
    pub net_admin: bool,
}

/// Parses the `CapEff:` line of `/proc/<pid>/status`.
pub fn caps_from_status(status: &str) -> Option<CaptureCaps> {
    let line = status.lines().find_map(|l| l.strip_prefix("CapEff:"))?;
    let bits = u64::from_str_radix(line.trim(), 16).ok()?;
    Some(CaptureCaps {
        net_raw: bits & (1 << CAP_NET_RAW) != 0,
        net_admin: bits & (1 << CAP_NET_ADMIN) != 0,
    })
}

/// This process's capture capabilities (None where `/proc` does not say: other platforms, no procfs).
pub fn current_caps() -> Option<CaptureCaps> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    caps_from_status(&status)
}

/// The message for a process that may not capture on `interface`. `detail` is what was observed.
pub fn permission_message(interface: &str, detail: &str) -> String {
    format!(
        "no permission to capture on {iface}: {detail}.\n\
         Live capture needs root, or the capabilities CAP_NET_RAW and CAP_NET_ADMIN.\n\
         Grant them to the binary once (then run it as your user):\n\
         \x20   sudo setcap cap_net_raw,cap_net_admin=eip $(command -v earshot)\n\
         or run the capture with sudo.",
        iface = crate::live::safe(interface),
    )
}

/// Checks up front; `Err(message)` when the capabilities are visibly missing.
pub fn check() -> Result<(), String> {
    match current_caps() {
        Some(c) if !c.net_raw => Err(format!(
            "this process lacks CAP_NET_RAW{}",
            if c.net_admin {
                ""
            } else {
                " and CAP_NET_ADMIN"
            }
        )),
        _ => Ok(()),
    }
}

/// Whether a libpcap error text is a permission failure.
pub fn is_permission_error(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("permission") || t.contains("operation not permitted")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_eff_bits() {
        // Root's usual full set, and an unprivileged process.
        let root = "Name:\tx\nCapInh:\t0000000000000000\nCapEff:\t000001ffffffffff\n";
        assert_eq!(
            caps_from_status(root),
            Some(CaptureCaps {
                net_raw: true,
                net_admin: true
            })
        );
        let none = "CapEff:\t0000000000000000\n";
        assert_eq!(
            caps_from_status(none),
            Some(CaptureCaps {
                net_raw: false,
                net_admin: false
            })
        );
        // setcap cap_net_raw only: bit 13 = 0x2000.
        let raw_only = "CapEff:\t0000000000002000\n";
        assert_eq!(
            caps_from_status(raw_only),
            Some(CaptureCaps {
                net_raw: true,
                net_admin: false
            })
        );
        assert_eq!(caps_from_status("CapEff:\tzz\n"), None);
        assert!(is_permission_error(
            "lo: You don't have permission to perform this capture on that device (socket: Operation not permitted)"
        ));
        assert!(!is_permission_error("No such device exists"));
    }
}
