//! `management-port`: management, database and provisioning services seen on the wire (Asterisk AMI/ARI, MySQL,
//! Telnet, TFTP/HTTP provisioning, SSH from outside the trusted networks...). One finding per service address.

use crate::findings::Facts;
use crate::findings::{Evidence, FindingText, Rule, Settings, in_networks, list};
use crate::model::{Analysis, Confidence, Finding, Severity};

pub struct ManagementPort;

/// Services whose traffic is readable (no encryption) — credentials and commands travel in clear.
fn cleartext(port: u16) -> bool {
    matches!(
        port,
        21 | 23 | 69 | 80 | 161 | 3306 | 5029 | 5038 | 5432 | 8080 | 8088 | 60024
    )
}

impl Rule for ManagementPort {
    fn id(&self) -> &'static str {
        "management-port"
    }

    fn evaluate(&self, a: &Analysis, s: &Settings, _f: &Facts<'_>, out: &mut Vec<Finding>) {
        for svc in &a.services {
            let outside: Vec<_> = svc
                .clients
                .iter()
                .filter(|c| !in_networks(**c, &s.trusted_networks))
                .collect();
            let port = svc.server.port();
            // SSH inside the trusted networks is how administrators are meant to work.
            if port == 22 && outside.is_empty() {
                continue;
            }
            let mut ev = Evidence::default();
            ev.frame(svc.first_frame, svc.first_ts_nanos)
                .frame(svc.last_frame, svc.last_ts_nanos)
                .source(svc.server.ip());
            for c in &svc.clients {
                ev.source(*c);
            }
            let details = format!(
                "{} ({}/{}) at {}: {} packets with {} peers ({}){}.",
                svc.service,
                svc.transport,
                port,
                svc.server,
                svc.packets,
                svc.clients.len(),
                list(&svc.clients, 5),
                if outside.is_empty() {
                    String::new()
                } else {
                    format!(", {} of them outside the trusted networks", outside.len())
                }
            );
            let severity = match (cleartext(port), outside.is_empty()) {
                (true, false) => Severity::High,
                (true, true) | (false, false) => Severity::Medium,
                (false, true) => Severity::Low,
            };
            out.push(ev.finish(
                FindingText {
                    rule_id: self.id(),
                    title: format!("{} reachable at {}", svc.service, svc.server),
                    details,
                    risk: "Management and database interfaces next to the voice network are how PBXs are taken \
                           over: AMI, ARI, MySQL, Telnet and provisioning servers carry credentials, dial plans and \
                           phone configurations (often with SIP passwords) — in clear on these ports.",
                    remediation: "Keep management interfaces off the voice and public networks (management VLAN, \
                                  VPN), require encrypted and authenticated access, and firewall these ports to \
                                  named administrator hosts.",
                    practice: "Isolate and encrypt management plane access.",
                },
                severity,
                Confidence::Medium,
            ));
        }
    }
}
