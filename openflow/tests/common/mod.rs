//! What the integration tests share.

/// Bytes from hex digits, as the captures and fixtures write messages.
pub fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}
