//! One host, group or defaults entry of an inventory file, checked key by key: Nornir's keys,
//! netrig's device options (under the names of the Python `Device` keywords, at the top level
//! of the entry), `${env:NAME}` replaced, relative paths made relative to the file's folder.

use std::path::Path;

use serde_json::{Map, Value as Json};

use super::yaml::{Node, Value};
use crate::error::{Error, Result};

/// What an option's value must be.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Str,
    /// A string naming a file, made absolute against the inventory file's folder.
    Path,
    Port,
    Bool,
    /// Seconds, an integer or a fraction; more than 0.
    Seconds,
    /// Seconds, 0 meaning none.
    SecondsOrOff,
    /// `[columns, rows]`.
    Terminal,
    HostKey,
}

/// The keys an entry may hold besides `groups` and `data`: the YAML name, the name in the
/// options (the Python `Device` keyword), and what the value must be.
const OPTIONS: &[(&str, &str, Kind)] = &[
    ("hostname", "host", Kind::Str),
    ("port", "port", Kind::Port),
    ("username", "username", Kind::Str),
    ("password", "password", Kind::Str),
    ("platform", "platform", Kind::Str),
    ("private_key_file", "private_key_file", Kind::Path),
    ("private_key", "private_key", Kind::Str),
    ("passphrase", "passphrase", Kind::Str),
    ("use_agent", "use_agent", Kind::Bool),
    ("secret", "secret", Kind::Str),
    ("host_key", "host_key", Kind::HostKey),
    ("known_hosts", "known_hosts", Kind::Path),
    ("fingerprint", "fingerprint", Kind::Str),
    ("connect_timeout", "connect_timeout", Kind::Seconds),
    ("auth_timeout", "auth_timeout", Kind::Seconds),
    ("timeout", "timeout", Kind::Seconds),
    ("keepalive", "keepalive", Kind::SecondsOrOff),
    ("prompt_pattern", "prompt_pattern", Kind::Str),
    ("paging_off_command", "paging_off_command", Kind::Str),
    ("enable_command", "enable_command", Kind::Str),
    ("config_command", "config_command", Kind::Str),
    ("config_exit_command", "config_exit_command", Kind::Str),
    ("config_prompt_pattern", "config_prompt_pattern", Kind::Str),
    ("terminal", "terminal", Kind::Terminal),
    ("session_log", "session_log", Kind::Path),
    ("session_log_timestamps", "session_log_timestamps", Kind::Bool),
    ("platform_file", "platform_file", Kind::Path),
    ("platform_text", "platform_text", Kind::Str),
    ("error_pattern", "error_pattern", Kind::Str),
    ("check_errors", "check_errors", Kind::Bool),
    ("templates", "templates", Kind::Path),
];

/// The host-key policies by their Python names.
pub(super) const HOST_KEYS: &[&str] = &["strict", "pinned", "accept-new", "insecure"];

/// A parsed entry. Values are already the options' JSON (what Python's `Device` takes).
#[derive(Clone, Default)]
pub(super) struct Entry {
    pub name: String,
    /// The file it is in, as the caller named it.
    pub file: String,
    pub line: usize,
    /// Direct groups, in order, each with its line.
    pub groups: Vec<(String, usize)>,
    pub data: Map<String, Json>,
    /// By option name, with the line each was set on.
    pub options: Vec<(&'static str, Json, usize)>,
}

/// Where an entry comes from, for its error texts.
pub(super) struct Origin<'a> {
    /// The file as the caller named it.
    pub file: &'a str,
    pub dir: &'a Path,
    /// "sw1." for hosts and groups, "" for defaults.
    pub prefix: String,
    /// Defaults have no groups.
    pub groups_allowed: bool,
}

impl Origin<'_> {
    fn err(&self, line: usize, key: &str, what: impl std::fmt::Display) -> Error {
        Error::InvalidArg(format!("{}, line {line}: {}{key}: {what}", self.file, self.prefix))
    }
}

