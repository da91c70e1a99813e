//! Printing answers: `-o json` prints proto3 JSON (the Cosmos shape: snake_case names,
//! 64-bit integers as strings, enums by name, bytes as base64); `-o text` prints the
//! same value as YAML, as the Cosmos SDK CLI does.
use anyhow::{bail, Result};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

impl Format {
    pub fn parse(s: &str) -> Result<Format> {
        match s {
            "text" => Ok(Format::Text),
            "json" => Ok(Format::Json),
            other => bail!("invalid --output {other:?}: text or json"),
        }
    }
}

/// Print a value in the chosen format.
pub fn print(value: &Value, format: Format) {
    match format {
        Format::Json => println!("{value}"),
        Format::Text => print!("{}", yaml(value)),
    }
}

pub fn to_value<T: serde::Serialize>(v: &T) -> Result<Value> {
    Ok(serde_json::to_value(v)?)
}

/// YAML rendering of a JSON value (block style; strings quoted when YAML would read
/// them as something else).
pub fn yaml(v: &Value) -> String {
    let mut out = String::new();
    match v {
        Value::Object(m) if !m.is_empty() => write_map(m, 0, &mut out),
        Value::Array(a) if !a.is_empty() => write_seq(a, 0, &mut out),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
    out
}

fn write_map(m: &serde_json::Map<String, Value>, indent: usize, out: &mut String) {
    for (k, v) in m {
        out.push_str(&" ".repeat(indent));
        if needs_quotes(k) {
            // As the Cosmos CLI prints `'@type':`.
            out.push('\'');
            out.push_str(&k.replace('\'', "''"));
            out.push('\'');
        } else {
            out.push_str(k);
        }
        out.push(':');
        write_nested(v, indent, out);
    }
}

fn write_seq(a: &[Value], indent: usize, out: &mut String) {
    for v in a {
        out.push_str(&" ".repeat(indent));
        out.push('-');
        match v {
            Value::Object(m) if !m.is_empty() => {
                // "- first: x" then the other keys aligned under it.
                let mut inner = String::new();
                write_map(m, indent + 2, &mut inner);
                out.push(' ');
                out.push_str(&inner[indent + 2..]);
            }
            Value::Array(a) if !a.is_empty() => {
                out.push('\n');
                write_seq(a, indent + 2, out);
            }
            other => {
                out.push(' ');
                out.push_str(&scalar(other));
                out.push('\n');
            }
        }
    }
}

fn write_nested(v: &Value, indent: usize, out: &mut String) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            write_map(m, indent + 2, out);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            write_seq(a, indent, out);
        }
        other => {
            out.push(' ');
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            if needs_quotes(s) {
                Value::String(s.clone()).to_string()
            } else {
                s.clone()
            }
        }
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

fn needs_quotes(s: &str) -> bool {
    let Some(first) = s.chars().next() else { return true };
    s.parse::<f64>().is_ok()
        || matches!(s.to_ascii_lowercase().as_str(), "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "~")
        || "-?:,[]{}#&*!|>'\"%@`".contains(first)
        || first.is_whitespace()
        || s.ends_with(char::is_whitespace)
        || s.contains(": ")
        || s.contains(" #")
        || s.contains(['\n', '\r', '\t'])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_matches_the_cosmos_cli_shape() {
        let v = json!({
            "datanet": {"id": "1", "name": "Medical QA", "tags": ["medical", "qa"], "curators": [], "min_stake": {"denom": "uopen", "amount": "10000"}},
            "list": [{"id": "1", "status": "CONTRIBUTION_STATUS_ACCEPTED"}, {"id": "2", "note": "a: b"}],
            "empty": {}, "flag": true, "blank": "", "@type": "/x.Y"
        });
        let text = yaml(&v);
        let expected = "\
datanet:
  id: \"1\"
  name: Medical QA
  tags:
  - medical
  - qa
  curators: []
  min_stake:
    denom: uopen
    amount: \"10000\"
list:
- id: \"1\"
  status: CONTRIBUTION_STATUS_ACCEPTED
- id: \"2\"
  note: \"a: b\"
empty: {}
flag: true
blank: \"\"
'@type': /x.Y
";
        assert_eq!(text, expected);
    }
}
