//! What commands print: aligned text tables (column widths computed from the content, in the
//! spirit of RocketMQ's `%-32s` columns, but never truncating or misaligning) and, with the
//! global `--json` flag, one JSON document per run for scripts.
//!
//! A command writes both views: text through [`Output::line`] / [`Output::table`] /
//! [`Output::pairs`] (ignored in JSON mode) and the document through [`Output::json`] (ignored
//! in text mode). [`Output::table_result`] does both for the common "one table" case.

use serde_json::{Map, Value};

/// Gap between table columns.
const COLUMN_GAP: &str = "  ";

/// One column: the title shown in text mode (RocketMQ style, `#Broker Name`) and the key
/// used in JSON objects (`brokerName`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Header text.
    pub title: String,
    /// JSON object key.
    pub key: String,
}

/// A table of JSON scalar cells; strings print as is, numbers and booleans in their JSON form.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    columns: Vec<Column>,
    rows: Vec<Vec<Value>>,
}

impl Table {
    /// A table with `(title, json key)` columns.
    pub fn new(columns: &[(&str, &str)]) -> Self {
        Table {
            columns: columns
                .iter()
                .map(|(title, key)| Column {
                    title: title.to_string(),
                    key: key.to_string(),
                })
                .collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row; missing cells print empty, extra cells are dropped.
    pub fn row(&mut self, mut cells: Vec<Value>) {
        cells.resize(self.columns.len(), Value::String(String::new()));
        self.rows.push(cells);
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True without rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The rows as JSON objects keyed by column key.
    pub fn to_json(&self) -> Value {
        let rows = self
            .rows
            .iter()
            .map(|row| {
                let mut obj = Map::new();
                for (col, cell) in self.columns.iter().zip(row) {
                    obj.insert(col.key.clone(), cell.clone());
                }
                Value::Object(obj)
            })
            .collect();
        Value::Array(rows)
    }

    /// Renders the header and rows, each column as wide as its widest cell, columns separated
    /// by two spaces, no trailing spaces. Every line ends with `\n`.
    pub fn render(&self) -> String {
        let header: Vec<String> = self.columns.iter().map(|c| c.title.clone()).collect();
        let body: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| r.iter().map(cell_text).collect())
            .collect();
        let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
        for row in &body {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for line in std::iter::once(&header).chain(body.iter()) {
            render_line(line, &widths, &mut out);
        }
        out
    }
}

fn render_line(cells: &[String], widths: &[usize], out: &mut String) {
    let mut line = String::new();
    for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
        if i > 0 {
            line.push_str(COLUMN_GAP);
        }
        line.push_str(cell);
        let pad = width.saturating_sub(cell.chars().count());
        line.extend(std::iter::repeat_n(' ', pad));
    }
    out.push_str(line.trim_end());
    out.push('\n');
}

/// The text form of a cell.
pub fn cell_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Renders `key: value` lines with the keys padded to the longest key (`%-Ns: %s`).
pub fn render_pairs(pairs: &[(String, String)], separator: &str) -> String {
    let width = pairs
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (k, v) in pairs {
        out.push_str(k);
        out.extend(std::iter::repeat_n(' ', width - k.chars().count()));
        let line_end = format!("{separator}{v}");
        out.push_str(line_end.trim_end());
        out.push('\n');
    }
    out
}

/// The JSON object of `(key, value)` string pairs (later duplicates win).
pub fn pairs_to_json(pairs: &[(String, String)]) -> Value {
    let mut obj = Map::new();
    for (k, v) in pairs {
        obj.insert(k.clone(), Value::String(v.clone()));
    }
    Value::Object(obj)
}

/// Collected output of one command run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Output {
    json_mode: bool,
    text: String,
    document: Option<Value>,
    warnings: Vec<String>,
}

impl Output {
    /// Text output, or JSON output when `json_mode`.
    pub fn new(json_mode: bool) -> Self {
        Output {
            json_mode,
            ..Default::default()
        }
    }

    /// True in `--json` mode.
    pub fn is_json(&self) -> bool {
        self.json_mode
    }

