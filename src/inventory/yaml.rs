//! An inventory file as a tree of nodes that remember their line, so that an error found after
//! parsing (an unknown group, a port out of range) still names where it is. Anchors and aliases
//! are resolved by the parser; a file may hold one document.

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Node {
    /// 1-based.
    pub line: usize,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Keys in file order, each with its own line.
    Map(Vec<(String, usize, Node)>),
}

impl Value {
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// Parses `text`, read from `file` (named in errors). An empty file (or one of comments only)
/// is `None`.
pub(super) fn parse(file: &str, text: &str) -> Result<Option<Node>> {
    let docs = MarkedYaml::load_from_str(text)
        .map_err(|e| Error::InvalidArg(format!("{file}, line {}: {}", e.marker().line(), e.info())))?;
    if docs.len() > 1 {
        let line = docs[1].span.start.line();
        return Err(Error::InvalidArg(format!(
            "{file}, line {line}: a second YAML document; an inventory file holds one"
        )));
    }
    docs.first().map(|d| node(file, d)).transpose()
}

fn node(file: &str, n: &MarkedYaml<'_>) -> Result<Node> {
    let line = n.span.start.line();
    let value = match &n.data {
        YamlData::Value(s) => scalar(s),
        // Scalars are resolved while loading; one left raw is a plain string.
        YamlData::Representation(text, _, _) => Value::Str(text.to_string()),
        YamlData::Sequence(items) => Value::Seq(items.iter().map(|i| node(file, i)).collect::<Result<_>>()?),
        YamlData::Mapping(map) => {
            let mut out = Vec::with_capacity(map.len());
            for (k, v) in map {
                let key = match node(file, k)?.value {
                    Value::Str(s) => s,
                    Value::Int(i) => i.to_string(),
                    Value::Bool(b) => b.to_string(),
                    Value::Float(f) => f.to_string(),
                    other => {
                        return Err(Error::InvalidArg(format!(
                            "{file}, line {}: a key is {}; keys are names",
                            k.span.start.line(),
                            other.kind()
                        )))
                    }
                };
                out.push((key, k.span.start.line(), node(file, v)?));
            }
            Value::Map(out)
        }
        YamlData::Tagged(_, inner) => node(file, inner)?.value,
        YamlData::Alias(_) | YamlData::BadValue => {
            return Err(Error::InvalidArg(format!("{file}, line {line}: a value that is not valid YAML")))
        }
    };
    Ok(Node { line, value })
}

fn scalar(s: &Scalar<'_>) -> Value {
    match s {
        Scalar::Null => Value::Null,
        Scalar::Boolean(b) => Value::Bool(*b),
        Scalar::Integer(i) => Value::Int(*i),
        Scalar::FloatingPoint(f) => Value::Float(f.into_inner()),
        Scalar::String(s) => Value::Str(s.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_keep_their_lines_and_aliases_resolve() {
        let n = parse("h.yaml", "a: 1\nb:\n  c: [x, 2.5, true, ~]\n  d: &x {e: 1}\n  f: *x\n").unwrap().unwrap();
        let Value::Map(m) = n.value else { panic!() };
        assert_eq!((m[0].0.as_str(), m[0].1), ("a", 1));
        let Value::Map(b) = &m[1].2.value else { panic!() };
        assert_eq!(b[0].2.line, 3);
        assert_eq!(b[2].2.value, b[1].2.value);
        assert_eq!(parse("h.yaml", "# nothing\n").unwrap(), None);
    }

    #[test]
    fn syntax_errors_and_duplicate_keys_name_file_and_line() {
        let e = parse("hosts.yaml", "sw1:\n  port: 22\n  port: 23\n").unwrap_err().to_string();
        assert!(e.contains("hosts.yaml, line 3: duplicated key"), "{e}");
        let e = parse("hosts.yaml", "sw1:\n  groups: [a\n").unwrap_err().to_string();
        assert!(e.contains("hosts.yaml, line 3:"), "{e}");
        let e = parse("hosts.yaml", "a: 1\n---\nb: 2\n").unwrap_err().to_string();
        assert!(e.contains("hosts.yaml, line 3: a second YAML document"), "{e}");
    }
}
