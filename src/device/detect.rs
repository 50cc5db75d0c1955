//! `platform = "autodetect"`: which built-in platform a device runs, told at open from its first
//! prompt and, when several platforms' prompts look like it, from the output of the commands
//! their `[detect]` tables name (netmiko's SSHDetect idea).
//!
//! Candidates are tried from the highest priority down, preferring at equal priority those whose
//! commands were already sent, so a Cisco-like prompt costs one `show version` and a command
//! meant for another kind of CLI is sent only when the likelier platforms did not match.

use std::time::Instant;

use super::commands::clean;
use super::{Conn, Device, Platform};
use crate::error::{Error, Result};

/// The platform detected and what showed it, for the log and for callers who ask.
pub(super) struct Detected {
    pub name: String,
    /// "prompt "R1>" matched only cisco_ios" or "'show version' matched '^Cisco IOS Software'".
    pub evidence: String,
}

/// The built-in platforms whose prompt rule matches a prompt line.
pub(super) fn candidates(prompt: &[u8]) -> Vec<Platform> {
    Platform::builtins().into_iter().filter(|p| p.prompt.is_match(prompt)).collect()
}

/// The first line with text of an output, shortened, for messages.
fn first_line(text: &str) -> String {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    let short: String = line.chars().take(100).collect();
    format!("{short:?}")
}

