//! An ntc-templates `index` file: which template(s) parse a platform's command.
//!
//! The format is TextFSM's clitable index, and lookups behave as there, so a command finds the
//! same template in netrig as in netmiko: the first row whose Platform and Command regexes match
//! at the start of the caller's values wins (rows are ordered longest command first, so
//! `show ip interface brief` wins over `show ip interface`), `abc[[xyz]]` in a command accepts
//! any prefix of `abcxyz` down to `abc`, and a Template cell may name several files joined by
//! `:`.

use std::path::{Path, PathBuf};

use fancy_regex::Regex;

use crate::error::{Error, Result};

/// One row of the index.
#[derive(Debug)]
struct Row {
    templates: Vec<String>,
    platform: Option<Regex>,
    command: Option<Regex>,
}

/// A parsed `index` file.
#[derive(Debug)]
pub struct Index {
    path: PathBuf,
    rows: Vec<Row>,
}

impl Index {
    /// Reads and compiles `path`. A missing file, a header without a Template column or a cell
    /// that is not a valid regex is an error naming the file and line.
    pub fn load(path: &Path) -> Result<Index> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            let msg = format!("template index {}: {e}", path.display());
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::Absent(msg)
            } else {
                Error::Io(msg)
            }
        })?;
        Index::parse(&text, path)
    }

    /// Parses index text; `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Index> {
        let bad =
            |line: usize, what: String| Error::InvalidArg(format!("template index {}:{line}: {what}", path.display()));
        let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
        // The header is the first line with anything left after removing a '#' comment.
        let header: Vec<String> = loop {
            let Some((_, line)) = lines.next() else {
                return Err(bad(1, "no header line (Template, Hostname, Platform, Command)".into()));
            };
            let h = line.split('#').next().unwrap_or("").trim();
            if !h.is_empty() {
                break h.split(',').map(|c| c.trim().to_string()).collect();
            }
        };
        let col = |name: &str| header.iter().position(|h| h == name);
        let template_col =
            col("Template").ok_or_else(|| bad(1, format!("the header {header:?} has no Template column")))?;
        // Hostname is not looked at: netmiko and ntc-templates pass only Platform and Command,
        // and clitable skips the columns it was given no value for.
        let (platform_col, command_col) = (col("Platform"), col("Command"));
        let mut rows = Vec::new();
        for (n, line) in lines {
            if line.starts_with('#') {
                continue;
            }
            let cells: Vec<&str> = line.split(',').map(str::trim).collect();
            // clitable drops rows with another number of cells (blank lines among them).
            if cells.len() != header.len() {
                continue;
            }
            let regex = |c: Option<usize>, completion: bool| -> Result<Option<Regex>> {
                let Some(cell) = c.map(|c| cells[c]).filter(|s| !s.is_empty()) else {
                    return Ok(None);
                };
                let pattern = if completion { expand_completion(cell) } else { cell.to_string() };
                // Python's re.match: anchored at the start only.
                Regex::new(&format!("^(?:{pattern})"))
                    .map(Some)
                    .map_err(|e| bad(n, format!("'{cell}' is not a valid regex: {e}")))
            };
            rows.push(Row {
                templates: cells[template_col].split(':').map(|t| t.trim().to_string()).collect(),
                platform: regex(platform_col, false)?,
                command: regex(command_col, true)?,
            });
        }
        Ok(Index { path: path.to_path_buf(), rows })
    }

    /// The template file names for `platform` and `command` (several when the index joins them
    /// with ':'), or NotFound naming both and this index.
    pub fn lookup(&self, platform: &str, command: &str) -> Result<&[String]> {
        let command = command.trim();
        // A regex that gives up (its backtrack limit) counts as no match, as a row that does
        // not match: the next rows may still answer.
        let hit = |r: &Option<Regex>, v: &str| r.as_ref().is_none_or(|r| r.is_match(v).unwrap_or(false));
        self.rows
            .iter()
            .find(|r| hit(&r.platform, platform) && hit(&r.command, command))
            .map(|r| r.templates.as_slice())
            .ok_or_else(|| {
                Error::Absent(format!(
                    "no template for platform '{platform}' and command '{command}' in {}",
                    self.path.display()
                ))
            })
    }

    /// The file this index was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// `sh[[ow]]` becomes `sh(o(w)?)?`: clitable's command completion.
