//! Parser for Java-style `.properties` files (`broker.conf`, `namesrv.conf`), so an operator's
//! existing RocketMQ config files work unchanged.
//!
//! Supported: `key=value`, `key: value` and `key value`; `#` and `!` comment lines; blank lines;
//! whitespace around keys and values trimmed; a trailing backslash continues the line; the escapes
//! `\t \n \r \\ \= \: \#` and `\uXXXX`. Keys keep their case (RocketMQ keys are camelCase).

use std::fmt;

/// One `key = value` entry with the line it started on (for error messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    /// The key, unescaped.
    pub key: String,
    /// The value, unescaped and trimmed.
    pub value: String,
    /// 1-based line number where the entry starts.
    pub line: usize,
}

/// A line that cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub detail: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.detail)
    }
}

impl std::error::Error for ParseError {}

/// Parses the whole text. Entries come back in file order; a later duplicate key is returned too
/// (callers apply them in order, so the last one wins, as in Java).
pub fn parse(text: &str) -> Result<Vec<Property>, ParseError> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((idx, raw)) = lines.next() {
        let start_line = idx + 1;
        let trimmed = raw.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('!') {
            continue;
        }
        let mut logical = trimmed.to_string();
        while ends_with_continuation(&logical) {
            logical.pop();
            match lines.next() {
                Some((_, next)) => logical.push_str(next.trim_start()),
                None => break,
            }
        }
        let (key, value) = split_entry(&logical);
        let key = unescape(key, start_line)?;
        if key.is_empty() {
            return Err(ParseError {
                line: start_line,
                detail: "empty key".into(),
            });
        }
        let value = unescape(value, start_line)?.trim().to_string();
        out.push(Property {
            key,
            value,
            line: start_line,
        });
    }
    Ok(out)
}

/// True when the line ends in an odd number of backslashes.
fn ends_with_continuation(s: &str) -> bool {
    s.chars().rev().take_while(|c| *c == '\\').count() % 2 == 1
}

/// Splits at the first unescaped `=`, `:` or whitespace.
fn split_entry(line: &str) -> (&str, &str) {
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '=' | ':' => return (line[..i].trim_end(), line[i + 1..].trim_start()),
            c if c.is_whitespace() => {
                let rest = line[i..].trim_start();
                let rest = rest
                    .strip_prefix('=')
                    .or_else(|| rest.strip_prefix(':'))
                    .unwrap_or(rest);
                return (&line[..i], rest.trim_start());
            }
            _ => {}
        }
    }
    (line, "")
}

fn unescape(s: &str, line: usize) -> Result<String, ParseError> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let ch = u32::from_str_radix(&hex, 16)
                    .ok()
                    .filter(|_| hex.len() == 4)
                    .and_then(char::from_u32)
                    .ok_or_else(|| ParseError {
                        line,
                        detail: format!("bad unicode escape \\u{hex}"),
                    })?;
                out.push(ch);
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(text: &str) -> Vec<(String, String)> {
        parse(text)
            .unwrap()
            .into_iter()
            .map(|p| (p.key, p.value))
            .collect()
    }

    #[test]
    fn rocketmq_broker_conf() {
        let text = "# comment\n! also comment\n\nbrokerClusterName = DefaultCluster\nbrokerName=broker-a\n\
                    brokerId : 0\ndeleteWhen 04\nnamesrvAddr=127.0.0.1:9876;127.0.0.1:9877\n";
        assert_eq!(
            kv(text),
            vec![
                ("brokerClusterName".into(), "DefaultCluster".into()),
                ("brokerName".into(), "broker-a".into()),
                ("brokerId".into(), "0".into()),
                ("deleteWhen".into(), "04".into()),
                ("namesrvAddr".into(), "127.0.0.1:9876;127.0.0.1:9877".into()),
            ]
        );
    }

    #[test]
    fn continuation_escapes_and_empty_values() {
        let text = "messageDelayLevel=1s 5s \\\n   10s\nkey\\=x=a\\u0041\\tb\nempty=\nlone\n";
        assert_eq!(
            kv(text),
            vec![
                ("messageDelayLevel".into(), "1s 5s 10s".into()),
                ("key=x".into(), "aA\tb".into()),
                ("empty".into(), String::new()),
                ("lone".into(), String::new()),
            ]
        );
    }

    #[test]
    fn errors_name_the_line() {
        let err = parse("a=1\n=2\n").unwrap_err();
        assert_eq!(err.line, 2);
        let err = parse("a=\\uZZ\n").unwrap_err();
        assert_eq!(err.line, 1);
    }
}