impl Device {
    /// Sends the candidates' identification commands (each at most once) until one candidate's
    /// patterns match; `self.platform` is the [`Platform::detecting`] placeholder of the
    /// candidates, so their prompts end the reads and their paging markers are answered.
    pub(super) fn identify(&self, conn: &mut Conn, deadline: Instant, candidates: &[Platform]) -> Result<Detected> {
        let prompt = String::from_utf8_lossy(conn.prompt.trim_ascii()).into_owned();
        if let [only] = candidates {
            return Ok(Detected {
                name: only.name.clone(),
                evidence: format!("prompt {prompt:?} matches no other platform's prompt rule"),
            });
        }
        let mut outputs: Vec<(String, String)> = Vec::new();
        let mut left: Vec<&Platform> = candidates.iter().filter(|p| !p.detect.commands.is_empty()).collect();
        while !left.is_empty() {
            let sent = |p: &Platform, outputs: &[(String, String)]| {
                p.detect.commands.iter().all(|c| outputs.iter().any(|(s, _)| s == c))
            };
            // Highest priority first; at equal priority, one whose commands were sent already;
            // then the first by name (the candidates are in name order).
            let (i, _) = left
                .iter()
                .enumerate()
                .max_by_key(|(i, p)| (p.detect.priority, sent(p, &outputs), std::cmp::Reverse(*i)))
                .expect("left is not empty");
            let p = left.remove(i);
            for command in &p.detect.commands {
                if outputs.iter().any(|(s, _)| s == command) {
                    continue;
                }
                self.send_line(conn, deadline, command)?;
                let raw = self.read_prompt(conn, deadline, &format!("the prompt after '{command}' (autodetect)"))?;
                outputs.push((command.clone(), clean(&self.platform, &raw, command)));
            }
            let output = |c: &str| outputs.iter().find(|(s, _)| s == c).map(|(_, o)| o.as_str());
            if let Some(re) = p.identified_by(output) {
                let command = p
                    .detect
                    .commands
                    .iter()
                    .find(|c| output(c).is_some_and(|o| re.is_match(o.as_bytes())))
                    .expect("a pattern matched one of the commands");
                return Ok(Detected {
                    name: p.name.clone(),
                    evidence: format!(
                        "prompt {prompt:?}, '{command}' matched '{}'",
                        re.as_str().trim_start_matches("(?m)")
                    ),
                });
            }
        }
        let seen: Vec<String> = outputs.iter().map(|(c, o)| format!("'{c}' printed {}", first_line(o))).collect();
        let tried: Vec<&str> = candidates.iter().map(|p| p.name.as_str()).collect();
        Err(Error::Prompt(format!(
            "{}: autodetect: the prompt {prompt:?} looks like {}, but none of them recognised the device: {}; \
             give the platform (or a platform file) instead of \"autodetect\"",
            self.name,
            tried.join(", "),
            if seen.is_empty() { "no identification command to send".to_owned() } else { seen.join("; ") }
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_platform_but_generic_says_how_it_is_detected() {
        let names = Platform::builtin_names();
        for p in Platform::builtins() {
            assert!(!p.detect.commands.is_empty() && !p.detect.patterns.is_empty(), "{}: no [detect] table", p.name);
        }
        assert_eq!(Platform::builtins().len(), names.len() - 1, "all but generic: {names:?}");
    }

    /// Identification lines as the real devices print them (several releases where the wording
    /// changed): each is recognised by its platform, and by no other platform of the same or a
    /// higher priority that sends the same command, so the order of trying cannot pick another.
    #[test]
    fn real_identification_lines_pick_their_platform() {
        let samples = [
            ("cisco_ios", "Cisco IOS Software, C2900 Software (C2900-UNIVERSALK9-M), Version 15.7(3)M4"),
            ("cisco_ios", "Cisco Internetwork Operating System Software \nIOS (tm) C2600 Software, Version 12.3(26)"),
            ("cisco_xe", "Cisco IOS XE Software, Version 17.09.04a\nCisco IOS Software [Cupertino], Virtual XE"),
            ("cisco_xe", "Cisco IOS Software, IOS-XE Software (X86_64_LINUX_IOSD-ADVENTERPRISEK9-M), Version 15.5(3)S"),
            ("cisco_xr", "Cisco IOS XR Software, Version 7.9.2"),
            ("cisco_nxos", "Cisco Nexus Operating System (NX-OS) Software\nTAC support: http://www.cisco.com/tac"),
            ("cisco_asa", "\nCisco Adaptive Security Appliance Software Version 9.18(3)56 \n"),
            ("arista_eos", "Arista DCS-7050SX3-48YC8-F\nHardware version: 11.02"),
            ("arista_eos", "Arista vEOS-lab\nSoftware image version: 4.28.3M"),
            ("aruba_aoscx", "-----\nArubaOS-CX\n(c) Copyright 2017-2024 Hewlett Packard Enterprise"),
            ("dell_os10", "Dell EMC Networking OS10 Enterprise\nCopyright (c) 1999-2020 by Dell Inc."),
            ("dell_os10", "Dell SmartFabric OS10 Enterprise"),
            ("extreme_exos", "Image   : ExtremeXOS version 31.7.1.4 by release-manager"),
            ("hp_procurve", "Image stamp:    /ws/swbuildm/rel_venice_qaoff/code/build/tam(swbuildm)\n   Oct 18 2023"),
            ("juniper_junos", "Hostname: mx1\nModel: mx204\nJunos: 21.4R3.15\nJUNOS OS Kernel 64-bit"),
            ("juniper_junos", "Hostname: srx1\nModel: srx300\nJUNOS Software Release [15.1X49-D170.4]"),
            ("nokia_sros", "TiMOS-C-23.10.R2 cpm/x86_64 Nokia 7750 SR Copyright (c) 2000-2023 Nokia."),
            ("vyos", "\nVersion:          VyOS 1.4.0\nRelease train:    sagitta"),
            ("hp_comware", "HPE Comware Software, Version 7.1.070, Release 3506P06"),
            ("huawei_vrp", "Huawei Versatile Routing Platform Software\nVRP (R) software, Version 5.170"),
            ("fortinet", "Version: FortiGate-VM64 v7.2.5,build1517,230606 (GA.F)"),
            ("paloalto_panos", "hostname: PA-VM\nfamily: vm\nmodel: PA-VM\nsw-version: 10.2.4"),
            ("mikrotik_routeros", "                 platform: MikroTik\n"),
            ("linux", "Linux board1 5.15.0-1034-raspi #37-Ubuntu SMP PREEMPT aarch64 GNU/Linux"),
            ("busybox", "BusyBox v1.36.1 (2024-05-01 10:00:00 UTC) multi-call binary."),
        ];
        let all = Platform::builtins();
        for (want, text) in samples {
            let p = all.iter().find(|p| p.name == want).unwrap();
            let command = p.detect.commands[0].as_str();
            let by = |c: &str| (c == command).then_some(text);
            assert!(p.identified_by(by).is_some(), "{want} does not recognise {text:?}");
            for other in all.iter().filter(|o| o.name != want && o.detect.priority >= p.detect.priority) {
                assert!(
                    other.identified_by(by).is_none(),
                    "{} (priority {}) takes {want}'s {text:?}",
                    other.name,
                    other.detect.priority
                );
            }
        }
    }

    #[test]
    fn prompts_narrow_the_candidates() {
        let names = |line: &[u8]| candidates(line).into_iter().map(|p| p.name).collect::<Vec<_>>();
        assert_eq!(names(b"[admin@MikroTik] > "), ["mikrotik_routeros"]);
        assert!(names(b"R1>").contains(&"cisco_ios".to_owned()));
        assert!(!names(b"R1>").contains(&"linux".to_owned()));
        assert!(names(b"/ # ").contains(&"busybox".to_owned()));
        assert!(names(b"Password: ").is_empty());
    }
}
