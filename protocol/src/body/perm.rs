//! Topic and broker permission bits (Java `PermName`).
//!
//! A topic's `perm` (and a queue data's in route bodies) is a bit set of these flags; the usual
//! value is 6 (read + write).

/// Priority flag (set by admin tools on some topics).
pub const PERM_PRIORITY: i32 = 0x1 << 3;
/// Consumers may read the topic.
pub const PERM_READ: i32 = 0x1 << 2;
/// Producers may write the topic.
pub const PERM_WRITE: i32 = 0x1 << 1;
/// The topic config is inherited from the template topic.
pub const PERM_INHERIT: i32 = 0x1;
/// Read and write: the default for new topics.
pub const PERM_READ_WRITE: i32 = PERM_READ | PERM_WRITE;

/// Whether `perm` grants reading.
pub fn is_readable(perm: i32) -> bool {
    perm & PERM_READ == PERM_READ
}

/// Whether `perm` grants writing.
pub fn is_writeable(perm: i32) -> bool {
    perm & PERM_WRITE == PERM_WRITE
}

/// Whether `perm` carries the inherit flag.
pub fn is_inherited(perm: i32) -> bool {
    perm & PERM_INHERIT == PERM_INHERIT
}

/// Whether `perm` carries the priority flag.
pub fn is_priority(perm: i32) -> bool {
    perm & PERM_PRIORITY == PERM_PRIORITY
}

/// Java's `PermName.perm2String`: `R`, `W` and `X` (inherit) or `-` in that order.
pub fn perm_to_string(perm: i32) -> String {
    let mut s = String::with_capacity(3);
    s.push(if is_readable(perm) { 'R' } else { '-' });
    s.push(if is_writeable(perm) { 'W' } else { '-' });
    s.push(if is_inherited(perm) { 'X' } else { '-' });
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_match_rocketmq() {
        assert_eq!(
            (PERM_PRIORITY, PERM_READ, PERM_WRITE, PERM_INHERIT),
            (8, 4, 2, 1)
        );
        assert_eq!(PERM_READ_WRITE, 6);
    }

    #[test]
    fn predicates_and_strings() {
        assert!(is_readable(6) && is_writeable(6) && !is_inherited(6) && !is_priority(6));
        assert!(!is_readable(2) && is_writeable(2));
        assert!(is_readable(4) && !is_writeable(4));
        assert!(is_priority(8 | 6) && is_inherited(7));
        assert_eq!(perm_to_string(6), "RW-");
        assert_eq!(perm_to_string(7), "RWX");
        assert_eq!(perm_to_string(4), "R--");
        assert_eq!(perm_to_string(0), "---");
    }
}
