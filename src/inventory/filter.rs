//! Which hosts of an inventory a run takes, as Nornir's `F` objects pick them: by name (exact
//! or a glob), by group (inherited membership counts), by data (nested keys), combined with
//! and, or and not. The text form is what C callers and `netrig_job_add_inventory` take:
//!
//! ```text
//! name=sw*                      glob on the host's name (* any run, ? one character)
//! group=core                    a member of core, directly or through another group
//! site=lab  rack.row=3          a data key (nested with '.' or '__') equal to the value
//! role!=spine                   not equal (or the key is missing)
//! group=core and not site=lab   terms next to each other are and-ed; or; not; ( )
//! descr="uplink 1"              a value with spaces or parentheses in quotes
//! ```
//!
//! A data value compares with the value's JSON type: `rack.row=3` matches the number 3 and the
//! string "3", `enabled=true` the boolean, `x=null` a null; a list matches when one of its
//! items does. The keys `name` and `group` are the host's; a data key of that name is reached
//! as `data.name` (a leading `data.` is always skipped).

use serde_json::Value as Json;

use super::Host;
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// A glob over the host's name.
    Name(String),
    /// Membership, direct or inherited.
    Group(String),
    /// A data key path and the value it must equal.
    Data(Vec<String>, String),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
}

impl Filter {
    pub fn name(glob: &str) -> Filter {
        Filter::Name(glob.into())
    }

    pub fn group(group: &str) -> Filter {
        Filter::Group(group.into())
    }

    /// `path` is a data key, nested with '.' or '__' ("rack.row", "rack__row").
    pub fn data(path: &str, value: &str) -> Filter {
        Filter::Data(split_path(path), value.into())
    }

    pub fn and(self, other: Filter) -> Filter {
        Filter::And(Box::new(self), Box::new(other))
    }

    pub fn or(self, other: Filter) -> Filter {
        Filter::Or(Box::new(self), Box::new(other))
    }

    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Filter {
        Filter::Not(Box::new(self))
    }

    pub fn matches(&self, h: &Host) -> bool {
        match self {
            Filter::Name(g) => glob(g, &h.name),
            Filter::Group(g) => h.all_groups.iter().any(|x| x == g),
            Filter::Data(path, want) => {
                let mut v = &h.data;
                for k in path {
                    match v.get(k) {
                        Some(next) => v = next,
                        None => return false,
                    }
                }
                equals(v, want)
            }
            Filter::And(a, b) => a.matches(h) && b.matches(h),
            Filter::Or(a, b) => a.matches(h) || b.matches(h),
            Filter::Not(a) => !a.matches(h),
        }
    }

    /// Parses the text form (see the module docs). Errors name the position (from 1).
    pub fn parse(text: &str) -> Result<Filter> {
        let tokens = tokens(text)?;
        if tokens.is_empty() {
            return Err(Error::InvalidArg("filter: empty; pass none to take every host".into()));
        }
        let mut p = Parser { tokens, at: 0, text };
        let f = p.or()?;
        match p.tokens.get(p.at) {
            None => Ok(f),
            Some(t) => Err(p.err(t, "unexpected here")),
        }
    }
}

impl std::str::FromStr for Filter {
    type Err = Error;
    fn from_str(s: &str) -> Result<Filter> {
        Filter::parse(s)
    }
}

fn split_path(path: &str) -> Vec<String> {
    let path = path.strip_prefix("data.").or_else(|| path.strip_prefix("data__")).unwrap_or(path);
    path.replace("__", ".").split('.').map(str::to_owned).collect()
}

fn equals(v: &Json, want: &str) -> bool {
    match v {
        Json::Array(items) => items.iter().any(|i| !i.is_array() && equals(i, want)),
        Json::String(s) => s == want,
        Json::Number(n) => want.parse::<f64>().is_ok_and(|w| n.as_f64() == Some(w)),
        Json::Bool(b) => want == if *b { "true" } else { "false" },
        Json::Null => want == "null",
        Json::Object(_) => false,
    }
}

/// `*` any run of characters, `?` one character; everything else literal.
fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Open,
    Close,
    And,
    Or,
    Not,
    /// key, negated, value
    Term(String, bool, String),
}

/// A token and its position (from 1) in the text.
type Token = (Tok, usize);

