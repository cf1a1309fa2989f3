//! Tag hashing and subscription-expression filtering (wire reference §6.1, trap 19).
//!
//! The consume queue stores `tags_code` = Java `String.hashCode()` of the TAGS property; the
//! broker filters by comparing it with the hash codes of the subscribed tags, and the client
//! re-filters by tag string. This module owns the canonical Java hash and the `TAG_SUB`
//! expression ("TagA || TagB", "*").

/// Java's `String.hashCode()`: `h = 31*h + c` over UTF-16 code units with 32-bit wrap-around.
pub fn java_hash_code(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// Java hashCode of `bytes` decoded as UTF-8 the way Java decodes it (invalid sequences become
/// U+FFFD), without allocating. For tags read raw from a stored record.
pub fn java_hash_code_utf8(bytes: &[u8]) -> i32 {
    let mut h = 0i32;
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().encode_utf16() {
            h = h.wrapping_mul(31).wrapping_add(i32::from(c));
        }
        if !chunk.invalid().is_empty() {
            h = h.wrapping_mul(31).wrapping_add(0xFFFD);
        }
    }
    h
}

/// The consume-queue tags code of a message: Java hashCode of its tag sign-extended to i64, or
/// 0 when the message has no tag (absent or empty).
pub fn tags_code(tag: Option<&str>) -> i64 {
    match tag {
        Some(t) if !t.is_empty() => i64::from(java_hash_code(t)),
        _ => 0,
    }
}

/// [`tags_code`] for a raw TAGS value as found by
/// [`find_property`](crate::message::properties::find_property).
pub fn tags_code_utf8(tag: Option<&[u8]>) -> i64 {
    match tag {
        Some(t) if !t.is_empty() => i64::from(java_hash_code_utf8(t)),
        _ => 0,
    }
}

/// The subscription expression that selects everything.
pub const SUB_ALL: &str = "*";

/// A parsed tag subscription (`TAG` expression type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagFilter {
    all: bool,
    tags: Vec<String>,
    codes: Vec<i32>,
}

/// Parses a tag subscription expression as Java's `FilterAPI.buildSubscriptionData` does:
/// `"*"` or empty selects everything; otherwise split on `"||"`, trim each tag and drop empty
/// ones (so `"A || B"` equals `"A||B"`). An expression with no non-empty tag (e.g. `"||"`,
/// which Java rejects) selects nothing.
pub fn parse_sub_expression(expr: &str) -> TagFilter {
    if expr.is_empty() || expr == SUB_ALL {
        return TagFilter {
            all: true,
            tags: Vec::new(),
            codes: Vec::new(),
        };
    }
    let mut filter = TagFilter {
        all: false,
        tags: Vec::new(),
        codes: Vec::new(),
    };
    for tag in expr.split("||").map(str::trim).filter(|t| !t.is_empty()) {
        if !filter.tags.iter().any(|t| t == tag) {
            filter.codes.push(java_hash_code(tag));
            filter.tags.push(tag.to_owned());
        }
    }
    filter
}

impl TagFilter {
    /// Whether the filter selects every message (`*`).
    pub fn is_all(&self) -> bool {
        self.all
    }

    /// The distinct trimmed tags, in expression order (empty for `*`).
    pub fn tags(&self) -> &[String] {
        &self.tags
    }

    /// The Java hash codes of [`TagFilter::tags`].
    pub fn codes(&self) -> &[i32] {
        &self.codes
    }

    /// Broker-side check against a consume-queue tags code. Like Java, the code is truncated to
    /// i32 before the comparison.
    pub fn matches(&self, tags_code: i64) -> bool {
        // Truncation is intended: Java compares `(int) tagsCode`.
        self.all || self.codes.contains(&(tags_code as i32))
    }

    /// Client-side check against a message's tag: a message without a tag only passes `*`.
    pub fn matches_tag(&self, tag: Option<&str>) -> bool {
        self.all || tag.is_some_and(|t| self.tags.iter().any(|s| s == t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_hash_known_values() {
        assert_eq!(java_hash_code("TagA"), 2598919);
        assert_eq!(java_hash_code(""), 0);
        assert_eq!(java_hash_code("hello"), 99162322);
        // U+1F600 is the surrogate pair D83D DE00: 31 * 0xD83D + 0xDE00
        assert_eq!(java_hash_code("\u{1F600}"), 31 * 0xD83D + 0xDE00);
        assert_eq!(java_hash_code("\u{1F600}"), 1772899);
        // wrap-around: a long string overflows i32
        assert_eq!(
            java_hash_code("The quick brown fox jumps over the lazy dog"),
            -609428141
        );
        assert_eq!(java_hash_code("é"), 233);
    }

    #[test]
    fn utf8_hash_matches_str_hash() {
        for s in ["TagA", "", "héllo", "\u{1F600}x"] {
            assert_eq!(java_hash_code_utf8(s.as_bytes()), java_hash_code(s));
        }
        assert_eq!(java_hash_code_utf8(b"a\xffb"), java_hash_code("a\u{fffd}b"));
    }

    #[test]
    fn tags_code_of_absent_tag_is_zero() {
        assert_eq!(tags_code(None), 0);
        assert_eq!(tags_code(Some("")), 0);
        assert_eq!(tags_code(Some("TagA")), 2598919);
        assert_eq!(tags_code_utf8(Some(b"TagA")), 2598919);
        assert_eq!(tags_code_utf8(None), 0);
        // negative hashes are sign-extended
        let neg = "The quick brown fox jumps over the lazy dog";
        assert_eq!(tags_code(Some(neg)), -609428141i64);
    }

    #[test]
    fn sub_expression() {
        let all = parse_sub_expression("*");
        assert!(all.is_all() && all.matches(12345) && all.matches_tag(None));
        assert!(parse_sub_expression("").is_all());

        let spaced = parse_sub_expression(" TagA || TagB ||TagA");
        let tight = parse_sub_expression("TagA||TagB");
        assert_eq!(spaced, tight);
        assert_eq!(tight.tags(), ["TagA", "TagB"]);
        assert!(tight.matches(tags_code(Some("TagB"))));
        assert!(!tight.matches(tags_code(Some("TagC"))));
        assert!(!tight.matches(0));
        assert!(tight.matches_tag(Some("TagA")));
        assert!(!tight.matches_tag(Some("TagC")));
        assert!(!tight.matches_tag(None));

        let nothing = parse_sub_expression("||");
        assert!(!nothing.is_all() && nothing.tags().is_empty() && !nothing.matches(0));
    }
}
