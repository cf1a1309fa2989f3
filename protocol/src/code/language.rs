//! SDK language codes (RocketMQ `LanguageCode`).

/// The sender's SDK language. Binary headers carry the byte, JSON headers the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[allow(non_camel_case_types, missing_docs)]
pub enum LanguageCode {
    #[default]
    JAVA,
    CPP,
    DOTNET,
    PYTHON,
    DELPHI,
    ERLANG,
    RUBY,
    OTHER,
    HTTP,
    GO,
    PHP,
    OMS,
    RUST,
    NODE_JS,
}

const ALL: [(LanguageCode, u8, &str); 14] = [
    (LanguageCode::JAVA, 0, "JAVA"),
    (LanguageCode::CPP, 1, "CPP"),
    (LanguageCode::DOTNET, 2, "DOTNET"),
    (LanguageCode::PYTHON, 3, "PYTHON"),
    (LanguageCode::DELPHI, 4, "DELPHI"),
    (LanguageCode::ERLANG, 5, "ERLANG"),
    (LanguageCode::RUBY, 6, "RUBY"),
    (LanguageCode::OTHER, 7, "OTHER"),
    (LanguageCode::HTTP, 8, "HTTP"),
    (LanguageCode::GO, 9, "GO"),
    (LanguageCode::PHP, 10, "PHP"),
    (LanguageCode::OMS, 11, "OMS"),
    (LanguageCode::RUST, 12, "RUST"),
    (LanguageCode::NODE_JS, 13, "NODE_JS"),
];

impl LanguageCode {
    /// The byte used in binary headers.
    pub fn code(self) -> u8 {
        ALL[self as usize].1
    }

    /// The name used in JSON headers.
    pub fn name(self) -> &'static str {
        ALL[self as usize].2
    }

    /// Decode the binary byte; unknown values become `OTHER` (never an error: it is informational).
    pub fn from_code(code: u8) -> Self {
        ALL.iter()
            .find(|(_, c, _)| *c == code)
            .map_or(LanguageCode::OTHER, |e| e.0)
    }

    /// Decode the JSON name; unknown names become `OTHER`.
    pub fn from_name(name: &str) -> Self {
        ALL.iter()
            .find(|(_, _, n)| *n == name)
            .map_or(LanguageCode::OTHER, |e| e.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_rocketmq() {
        assert_eq!(LanguageCode::JAVA.code(), 0);
        assert_eq!(LanguageCode::GO.code(), 9);
        assert_eq!(LanguageCode::RUST.code(), 12);
        assert_eq!(LanguageCode::NODE_JS.code(), 13);
        for (lang, code, name) in ALL {
            assert_eq!(LanguageCode::from_code(code), lang);
            assert_eq!(LanguageCode::from_name(name), lang);
        }
        assert_eq!(LanguageCode::from_code(200), LanguageCode::OTHER);
        assert_eq!(LanguageCode::from_name("COBOL"), LanguageCode::OTHER);
    }
}