/// Reads one entry: a mapping, or null for an entry with nothing set.
pub(super) fn entry(o: &Origin<'_>, name: &str, node: &Node) -> Result<Entry> {
    let mut e = Entry { name: name.into(), file: o.file.into(), line: node.line, ..Entry::default() };
    let fields = match &node.value {
        Value::Null => return Ok(e),
        Value::Map(m) => m,
        other => {
            let what = if o.prefix.is_empty() { "the defaults" } else { "an entry" };
            return Err(Error::InvalidArg(format!(
                "{}, line {}: {}: {what} is a mapping of keys (hostname, port, groups, data, ...), not {}",
                o.file,
                node.line,
                o.prefix.trim_end_matches('.').trim(),
                other.kind()
            )));
        }
    };
    for (key, line, value) in fields {
        let line = *line;
        match key.as_str() {
            "groups" if o.groups_allowed => e.groups = groups(o, value)?,
            "data" => {
                e.data = match &value.value {
                    Value::Null => Map::new(),
                    Value::Map(_) => match json(o, "data", value)? {
                        Json::Object(m) => m,
                        _ => unreachable!("a mapping becomes an object"),
                    },
                    other => return Err(o.err(value.line, "data", format!("is a mapping, not {}", other.kind()))),
                }
            }
            "connection_options" => {
                return Err(o.err(
                    line,
                    key,
                    "netrig does not read Nornir's connection_options; put its options (secret, fingerprint, \
                     timeout, ...) at the top level of the host, group or defaults",
                ))
            }
            _ => {
                let Some(&(_, option, kind)) = OPTIONS.iter().find(|(k, _, _)| k == key) else {
                    return Err(o.err(line, key, unknown_key(key, o.groups_allowed)));
                };
                if value.value == Value::Null {
                    continue; // not set here: inherited
                }
                e.options.push((option, option_value(o, key, kind, value)?, value.line));
            }
        }
    }
    Ok(e)
}

fn unknown_key(key: &str, groups_allowed: bool) -> String {
    let mut known: Vec<&str> = OPTIONS.iter().map(|(k, _, _)| *k).collect();
    if groups_allowed {
        known.push("groups");
    }
    known.push("data");
    let hint = if key == "host" { " (the address is 'hostname', as in Nornir)" } else { "" };
    format!("unknown key '{key}'{hint}; known keys: {}", known.join(", "))
}

fn groups(o: &Origin<'_>, node: &Node) -> Result<Vec<(String, usize)>> {
    match &node.value {
        Value::Null => Ok(Vec::new()),
        Value::Seq(items) => items
            .iter()
            .map(|i| match &i.value {
                Value::Str(s) => Ok((s.clone(), i.line)),
                other => Err(o.err(i.line, "groups", format!("a group is named by a string, not {}", other.kind()))),
            })
            .collect(),
        other => Err(o.err(node.line, "groups", format!("is a list of group names, not {}", other.kind()))),
    }
}

fn option_value(o: &Origin<'_>, key: &str, kind: Kind, node: &Node) -> Result<Json> {
    let bad = |want: &str| o.err(node.line, key, format!("is {want}, not {}", node.value.kind()));
    Ok(match (kind, &node.value) {
        (Kind::Str, Value::Str(s)) => Json::String(env(o, key, node.line, s)?),
        // A numeric username or password is still a string to the device.
        (Kind::Str, Value::Int(i)) => Json::String(i.to_string()),
        (Kind::Path, Value::Str(s)) => {
            let s = env(o, key, node.line, s)?;
            Json::String(o.dir.join(s).to_string_lossy().into_owned())
        }
        (Kind::Str | Kind::Path, _) => return Err(bad("a string")),
        (Kind::Port, Value::Int(p)) if (1..=65535).contains(p) => Json::from(*p),
        (Kind::Port, Value::Int(p)) => return Err(o.err(node.line, key, format!("{p} is not a TCP port (1-65535)"))),
        (Kind::Port, _) => return Err(bad("a TCP port number")),
        (Kind::Bool, Value::Bool(b)) => Json::Bool(*b),
        (Kind::Bool, _) => return Err(bad("true or false")),
        (Kind::Seconds | Kind::SecondsOrOff, v @ (Value::Int(_) | Value::Float(_))) => {
            let s = match v {
                Value::Int(i) => *i as f64,
                Value::Float(f) => *f,
                _ => unreachable!(),
            };
            if !(0.0..4_294_967.0).contains(&s) || (s == 0.0 && kind == Kind::Seconds) {
                let range = if kind == Kind::Seconds { "more than 0" } else { "0 (off) or more" };
                return Err(o.err(node.line, key, format!("{s} seconds is out of range ({range})")));
            }
            if s == 0.0 {
                Json::Null
            } else {
                Json::from(s)
            }
        }
        (Kind::Seconds | Kind::SecondsOrOff, _) => return Err(bad("a number of seconds")),
        (Kind::Terminal, Value::Seq(v))
            if v.len() == 2
                && v.iter().all(|n| matches!(n.value, Value::Int(i) if (1..=u32::MAX as i64).contains(&i))) =>
        {
            Json::Array(
                v.iter().map(|n| if let Value::Int(i) = n.value { Json::from(i) } else { Json::Null }).collect(),
            )
        }
        (Kind::Terminal, _) => return Err(bad("[columns, rows]")),
        (Kind::HostKey, Value::Str(s)) if HOST_KEYS.contains(&s.as_str()) => Json::String(s.clone()),
        (Kind::HostKey, Value::Str(s)) => {
            return Err(o.err(node.line, key, format!("'{s}' is not one of {}", HOST_KEYS.join(", "))))
        }
        (Kind::HostKey, _) => return Err(bad("a string")),
    })
}

