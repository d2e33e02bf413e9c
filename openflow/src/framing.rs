//! Cutting a byte stream into OpenFlow messages.
//!
//! Every OpenFlow message starts with an 8-byte header whose bytes 2..4 give the length of the
//! whole message. [`Framer`] buffers what a connection delivers and hands out complete
//! messages. A length below 8 can never be valid and makes the stream unusable (the peer and we
//! no longer agree on where messages start), so it is a [`FramingError`] and the connection
//! should be closed. The 16-bit length field cannot exceed 65535, so the buffer never holds
//! more than one maximal message plus what one read added.

use std::fmt;

/// Size of the OpenFlow header.
pub const HEADER_LEN: usize = 8;
/// Largest OpenFlow message.
pub const MAX_MESSAGE_LEN: usize = 65535;

/// The stream cannot be framed any more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FramingError {
    /// A header announced a length below the header size.
    LengthTooShort(u16),
}

impl fmt::Display for FramingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FramingError::LengthTooShort(n) => write!(f, "OpenFlow message length {n} is shorter than the 8-byte header"),
        }
    }
}

impl std::error::Error for FramingError {}

/// Finds the first complete message in `buf`: `Ok(Some(len))` if `buf[..len]` is one,
/// `Ok(None)` if more bytes are needed.
pub fn message_len(buf: &[u8]) -> Result<Option<usize>, FramingError> {
    if buf.len() < HEADER_LEN {
        return Ok(None);
    }
    let len = u16::from_be_bytes([buf[2], buf[3]]);
    if (len as usize) < HEADER_LEN {
        return Err(FramingError::LengthTooShort(len));
    }
    Ok((buf.len() >= len as usize).then_some(len as usize))
}

/// Splits `buf` into complete messages and the incomplete rest.
pub fn split_messages(mut buf: &[u8]) -> Result<(Vec<&[u8]>, &[u8]), FramingError> {
    let mut out = Vec::new();
    while let Some(n) = message_len(buf)? {
        let (msg, rest) = buf.split_at(n);
        out.push(msg);
        buf = rest;
    }
    Ok((out, buf))
}

/// A reassembly buffer for one connection.
#[derive(Debug, Default)]
pub struct Framer {
    buf: Vec<u8>,
    failed: Option<FramingError>,
}

impl Framer {
    /// An empty framer.
    pub fn new() -> Framer {
        Framer::default()
    }

    /// Appends bytes read from the connection.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete message, if any. After an error every call returns the same error.
    pub fn next_message(&mut self) -> Result<Option<Vec<u8>>, FramingError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        match message_len(&self.buf) {
            Ok(Some(n)) => {
                let rest = self.buf.split_off(n);
                Ok(Some(std::mem::replace(&mut self.buf, rest)))
            }
            Ok(None) => Ok(None),
            Err(e) => {
                self.failed = Some(e);
                self.buf = Vec::new();
                Err(e)
            }
        }
    }

    /// Bytes buffered but not yet part of a complete message.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELLO: [u8; 8] = [4, 0, 0, 8, 0, 0, 0, 1];
    const ECHO: [u8; 12] = [4, 2, 0, 12, 0, 0, 0, 2, 0xde, 0xad, 0xbe, 0xef];

    #[test]
    fn splits_concatenated_messages() {
        let mut s = HELLO.to_vec();
        s.extend_from_slice(&ECHO);
        s.extend_from_slice(&HELLO[..5]);
        let (msgs, rest) = split_messages(&s).unwrap();
        assert_eq!(msgs, vec![&HELLO[..], &ECHO[..]]);
        assert_eq!(rest, &HELLO[..5]);
    }

    #[test]
    fn reassembles_byte_by_byte() {
        let mut f = Framer::new();
        for (i, b) in ECHO.iter().enumerate() {
            assert_eq!(f.next_message(), Ok(None), "byte {i}");
            f.push(&[*b]);
        }
        assert_eq!(f.next_message(), Ok(Some(ECHO.to_vec())));
        assert_eq!(f.pending(), 0);
    }

    #[test]
    fn rejects_lengths_below_the_header() {
        let mut f = Framer::new();
        f.push(&[4, 0, 0, 7, 0, 0, 0, 1]);
        assert_eq!(f.next_message(), Err(FramingError::LengthTooShort(7)));
        f.push(&HELLO);
        assert_eq!(f.next_message(), Err(FramingError::LengthTooShort(7)));
        assert_eq!(message_len(&[4, 0, 0, 0, 0, 0, 0, 0]), Err(FramingError::LengthTooShort(0)));
    }

    #[test]
    fn the_largest_message_is_accepted() {
        let mut m = vec![0u8; MAX_MESSAGE_LEN];
        m[0] = 4;
        m[2] = 0xff;
        m[3] = 0xff;
        assert_eq!(message_len(&m), Ok(Some(MAX_MESSAGE_LEN)));
        assert_eq!(message_len(&m[..MAX_MESSAGE_LEN - 1]), Ok(None));
    }
}