fn tokens(text: &str) -> Result<Vec<Token>> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let pos = i + 1;
        if c == '(' || c == ')' {
            out.push((if c == '(' { Tok::Open } else { Tok::Close }, pos));
            i += 1;
            continue;
        }
        // A word: up to whitespace or a parenthesis outside quotes; '=' or '!=' splits it.
        let mut key = String::new();
        let mut value: Option<(bool, String)> = None;
        while i < chars.len() && !chars[i].is_whitespace() && chars[i] != '(' && chars[i] != ')' {
            let c = chars[i];
            match &mut value {
                None if c == '=' => value = Some((false, String::new())),
                None if c == '!' && chars.get(i + 1) == Some(&'=') => {
                    value = Some((true, String::new()));
                    i += 1;
                }
                None if c == '"' || c == '\'' => {
                    return Err(Error::InvalidArg(format!(
                        "filter: a quote at position {} before '='; quote values only",
                        i + 1
                    )))
                }
                None => key.push(c),
                Some((_, v)) if c == '"' || c == '\'' => {
                    let close = chars[i + 1..].iter().position(|&q| q == c).ok_or_else(|| {
                        Error::InvalidArg(format!("filter: the quote at position {} is not closed", i + 1))
                    })?;
                    v.extend(&chars[i + 1..i + 1 + close]);
                    i += close + 1;
                }
                Some((_, v)) => v.push(c),
            }
            i += 1;
        }
        let tok = match (key.as_str(), value) {
            ("and" | "AND", None) => Tok::And,
            ("or" | "OR", None) => Tok::Or,
            ("not" | "NOT", None) => Tok::Not,
            (_, None) => {
                return Err(Error::InvalidArg(format!(
                    "filter: '{key}' at position {pos} is not KEY=VALUE, KEY!=VALUE, and, or, not or a parenthesis"
                )))
            }
            ("", Some(_)) => return Err(Error::InvalidArg(format!("filter: no key before '=' at position {pos}"))),
            (_, Some((neg, v))) => Tok::Term(key, neg, v),
        };
        out.push((tok, pos));
    }
    Ok(out)
}

struct Parser<'a> {
    tokens: Vec<Token>,
    at: usize,
    text: &'a str,
}

impl Parser<'_> {
    fn err(&self, t: &Token, what: &str) -> Error {
        Error::InvalidArg(format!("filter '{}': position {}: {what}", self.text, t.1))
    }

    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.at).map(|t| &t.0)
    }

    fn or(&mut self) -> Result<Filter> {
        let mut f = self.and()?;
        while self.peek() == Some(&Tok::Or) {
            self.at += 1;
            f = f.or(self.and()?);
        }
        Ok(f)
    }

    fn and(&mut self) -> Result<Filter> {
        let mut f = self.not()?;
        loop {
            match self.peek() {
                Some(Tok::And) => {
                    self.at += 1;
                    f = f.and(self.not()?);
                }
                // Terms side by side are and-ed.
                Some(Tok::Not | Tok::Open | Tok::Term(..)) => f = f.and(self.not()?),
                _ => return Ok(f),
            }
        }
    }

    fn not(&mut self) -> Result<Filter> {
        if self.peek() == Some(&Tok::Not) {
            self.at += 1;
            return Ok(self.not()?.not());
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Filter> {
        let Some(t) = self.tokens.get(self.at).cloned() else {
            return Err(Error::InvalidArg(format!("filter '{}': ends where a term was expected", self.text)));
        };
        self.at += 1;
        match t.0 {
            Tok::Open => {
                let f = self.or()?;
                match self.tokens.get(self.at) {
                    Some((Tok::Close, _)) => {
                        self.at += 1;
                        Ok(f)
                    }
                    Some(other) => Err(self.err(other, "expected ')'")),
                    None => Err(self.err(&t, "this '(' is not closed")),
                }
            }
            Tok::Term(key, neg, value) => {
                let f = match key.as_str() {
                    "name" => Filter::name(&value),
                    "group" | "groups" => Filter::group(&value),
                    path => Filter::data(path, &value),
                };
                Ok(if neg { f.not() } else { f })
            }
            _ => Err(self.err(&t, "expected a term or '('")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("sw*", "sw1") && glob("*", "") && glob("s?1", "sw1") && glob("*-core-*", "a-core-b"));
        assert!(!glob("sw*", "rt1") && !glob("s?", "sw1") && !glob("sw1", "sw10"));
    }

    #[test]
    fn precedence_and_errors() {
        let f = Filter::parse("group=a or name=b* not site=x").unwrap();
        assert_eq!(f, Filter::group("a").or(Filter::name("b*").and(Filter::data("site", "x").not())));
        let f = Filter::parse("(group=a or group=b) and rack__row!=3 descr=\"a (b)\"").unwrap();
        assert_eq!(
            f,
            Filter::group("a")
                .or(Filter::group("b"))
                .and(Filter::data("rack.row", "3").not())
                .and(Filter::data("descr", "a (b)"))
        );
        for (text, want) in [
            ("", "empty"),
            ("sw1", "'sw1' at position 1 is not KEY=VALUE"),
            ("name=a or", "ends where a term"),
            ("(name=a", "position 1: this '(' is not closed"),
            ("name=a )", "position 8: unexpected"),
            ("x=\"open", "quote at position 3 is not closed"),
        ] {
            let e = Filter::parse(text).unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }
}
