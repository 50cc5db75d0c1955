//! Platform files: the TOML format of PLATFORMS.md, read into layers that `extends` stacks and
//! the caller's options top, then compiled into a [`Platform`](super::Platform).
//!
//! Every pattern is compiled as soon as its file is read, so a bad one is reported with the
//! file, the line and the field it came from, before anything is sent to a device.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use regex::bytes::Regex;
use serde::{Deserialize, Deserializer};

use crate::error::{Error, Result};

/// The built-in platform files (src/device/platform/builtin/*.toml): (name, text).
pub(super) const BUILTIN: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/platforms.rs"));

/// How deep `extends` chains may go (a loop is reported when it is exceeded).
const MAX_DEPTH: usize = 8;

/// A pattern as written, compiled, with the place it came from for messages.
#[derive(Debug, Clone)]
pub(super) struct Pat {
    pub text: String,
    span: Option<Range<usize>>,
    /// "platform file x.toml, line 7" or "options.prompt_pattern".
    pub place: Arc<str>,
    pub regex: Option<Regex>,
}

impl<'de> Deserialize<'de> for Pat {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Pat, D::Error> {
        let s = toml::Spanned::<String>::deserialize(d)?;
        Ok(Pat { span: Some(s.span()), text: s.into_inner(), place: Arc::from(""), regex: None })
    }
}

impl Pat {
    /// A pattern given by an option rather than a file.
    pub fn option(text: &str, option: &str) -> Result<Pat> {
        let mut p = Pat { text: text.to_owned(), span: None, place: Arc::from(option), regex: None };
        p.compile("")?;
        Ok(p)
    }

    fn compile(&mut self, field: &str) -> Result<()> {
        let regex = Regex::new(&self.text).map_err(|e| {
            let field = if field.is_empty() { String::new() } else { format!(" {field}:") };
            Error::InvalidArg(format!(
                "{}:{field} pattern '{}' does not compile: {}",
                self.place,
                self.text,
                one_line(&e)
            ))
        })?;
        self.regex = Some(regex);
        Ok(())
    }

    pub fn regex(&self) -> &Regex {
        self.regex.as_ref().expect("patterns are compiled when their layer is read")
    }
}