/// The YAML under `data` as JSON, with `${env:NAME}` replaced in its strings.
fn json(o: &Origin<'_>, path: &str, node: &Node) -> Result<Json> {
    Ok(match &node.value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::Str(s) => Json::String(env(o, path, node.line, s)?),
        Value::Seq(items) => Json::Array(items.iter().map(|i| json(o, path, i)).collect::<Result<_>>()?),
        Value::Map(m) => {
            let mut out = Map::new();
            for (k, _, v) in m {
                out.insert(k.clone(), json(o, &format!("{path}.{k}"), v)?);
            }
            Json::Object(out)
        }
    })
}

/// `text` with every `${env:NAME}` replaced by that environment variable; a variable that is
/// not set (or not UTF-8) is an error naming it.
fn env(o: &Origin<'_>, key: &str, line: usize, text: &str) -> Result<String> {
    const OPEN: &str = "${env:";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(OPEN) {
        out.push_str(&rest[..at]);
        let after = &rest[at + OPEN.len()..];
        let end = after.find('}').ok_or_else(|| o.err(line, key, "'${env:' without its closing '}'"))?;
        let name = &after[..end];
        if name.is_empty() {
            return Err(o.err(line, key, "'${env:}' names no environment variable"));
        }
        match std::env::var(name) {
            Ok(v) => out.push_str(&v),
            Err(std::env::VarError::NotPresent) => {
                return Err(o.err(line, key, format!("environment variable {name} is not set")))
            }
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(o.err(line, key, format!("environment variable {name} is not UTF-8")))
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::yaml::parse;
    use super::*;

    fn origin() -> Origin<'static> {
        Origin { file: "hosts.yaml", dir: Path::new("/inv"), prefix: "sw1.".into(), groups_allowed: true }
    }

    fn one(text: &str) -> Result<Entry> {
        let n = parse("hosts.yaml", text)?.unwrap();
        entry(&origin(), "sw1", &n)
    }

    #[test]
    fn keys_become_the_python_device_options() {
        let e =
            one("hostname: 10.0.0.1\nport: 2222\ntimeout: 2.5\nkeepalive: 0\nknown_hosts: kh\nterminal: [200, 50]\n")
                .unwrap();
        let get = |k: &str| e.options.iter().find(|(n, _, _)| *n == k).map(|(_, v, l)| (v.clone(), *l));
        assert_eq!(get("host"), Some((Json::from("10.0.0.1"), 1)));
        assert_eq!(get("port"), Some((Json::from(2222), 2)));
        assert_eq!(get("timeout").unwrap().0, Json::from(2.5));
        assert_eq!(get("keepalive").unwrap().0, Json::Null);
        assert_eq!(get("known_hosts").unwrap().0, Json::from("/inv/kh"));
        assert_eq!(get("terminal").unwrap().0, serde_json::json!([200, 50]));
    }

    #[test]
    fn bad_values_name_the_line_and_key() {
        for (text, want) in [
            ("port: 70000\n", "hosts.yaml, line 1: sw1.port: 70000 is not a TCP port"),
            ("x: 1\n", "hosts.yaml, line 1: sw1.x: unknown key 'x'"),
            ("\nhost: a\n", "hosts.yaml, line 2: sw1.host: unknown key 'host' (the address is 'hostname'"),
            ("groups: core\n", "hosts.yaml, line 1: sw1.groups: is a list of group names, not a string"),
            ("timeout: 0\n", "sw1.timeout: 0 seconds is out of range"),
            ("host_key: loose\n", "sw1.host_key: 'loose' is not one of strict"),
            ("data: [1]\n", "sw1.data: is a mapping, not a list"),
            ("connection_options: {}\n", "sw1.connection_options: netrig does not read"),
            (
                "password: ${env:NETRIG_INV_UNSET_VAR}\n",
                "sw1.password: environment variable NETRIG_INV_UNSET_VAR is not set",
            ),
            (
                "data:\n  snmp:\n    community: ${env:NETRIG_INV_UNSET_VAR}\n",
                "line 3: sw1.data.snmp.community: environment",
            ),
        ] {
            let e = one(text).err().unwrap_or_else(|| panic!("{text:?} loaded")).to_string();
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }
}
