//! A templates directory: its index and its compiled templates, kept for the process so that
//! parsing the same command again (on the next host, in the next step) compiles nothing.
//!
//! Files are read and templates compiled outside every lock; the locks only guard map lookups
//! and inserts. Two threads that miss at once may both compile one template; the second insert
//! wins and both results are equal. A file changed on disk (modified time or size) is read
//! again, so a user editing a template sees the edit in the same process.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use parking_lot::Mutex;
use textfsm_rust::{ListItem, Template, TemplateError, Value, ValueOption};

use super::index::Index;
use super::record::{Field, Record};
use crate::error::{Error, Result};

/// What a file looked like when it was read: a change means read it again.
type Stamp = (Option<SystemTime>, u64);

fn stamp(path: &Path) -> Result<Stamp> {
    let m = std::fs::metadata(path).map_err(|e| {
        let msg = format!("{}: {e}", path.display());
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::Absent(msg)
        } else {
            Error::Io(msg)
        }
    })?;
    Ok((m.modified().ok(), m.len()))
}

/// A compiled template and what it knows about its values.
#[derive(Debug)]
struct Compiled {
    template: Template,
    /// Lower-case Value names, in order.
    names: Vec<String>,
    /// Which values are `List`s (an unmatched list is `[]`, not `""`, as in Python).
    lists: Vec<bool>,
    /// Indexes of the `Key` values: how a second template's records join the first's.
    keys: Vec<usize>,
    stamp: Stamp,
}

/// One templates directory. Get it with [`Templates::open`].
#[derive(Debug)]
pub struct Templates {
    dir: PathBuf,
    index: Index,
    index_stamp: Stamp,
    compiled: Mutex<HashMap<String, Arc<Compiled>>>,
}

fn dirs() -> &'static Mutex<HashMap<PathBuf, Arc<Templates>>> {
    static DIRS: OnceLock<Mutex<HashMap<PathBuf, Arc<Templates>>>> = OnceLock::new();
    DIRS.get_or_init(Default::default)
}

