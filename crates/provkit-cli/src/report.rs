//! What a command prints: named fields in order, as an aligned table for people or as
//! one JSON object (`--json`) for scripts.

use serde_json::{Map, Value};

/// Named fields, printed in the order they were added.
#[derive(Debug, Default)]
pub struct Report(Vec<(&'static str, Value)>);

impl Report {
    /// Adds a field.
    pub fn field(&mut self, name: &'static str, value: impl Into<Value>) -> &mut Self {
        self.0.push((name, value.into()));
        self
    }

    /// Prints the report to stdout: JSON, or a table of `name  value` lines.
    pub fn print(&self, json: bool) {
        if json {
            let object: Map<String, Value> = self
                .0
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect();
            println!("{}", Value::Object(object));
            return;
        }
        let width = self.0.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for (name, value) in &self.0 {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Array(items) => items
                    .iter()
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                    .collect::<Vec<_>>()
                    .join(", "),
                Value::Null => "-".to_owned(),
                other => other.to_string(),
            };
            println!("{:width$}  {text}", name.replace('_', " "));
        }
    }
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Prints rows of named cells: an aligned table with a header line, or a JSON array of
/// objects; `empty` when there are no rows (table only).
pub fn print_rows(rows: &[Vec<(&'static str, String)>], json: bool, empty: &str) {
    if json {
        let array: Vec<Value> = rows
            .iter()
            .map(|row| {
                Value::Object(
                    row.iter()
                        .map(|(k, v)| ((*k).to_owned(), Value::from(v.as_str())))
                        .collect(),
                )
            })
            .collect();
        println!("{}", Value::Array(array));
        return;
    }
    let Some(first) = rows.first() else {
        println!("{empty}");
        return;
    };
    let mut widths: Vec<usize> = first.iter().map(|(k, _)| k.len()).collect();
    for row in rows {
        for (w, (_, v)) in widths.iter_mut().zip(row) {
            *w = (*w).max(v.len());
        }
    }
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    println!(
        "{}",
        line(
            first
                .iter()
                .map(|(k, _)| k.replace('_', " "))
                .collect::<Vec<_>>()
                .iter()
                .map(String::as_str)
                .collect()
        )
    );
    for row in rows {
        println!("{}", line(row.iter().map(|(_, v)| v.as_str()).collect()));
    }
}