fn expand_completion(cell: &str) -> String {
    let mut out = String::with_capacity(cell.len() * 2);
    let mut rest = cell;
    while let Some(start) = rest.find("[[") {
        let Some(len) = rest[start + 2..].find("]]") else { break };
        out.push_str(&rest[..start]);
        let word = &rest[start + 2..start + 2 + len];
        let mut n = 0;
        for c in word.chars() {
            out.push('(');
            if regex_special(c) {
                out.push('\\');
            }
            out.push(c);
            n += 1;
        }
        for _ in 0..n {
            out.push_str(")?");
        }
        rest = &rest[start + 2 + len + 2..];
    }
    out.push_str(rest);
    out
}

fn regex_special(c: char) -> bool {
    r"\.+*?()|[]{}^$#&-~".contains(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    const INDEX: &str = "# comment\n\nTemplate, Hostname, Platform, Command\n\n\
        a_show_ip_int_brief.textfsm, .*, cisco_ios, sh[[ow]] ip int[[erface]] br[[ief]]\n\
        a_show_ip_int.textfsm, .*, cisco_ios, sh[[ow]] ip int[[erface]]\n\
        a_vlan.textfsm:b_vlan.textfsm, .*, (hp|aruba)_procurve, sh[[ow]] (vl[[ans]]|vlan)$\n";

    fn index() -> Index {
        Index::parse(INDEX, Path::new("/t/index")).unwrap()
    }

    #[test]
    fn completion_accepts_every_abbreviation_and_the_first_row_wins() {
        let i = index();
        for cmd in ["show ip interface brief", "sh ip int br", "sho ip inte bri", "  show ip int brief  "] {
            assert_eq!(i.lookup("cisco_ios", cmd).unwrap(), ["a_show_ip_int_brief.textfsm"], "{cmd}");
        }
        assert_eq!(i.lookup("cisco_ios", "show ip int").unwrap(), ["a_show_ip_int.textfsm"]);
        assert_eq!(i.lookup("aruba_procurve", "sh vlans").unwrap(), ["a_vlan.textfsm", "b_vlan.textfsm"]);
    }

    #[test]
    fn no_match_names_platform_command_and_index() {
        let i = index();
        let e = i.lookup("cisco_nxos", "show ip int br").unwrap_err().to_string();
        assert!(e.contains("cisco_nxos") && e.contains("show ip int br") && e.contains("/t/index"), "{e}");
        // '$' in the index anchors the end: "show vlans extra" does not match.
        assert!(i.lookup("hp_procurve", "show vlans extra").is_err());
    }

    #[test]
    fn bad_regex_names_file_and_line() {
        let e = Index::parse("Template, Platform, Command\nx.textfsm, cisco_ios, show (ver\n", Path::new("/t/index"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("/t/index:2"), "{e}");
    }

    #[test]
    fn hostname_is_not_matched_as_clitable_is_given_none() {
        let i = Index::parse("Template, Hostname, Platform, Command\nh.textfsm, router9, os, show x\n", Path::new("i"))
            .unwrap();
        assert_eq!(i.lookup("os", "show x").unwrap(), ["h.textfsm"]);
    }

    #[test]
    fn expansion_matches_clitable() {
        assert_eq!(expand_completion("sh[[ow]] ver[[sion]]"), "sh(o(w)?)? ver(s(i(o(n)?)?)?)?");
        assert_eq!(expand_completion("port-[[security]]"), "port-(s(e(c(u(r(i(t(y)?)?)?)?)?)?)?)?");
    }
}