impl Templates {
    /// The directory `dir` (which holds `index`), from the process-wide cache when its index
    /// is unchanged.
    pub fn open(dir: &Path) -> Result<Arc<Templates>> {
        let index_path = dir.join("index");
        let now = stamp(&index_path).map_err(|e| match e {
            Error::Absent(m) => Error::Absent(format!("templates directory {}: no index file ({m})", dir.display())),
            e => e,
        })?;
        if let Some(t) = dirs().lock().get(dir) {
            if t.index_stamp == now {
                return Ok(t.clone());
            }
        }
        let t = Arc::new(Templates {
            dir: dir.to_path_buf(),
            index: Index::load(&index_path)?,
            index_stamp: now,
            compiled: Mutex::new(HashMap::new()),
        });
        dirs().lock().insert(dir.to_path_buf(), t.clone());
        Ok(t)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Parses `text` with the template(s) the index names for `platform` and `command`.
    /// Several templates (joined by ':' in the index) each parse the text; the later ones add
    /// their columns to the first one's records, joined on the first template's Key values (or
    /// row by row when it has none), as TextFSM's clitable does.
    pub fn parse(&self, text: &str, platform: &str, command: &str) -> Result<Vec<Record>> {
        let names = self.lookup(platform, command)?;
        let mut out: Option<(Vec<Record>, Arc<Compiled>)> = None;
        for name in &names {
            let t = self.template(name)?;
            let rows = run(&t, text, name, platform, command)?;
            out = Some(match out {
                None => (rows, t),
                Some((mut acc, first)) => {
                    merge(&mut acc, &first, rows, &t);
                    (acc, first)
                }
            });
        }
        Ok(out.map(|(r, _)| r).unwrap_or_default())
    }

    /// The index's template names for the pair. IOS XE has no rows of its own in
    /// ntc-templates: its commands are in the cisco_ios rows, so those answer for it.
    fn lookup(&self, platform: &str, command: &str) -> Result<Vec<String>> {
        match self.index.lookup(platform, command) {
            Ok(t) => Ok(t.to_vec()),
            Err(e) if platform == "cisco_xe" => {
                self.index.lookup("cisco_ios", command).map(<[String]>::to_vec).map_err(|_| e)
            }
            Err(e) => Err(e),
        }
    }

    fn template(&self, name: &str) -> Result<Arc<Compiled>> {
        let path = self.dir.join(name);
        let now = stamp(&path).map_err(|e| match e {
            Error::Absent(m) => {
                Error::Absent(format!("template {name} named by {} is missing: {m}", self.index.path().display()))
            }
            e => e,
        })?;
        if let Some(t) = self.compiled.lock().get(name) {
            if t.stamp == now {
                return Ok(t.clone());
            }
        }
        let compiled = Arc::new(compile(&path, now)?);
        self.compiled.lock().insert(name.to_string(), compiled.clone());
        Ok(compiled)
    }
}

/// Reads and compiles one template file (no lock held).
fn compile(path: &Path, now: Stamp) -> Result<Compiled> {
    let source = std::fs::read_to_string(path).map_err(|e| Error::Io(format!("template {}: {e}", path.display())))?;
    let template = Template::parse_str(&source).map_err(|e| template_error(path, &source, &e))?;
    let values = template.values();
    Ok(Compiled {
        names: values.iter().map(|v| v.name.to_lowercase()).collect(),
        lists: values.iter().map(|v| v.has_option(ValueOption::List)).collect(),
        keys: values.iter().enumerate().filter(|(_, v)| v.has_option(ValueOption::Key)).map(|(i, _)| i).collect(),
        template,
        stamp: now,
    })
}

/// Parses `text` with the template file `path` itself, no index (netmiko's
/// `textfsm_template=`). Compiled files are cached by path like a directory's templates.
pub fn parse_template_file(text: &str, path: &Path) -> Result<Vec<Record>> {
    static FILES: OnceLock<Mutex<HashMap<PathBuf, Arc<Compiled>>>> = OnceLock::new();
    let files = FILES.get_or_init(Default::default);
    let now = stamp(path).map_err(|e| match e {
        Error::Absent(m) => Error::Absent(format!("template file {m}")),
        e => e,
    })?;
    let cached = files.lock().get(path).filter(|t| t.stamp == now).cloned();
    let t = match cached {
        Some(t) => t,
        None => {
            let t = Arc::new(compile(path, now)?);
            files.lock().insert(path.to_path_buf(), t.clone());
            t
        }
    };
    run(&t, text, &path.display().to_string(), "", "")
}

/// Parses with one compiled template.
fn run(t: &Compiled, text: &str, name: &str, platform: &str, command: &str) -> Result<Vec<Record>> {
    let rows = t.template.parser().parse_text(text).map_err(|e| {
        let what =
            if command.is_empty() { String::new() } else { format!(" (platform {platform}, command '{command}')") };
        Error::Command(format!("template {name} rejected the output{what}: {e}"))
    })?;
    Ok(rows
        .into_iter()
        .map(|row| Record {
            fields: t.names.iter().zip(&t.lists).zip(row).map(|((n, &list), v)| (n.clone(), field(v, list))).collect(),
        })
        .collect())
}

fn field(v: Value, list: bool) -> Field {
    match v {
        Value::Empty if list => Field::List(Vec::new()),
        Value::Empty => Field::Text(String::new()),
        Value::Single(s) => Field::Text(s),
        Value::List(items) if items.iter().all(|i| matches!(i, ListItem::String(_))) => Field::List(
            items
                .into_iter()
                .filter_map(|i| match i {
                    ListItem::String(s) => Some(s),
                    ListItem::Dict(_) => None,
                })
                .collect(),
        ),
        Value::List(items) => Field::Maps(
            items
                .into_iter()
                .map(|i| match i {
                    ListItem::Dict(d) => {
                        let mut pairs: Vec<(String, String)> = d.into_iter().collect();
                        pairs.sort();
                        pairs
                    }
                    ListItem::String(s) => vec![(String::new(), s)],
                })
                .collect(),
        ),
    }
}

/// Adds `more`'s new columns to `acc` (clitable's `extend`): rows joined on `first`'s Key
/// values when it has any, else row by row.
fn merge(acc: &mut [Record], first: &Compiled, more: Vec<Record>, t: &Compiled) {
    let new_cols: Vec<&String> = t.names.iter().filter(|n| !first.names.contains(n)).collect();
    if new_cols.is_empty() {
        return;
    }
    let key_names: Vec<&String> = first.keys.iter().map(|&i| &first.names[i]).collect();
    for (i, row) in acc.iter_mut().enumerate() {
        let other = if key_names.is_empty() {
            more.get(i)
        } else {
            more.iter().find(|m| key_names.iter().all(|k| m.get(k) == row.get(k)))
        };
        for c in &new_cols {
            let v = other.and_then(|o| o.get(c)).cloned().unwrap_or(Field::Text(String::new()));
            row.set(c, v);
        }
    }
}

/// A template error naming the file and the line (found in the source when the engine's error
/// does not carry one).
fn template_error(path: &Path, source: &str, e: &TemplateError) -> Error {
    let line_of = |needle: &str| source.lines().position(|l| !needle.is_empty() && l.contains(needle)).map(|i| i + 1);
    let line = match e {
        TemplateError::InvalidValue { line, .. }
        | TemplateError::InvalidRule { line, .. }
        | TemplateError::InvalidSubstitution { line, .. }
        | TemplateError::ContinueWithTransition(line)
        | TemplateError::ExpectedBlankLine(line) => Some(*line),
        TemplateError::InvalidRegex { pattern, .. } => line_of(pattern),
        TemplateError::DuplicateValue(name) => source
            .lines()
            .enumerate()
            .filter(|(_, l)| l.starts_with("Value ") && l.split_whitespace().any(|w| w == name))
            .nth(1)
            .map(|(i, _)| i + 1),
        TemplateError::DuplicateState(name) | TemplateError::InvalidStateName { name, .. } => {
            source.lines().enumerate().filter(|(_, l)| l.trim_end() == name).last().map(|(i, _)| i + 1)
        }
        TemplateError::UndefinedState(name) => source
            .lines()
            .position(|l| {
                l.contains("->") && l.rsplit("->").next().is_some_and(|a| a.split_whitespace().any(|w| w == name))
            })
            .map(|i| i + 1),
        TemplateError::UnknownOption(o) | TemplateError::DuplicateOption(o) => line_of(o),
        TemplateError::NonEmptyEndState => line_of("End"),
        TemplateError::NonEmptyEofState => line_of("EOF"),
        TemplateError::NoValues | TemplateError::MissingStartState => None,
    };
    match line {
        Some(n) => Error::InvalidArg(format!("template {}:{n}: {e}", path.display())),
        None => Error::InvalidArg(format!("template {}:1: {e}", path.display())),
    }
}
