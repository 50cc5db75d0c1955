//! Parsed records, in the shape netmiko returns them: the template's Value names in lower
//! case, each a string or (List values) a list of strings.

use serde::ser::{Serialize, SerializeMap, Serializer};

/// One value of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    Text(String),
    /// A `List` value: every match, in order.
    List(Vec<String>),
    /// A `List` value whose regex has named groups: one map per match, as Python's textfsm
    /// gives them.
    Maps(Vec<Vec<(String, String)>>),
}

impl Field {
    /// The text of a single value (None for lists).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Field::Text(s) => Some(s),
            _ => None,
        }
    }
}

/// One record: fields in the template's Value order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Record {
    pub(crate) fields: Vec<(String, Field)>,
}

impl Record {
    /// The field named `key` (lower case, as the record stores it).
    pub fn get(&self, key: &str) -> Option<&Field> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The text of the single-valued field `key`.
    pub fn text(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Field::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Field)> {
        self.fields.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub(crate) fn set(&mut self, key: &str, value: Field) {
        match self.fields.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => *v = value,
            None => self.fields.push((key.to_string(), value)),
        }
    }
}

impl Serialize for Field {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Field::Text(t) => s.serialize_str(t),
            Field::List(l) => l.serialize(s),
            Field::Maps(maps) => s.collect_seq(maps.iter().map(|m| Pairs(m))),
        }
    }
}

/// Pairs as a JSON object, in order.
struct Pairs<'a, V>(&'a [(String, V)]);

impl<V: Serialize> Serialize for Pairs<'_, V> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl Serialize for Record {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        Pairs(&self.fields).serialize(s)
    }
}

/// Records as JSON text: an array of objects.
pub fn to_json(records: &[Record]) -> String {
    crate::json::to_string(records)
}
