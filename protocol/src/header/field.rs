//! The field-level machinery behind every typed header: how one Rust field type maps to one
//! extFields entry, and the `command_header!` macro that writes the struct plus its
//! [`CommandHeader`](super::CommandHeader) impl from a table of `field: Type = "key"` lines.
//!
//! Required-ness follows the Rust type, as in Java's `@CFNotNull`: a plain `String`, `i32`,
//! `i64` or `bool` field must be present (absent is `Error::MissingField(key)`), an `Option<T>`
//! field may be absent. Numbers that do not parse are `Error::InvalidField`; booleans follow
//! Java's `Boolean.parseBoolean` (only `true`, any case, is true), so they never fail.
//! Values are rendered the way Java's `toString` does (`"true"`/`"false"`, decimal numbers).

use crate::error::Result;
use crate::ext_fields::ExtFields;

/// One header field type: read from / written to the extFields entry named `key`.
pub(crate) trait HeaderField: Sized {
    /// Reads the field; required types fail on absence, `Option` types yield `None`.
    fn read_field(ext: &ExtFields, key: &'static str) -> Result<Self>;
    /// Writes the field; `None` writes nothing (Java skips null fields).
    fn write_field(&self, ext: &mut ExtFields, key: &'static str);
}

impl HeaderField for String {
    fn read_field(ext: &ExtFields, key: &'static str) -> Result<Self> {
        ext.string_required(key)
    }
    fn write_field(&self, ext: &mut ExtFields, key: &'static str) {
        ext.insert(key, self.as_str());
    }
}

impl HeaderField for Option<String> {
    fn read_field(ext: &ExtFields, key: &'static str) -> Result<Self> {
        Ok(ext.string_opt(key))
    }
    fn write_field(&self, ext: &mut ExtFields, key: &'static str) {
        ext.insert_opt(key, self.as_deref());
    }
}

impl HeaderField for bool {
    fn read_field(ext: &ExtFields, key: &'static str) -> Result<Self> {
        ext.bool_required(key)
    }
    fn write_field(&self, ext: &mut ExtFields, key: &'static str) {
        ext.insert(key, self.to_string());
    }
}

impl HeaderField for Option<bool> {
    fn read_field(ext: &ExtFields, key: &'static str) -> Result<Self> {
        Ok(ext.bool_opt(key))
    }
    fn write_field(&self, ext: &mut ExtFields, key: &'static str) {
        ext.insert_opt(key, *self);
    }
}

/// Implements [`HeaderField`] for a number type and its `Option`.
macro_rules! number_field {
    ($ty:ty, $required:ident, $optional:ident) => {
        impl HeaderField for $ty {
            fn read_field(ext: &ExtFields, key: &'static str) -> Result<Self> {
                ext.$required(key)
            }
            fn write_field(&self, ext: &mut ExtFields, key: &'static str) {
                ext.insert(key, self.to_string());
            }
        }

        impl HeaderField for Option<$ty> {
            fn read_field(ext: &ExtFields, key: &'static str) -> Result<Self> {
                ext.$optional(key)
            }
            fn write_field(&self, ext: &mut ExtFields, key: &'static str) {
                ext.insert_opt(key, *self);
            }
        }
    };
}

number_field!(i32, i32_required, i32_opt);
number_field!(i64, i64_required, i64_opt);

/// The key to read a field from: the first of `keys` present in `ext`, else the first key (so a
/// missing required field is reported under its canonical name). Used for alternative
/// spellings such as `proxyFrowardClientId` / `proxyForwardClientId`.
pub(crate) fn pick_key(ext: &ExtFields, keys: &[&'static str]) -> &'static str {
    keys.iter()
        .copied()
        .find(|k| ext.get(k).is_some())
        .unwrap_or(keys[0]) // invariant: the macro always passes at least the primary key
}

/// Defines a header struct and its `CommandHeader` impl from `field: Type = "key"` lines.
///
/// Fields are written in declaration order, which makes encoded frames deterministic. A key may
/// be followed by `| "alias"` spellings that are accepted on read (the first key is written).
macro_rules! command_header {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$fmeta:meta])*
                $field:ident : $fty:ty = $key:literal $(| $alias:literal)*,
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        pub struct $name {
            $(
                $(#[$fmeta])*
                pub $field: $fty,
            )*
        }

        impl $crate::header::CommandHeader for $name {
            #[allow(unused_variables)]
            fn write_to(&self, ext: &mut $crate::ext_fields::ExtFields) {
                $(
                    $crate::header::field::HeaderField::write_field(&self.$field, ext, $key);
                )*
            }

            #[allow(unused_variables)]
            fn read_from(ext: &$crate::ext_fields::ExtFields) -> $crate::error::Result<Self> {
                Ok($name {
                    $(
                        $field: <$fty as $crate::header::field::HeaderField>::read_field(
                            ext,
                            $crate::header::field::pick_key(ext, &[$key $(, $alias)*]),
                        )?,
                    )*
                })
            }
        }
    };
}

pub(crate) use command_header;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::header::CommandHeader;

    command_header! {
        /// A header exercising every field type.
        pub struct Sample {
            /// Required string.
            name: String = "name",
            /// Required int.
            count: i32 = "count",
            /// Optional long with an alias.
            offset: Option<i64> = "offset" | "offs",
            /// Optional boolean.
            flag: Option<bool> = "flag",
        }
    }

    #[test]
    fn macro_header_round_trips_and_reports_errors() {
        let h = Sample {
            name: "n".into(),
            count: -3,
            offset: Some(1 << 40),
            flag: Some(true),
        };
        let mut ext = ExtFields::new();
        h.write_to(&mut ext);
        let pairs: Vec<_> = ext.iter().collect();
        assert_eq!(
            pairs,
            [
                ("name", "n"),
                ("count", "-3"),
                ("offset", "1099511627776"),
                ("flag", "true")
            ]
        );
        assert_eq!(Sample::read_from(&ext), Ok(h));

        ext.remove("count");
        assert_eq!(Sample::read_from(&ext), Err(Error::MissingField("count")));
        ext.insert("count", "x");
        assert!(matches!(
            Sample::read_from(&ext),
            Err(Error::InvalidField { field: "count", .. })
        ));
    }

    #[test]
    fn aliases_are_read_and_the_primary_key_wins() {
        let ext: ExtFields = [("name", "n"), ("count", "1"), ("offs", "5")]
            .into_iter()
            .collect();
        assert_eq!(Sample::read_from(&ext).map(|s| s.offset), Ok(Some(5)));
        let ext: ExtFields = [
            ("name", "n"),
            ("count", "1"),
            ("offs", "5"),
            ("offset", "6"),
        ]
        .into_iter()
        .collect();
        assert_eq!(Sample::read_from(&ext).map(|s| s.offset), Ok(Some(6)));
        let ext: ExtFields = [("name", "n"), ("count", "1")].into_iter().collect();
        assert_eq!(Sample::read_from(&ext).map(|s| s.offset), Ok(None));
    }
}