/// The regex crate's multi-line error text on one line.
fn one_line(e: &regex::Error) -> String {
    let text = e.to_string();
    match text.lines().rev().find(|l| l.starts_with("error:")) {
        Some(l) => l.trim_start_matches("error:").trim().to_owned(),
        None => text.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

/// A question a mode change or a save may ask, and the line that answers it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AnswerT {
    pub question: Pat,
    pub send: String,
}

/// One platform file, or the caller's options, as a layer: every field optional, so that a
/// layer sets only what it changes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Layer {
    pub name: Option<String>,
    pub description: Option<String>,
    pub extends: Option<String>,
    pub netmiko: Option<Vec<String>>,
    pub setup: Option<Vec<String>>,
    pub prompt: Option<PromptT>,
    pub paging: Option<PagingT>,
    pub enable: Option<EnableT>,
    pub config: Option<ConfigT>,
    pub save: Option<SaveT>,
    pub errors: Option<ErrorsT>,
    pub output: Option<OutputT>,
    pub detect: Option<DetectT>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PromptT {
    pub pattern: Option<Pat>,
    pub user: Option<Pat>,
    pub config: Option<Pat>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PagingT {
    pub off: Option<Vec<String>>,
    pub more: Option<Pat>,
    pub answer: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EnableT {
    pub command: Option<String>,
    pub disable: Option<String>,
    pub secret_prompt: Option<Pat>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ConfigT {
    pub enter: Option<String>,
    pub exit: Option<String>,
    pub commit: Option<String>,
    pub commit_check: Option<String>,
    pub answers: Option<Vec<AnswerT>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SaveT {
    pub command: Option<String>,
    pub answers: Option<Vec<AnswerT>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ErrorsT {
    pub ignore_case: Option<bool>,
    pub patterns: Option<Vec<Pat>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OutputT {
    pub strip_trailing: Option<Vec<Pat>>,
}

/// How `platform = "autodetect"` tells this platform from the others whose prompts look alike.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DetectT {
    pub commands: Option<Vec<String>>,
    pub patterns: Option<Vec<Pat>>,
    pub priority: Option<i32>,
}

/// `upper` over `lower`, field by field: what `upper` sets wins; tables merge.
trait Over: Sized {
    fn over(self, lower: Self) -> Self;
}

fn over<T: Over>(upper: Option<T>, lower: Option<T>) -> Option<T> {
    match (upper, lower) {
        (Some(u), Some(l)) => Some(u.over(l)),
        (u, l) => u.or(l),
    }
}

macro_rules! merge_fields {
    ($t:ty { $($plain:ident),* ; $($table:ident),* }) => {
        impl Over for $t {
            fn over(self, lower: Self) -> Self {
                Self { $($plain: self.$plain.or(lower.$plain),)* $($table: over(self.$table, lower.$table),)* }
            }
        }
    };
}

merge_fields!(PromptT { pattern, user, config ; });
merge_fields!(PagingT { off, more, answer ; });
merge_fields!(EnableT { command, disable, secret_prompt ; });
merge_fields!(ConfigT { enter, exit, commit, commit_check, answers ; });
merge_fields!(SaveT { command, answers ; });
merge_fields!(ErrorsT { ignore_case, patterns ; });
merge_fields!(OutputT { strip_trailing ; });

impl Layer {
    /// This layer over `lower`. The name, the description and the netmiko names are this
    /// layer's own (never inherited): a platform that extends cisco_ios is not Cisco IOS.
    pub fn over(self, lower: Layer) -> Layer {
        Layer {
            name: self.name,
            description: self.description,
            extends: None,
            netmiko: self.netmiko,
            setup: self.setup.or(lower.setup),
            prompt: over(self.prompt, lower.prompt),
            paging: over(self.paging, lower.paging),
            enable: over(self.enable, lower.enable),
            config: over(self.config, lower.config),
            save: over(self.save, lower.save),
            errors: over(self.errors, lower.errors),
            output: over(self.output, lower.output),
            // Like the name: what identifies the platform below is not what identifies this one.
            detect: self.detect,
        }
    }

    /// This layer (the caller's options, which name nothing) over `lower`, keeping the lower
    /// layer's name, description, netmiko names and identification: the platform is still that
    /// platform.
    pub fn over_keeping_name(mut self, lower: Layer) -> Layer {
        self.name = lower.name.clone();
        self.description = lower.description.clone();
        self.netmiko = lower.netmiko.clone();
        self.detect = lower.detect.clone();
        self.over(lower)
    }

    /// Every pattern of the layer with its field's name.
    fn patterns_mut(&mut self) -> Vec<(String, &mut Pat)> {
        let mut out: Vec<(String, &mut Pat)> = Vec::new();
        if let Some(p) = &mut self.prompt {
            out.extend(p.pattern.iter_mut().map(|x| ("prompt.pattern".to_owned(), x)));
            out.extend(p.user.iter_mut().map(|x| ("prompt.user".to_owned(), x)));
            out.extend(p.config.iter_mut().map(|x| ("prompt.config".to_owned(), x)));
        }
        if let Some(p) = &mut self.paging {
            out.extend(p.more.iter_mut().map(|x| ("paging.more".to_owned(), x)));
        }
        if let Some(e) = &mut self.enable {
            out.extend(e.secret_prompt.iter_mut().map(|x| ("enable.secret_prompt".to_owned(), x)));
        }
        if let Some(c) = &mut self.config {
            out.extend(answers("config", &mut c.answers));
        }
        if let Some(s) = &mut self.save {
            out.extend(answers("save", &mut s.answers));
        }
        if let Some(e) = &mut self.errors {
            out.extend(e.patterns.iter_mut().flatten().enumerate().map(|(i, x)| (format!("errors.patterns[{i}]"), x)));
        }
        if let Some(d) = &mut self.detect {
            out.extend(d.patterns.iter_mut().flatten().enumerate().map(|(i, x)| (format!("detect.patterns[{i}]"), x)));
        }
        if let Some(o) = &mut self.output {
            out.extend(
                o.strip_trailing
                    .iter_mut()
                    .flatten()
                    .enumerate()
                    .map(|(i, x)| (format!("output.strip_trailing[{i}]"), x)),
            );
        }
        out
    }
}

/// The questions of an answers list with their fields' names.
fn answers<'a>(table: &'a str, list: &'a mut Option<Vec<AnswerT>>) -> impl Iterator<Item = (String, &'a mut Pat)> + 'a {
    list.iter_mut().flatten().enumerate().map(move |(i, a)| (format!("{table}.answers[{i}].question"), &mut a.question))
}

/// Where a layer's text came from, for messages and for resolving a relative `extends`.
#[derive(Debug, Clone)]
pub(super) enum Origin {
    Builtin(&'static str),
    File(PathBuf),
    /// Text the caller gave (`platform_text`); relative `extends` paths are resolved against the
    /// working directory.
    Text,
}

impl Origin {
    fn describe(&self) -> String {
        match self {
            Origin::Builtin(name) => format!("built-in platform file {name}.toml"),
            Origin::File(path) => format!("platform file {}", path.display()),
            Origin::Text => "platform text".to_owned(),
        }
    }

    fn dir(&self) -> PathBuf {
        match self {
            Origin::File(path) => path.parent().map(Path::to_path_buf).unwrap_or_default(),
            _ => PathBuf::new(),
        }
    }
}

/// Line number (1-based) of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// The field being set on the line at `offset`: its table and key ("prompt.pattern").
fn field_at(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = text[start..].lines().next().unwrap_or("");
    let key = line.split_once('=').map(|(k, _)| k.trim()).filter(|k| !k.is_empty() && !k.starts_with('['))?;
    let table = text[..start].lines().rev().find_map(|l| {
        l.trim().strip_prefix('[').map(|t| t.trim_start_matches('[').split(']').next().unwrap_or("").trim())
    });
    Some(match table {
        Some(t) if !t.is_empty() => format!("{t}.{key}"),
        _ => key.to_owned(),
    })
}

/// Reads one file's layer: TOML, known fields, patterns compiled, name checked.
pub(super) fn parse(text: &str, origin: &Origin) -> Result<Layer> {
    let place = origin.describe();
    let mut layer: Layer = toml::from_str(text).map_err(|e| {
        let at = e.span().map(|s| {
            let field = field_at(text, s.start).map(|f| format!(" {f}:")).unwrap_or_default();
            format!(", line {}:{field}", line_of(text, s.start))
        });
        Error::InvalidArg(format!("{place}{} {}", at.unwrap_or_else(|| ":".into()), e.message().trim()))
    })?;
    for (field, pat) in layer.patterns_mut() {
        let line = pat.span.as_ref().map(|s| line_of(text, s.start));
        pat.place = Arc::from(match line {
            Some(l) => format!("{place}, line {l}"),
            None => place.clone(),
        });
        pat.compile(&field)?;
    }
    match &layer.name {
        None => return Err(Error::InvalidArg(format!("{place}: name is missing"))),
        Some(n) if n.is_empty() || !n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') => {
            return Err(Error::InvalidArg(format!(
                "{place}: name '{n}' is not a platform name (letters, digits, '_' and '-')"
            )))
        }
        Some(_) => {}
    }
    Ok(layer)
}

/// A built-in platform file by name or netmiko device_type name.
pub(super) fn builtin(name: &str) -> Option<(&'static str, &'static str)> {
    BUILTIN.iter().find(|(n, _)| *n == name).copied().or_else(|| {
        BUILTIN
            .iter()
            .copied()
            .find(|(_, text)| toml::from_str::<Aliases>(text).is_ok_and(|a| a.netmiko.iter().any(|n| n == name)))
    })
}

/// Just the netmiko names of a file, for looking a built-in up by them.
#[derive(Deserialize)]
struct Aliases {
    #[serde(default)]
    netmiko: Vec<String>,
}

/// Reads a layer and everything it extends, stacked into one layer.
pub(super) fn resolve(text: &str, origin: Origin) -> Result<Layer> {
    resolve_depth(text, origin, 0)
}

fn resolve_depth(text: &str, origin: Origin, depth: usize) -> Result<Layer> {
    let mut layer = parse(text, &origin)?;
    let Some(parent) = layer.extends.take() else { return Ok(layer) };
    if depth >= MAX_DEPTH {
        return Err(Error::InvalidArg(format!(
            "{}: extends '{parent}': more than {MAX_DEPTH} levels of extends (a loop?)",
            origin.describe()
        )));
    }
    let lower = match BUILTIN.iter().find(|(n, _)| *n == parent) {
        Some((name, text)) => resolve_depth(text, Origin::Builtin(name), depth + 1)?,
        None => {
            let path = origin.dir().join(&parent);
            let text = std::fs::read_to_string(&path).map_err(|e| {
                Error::InvalidArg(format!(
                    "{}: extends '{parent}': not a built-in platform, and {}: {e}",
                    origin.describe(),
                    path.display()
                ))
            })?;
            resolve_depth(&text, Origin::File(path), depth + 1)?
        }
    };
    Ok(layer.over(lower))
}

/// Reads a platform file from disk.
pub(super) fn read(path: &Path) -> Result<(String, Origin)> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::InvalidArg(format!("platform file {}: {e}", path.display())))?;
    Ok((text, Origin::File(path.to_path_buf())))
}
