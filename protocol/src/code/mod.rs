//! Request, response and language codes, pinned to RocketMQ's numbers.
//!
//! A [`RemotingCommand`](crate::RemotingCommand) carries its code as a raw `i32` so that unknown
//! codes survive decoding (the server answers them with `REQUEST_CODE_NOT_SUPPORTED`); the enums
//! here are the typed view.

mod language;
mod request;
mod response;

pub use language::LanguageCode;
pub use request::RequestCode;
pub use response::ResponseCode;

/// Declares a fieldless enum with explicit RocketMQ numbers plus `from_code`, `code` and `name`.
macro_rules! coded_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident : $repr:ty { $($(#[$vmeta:meta])* $variant:ident = $value:expr,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr($repr)]
        #[allow(non_camel_case_types)]
        $vis enum $name {
            $($(#[$vmeta])* $variant = $value,)*
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The typed code for a raw number, or `None` if RocketMQ defines no such code here.
            pub fn from_code(code: $repr) -> Option<Self> {
                match code {
                    $($value => Some($name::$variant),)*
                    _ => None,
                }
            }

            /// The raw RocketMQ number.
            pub fn code(self) -> $repr {
                self as $repr
            }

            /// RocketMQ's constant name (for logs and tools).
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => stringify!($variant),)*
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({})", self.name(), *self as $repr)
            }
        }
    };
}
pub(crate) use coded_enum;