    /// A line of text (text mode only); `\n` is appended.
    pub fn line(&mut self, text: impl AsRef<str>) {
        if !self.json_mode {
            self.text.push_str(text.as_ref());
            self.text.push('\n');
        }
    }

    /// An aligned table (text mode only).
    pub fn table(&mut self, table: &Table) {
        if !self.json_mode {
            self.text.push_str(&table.render());
        }
    }

    /// Aligned `key<separator>value` lines (text mode only).
    pub fn pairs(&mut self, pairs: &[(String, String)], separator: &str) {
        if !self.json_mode {
            self.text.push_str(&render_pairs(pairs, separator));
        }
    }

    /// Sets the JSON document (JSON mode only; a later call replaces an earlier one).
    pub fn json(&mut self, document: Value) {
        if self.json_mode {
            self.document = Some(document);
        }
    }

    /// A warning for stderr (both modes): a partial failure that does not fail the command.
    pub fn warn(&mut self, text: impl Into<String>) {
        self.warnings.push(text.into());
    }

    /// The warnings collected so far, emptying the list.
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    /// A table in text mode, the table's rows as a JSON array in JSON mode.
    pub fn table_result(&mut self, table: &Table) {
        self.table(table);
        self.json(table.to_json());
    }

    /// Everything to print on stdout: the text, or the pretty-printed JSON document followed
    /// by a newline (nothing if the command set none, as when it failed early).
    pub fn into_stdout(self) -> String {
        if !self.json_mode {
            return self.text;
        }
        match self.document {
            Some(doc) => {
                let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
                s.push('\n');
                s
            }
            None => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn columns_fit_the_widest_cell() {
        let mut t = Table::new(&[
            ("#Broker Name", "brokerName"),
            ("#QID", "queueId"),
            ("#Offset", "offset"),
        ]);
        t.row(vec![json!("broker-a"), json!(0), json!(12)]);
        t.row(vec![
            json!("a-much-longer-broker-name"),
            json!(15),
            json!(3),
        ]);
        assert_eq!(
            t.render(),
            "#Broker Name               #QID  #Offset\n\
             broker-a                   0     12\n\
             a-much-longer-broker-name  15    3\n"
        );
    }

    #[test]
    fn short_rows_are_padded_and_unicode_counts_chars() {
        let mut t = Table::new(&[("#A", "a"), ("#B", "b")]);
        t.row(vec![json!("é中")]);
        t.row(vec![json!("x"), json!(true)]);
        assert_eq!(t.render(), "#A  #B\né中\nx   true\n");
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn table_json_uses_keys_and_keeps_types() {
        let mut t = Table::new(&[("#Topic", "topic"), ("#Diff", "diff")]);
        t.row(vec![json!("T"), json!(5)]);
        assert_eq!(t.to_json(), json!([{"topic": "T", "diff": 5}]));
        assert_eq!(Table::new(&[("#X", "x")]).to_json(), json!([]));
    }

    #[test]
    fn pairs_are_aligned_on_the_longest_key() {
        let pairs = vec![
            ("a".to_string(), "1".to_string()),
            ("longer".to_string(), "".to_string()),
        ];
        assert_eq!(render_pairs(&pairs, ": "), "a     : 1\nlonger:\n");
        assert_eq!(pairs_to_json(&pairs), json!({"a": "1", "longer": ""}));
    }

    #[test]
    fn modes_select_what_is_printed() {
        let mut t = Table::new(&[("#K", "k")]);
        t.row(vec![json!("v")]);
        let mut text = Output::new(false);
        text.line("hello");
        text.table_result(&t);
        text.json(json!({"ignored": true}));
        assert_eq!(text.into_stdout(), "hello\n#K\nv\n");
        let mut js = Output::new(true);
        js.line("hello");
        js.table_result(&t);
        let parsed: Value = serde_json::from_str(&js.into_stdout()).unwrap();
        assert_eq!(parsed, json!([{"k": "v"}]));
        assert_eq!(Output::new(true).into_stdout(), "");
    }
}
