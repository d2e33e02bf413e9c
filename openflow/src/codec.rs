//! Byte helpers shared by the codecs: a bounds-checked reader and big-endian writers.
//!
//! [`Reader`] carries the [`DecodeError`] to return when the input runs out, so that a decoder
//! reads field after field with `?` and a short input always becomes the error its context
//! calls for (`OFPBRC_BAD_LEN` for a message body, `OFPBMC_BAD_LEN` inside a match, ...).
//! Nothing here panics on any input.

use crate::error::DecodeError;

/// A cursor over untrusted bytes.
#[derive(Clone, Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    short: DecodeError,
}

impl<'a> Reader<'a> {
    /// A reader that fails with `short` when asked for more bytes than remain.
    pub(crate) fn new(buf: &'a [u8], short: DecodeError) -> Reader<'a> {
        Reader { buf, short }
    }

    /// Bytes left.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// True when no bytes are left.
    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The next `n` bytes.
    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.buf.len() {
            return Err(self.short);
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    /// The next `N` bytes as an array.
    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let b = self.bytes(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(b);
        Ok(a)
    }

    /// Skips `n` bytes.
    pub(crate) fn skip(&mut self, n: usize) -> Result<(), DecodeError> {
        self.bytes(n).map(|_| ())
    }

    /// One byte.
    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    /// A big-endian u16.
    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    /// A big-endian u32.
    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    /// A big-endian u64.
    pub(crate) fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// Everything left.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.buf)
    }

    /// The bytes left, without consuming them.
    pub(crate) fn peek(&self) -> &'a [u8] {
        self.buf
    }

    /// The next length-prefixed entry (a list element whose first two bytes are its whole
    /// length, at least `fixed`) as a reader of its own, whose short error is `short`.
    /// Fails with `short` when fewer than `fixed` bytes remain, and with `bad` when the
    /// length is below `fixed`, runs past the end, or is not a multiple of `align`.
    pub(crate) fn entry(&mut self, fixed: usize, align: usize, short: DecodeError, bad: DecodeError) -> Result<Reader<'a>, DecodeError> {
        if self.buf.len() < fixed {
            return Err(short);
        }
        let len = u16::from_be_bytes([self.buf[0], self.buf[1]]) as usize;
        if len < fixed || len > self.buf.len() || !len.is_multiple_of(align) {
            return Err(bad);
        }
        Ok(Reader::new(self.bytes(len)?, short))
    }
}

/// Big-endian writers on a byte vector.
pub(crate) trait Put {
    fn put_u8(&mut self, v: u8);
    fn put_u16(&mut self, v: u16);
    fn put_u32(&mut self, v: u32);
    fn put_u64(&mut self, v: u64);
    fn put_zeros(&mut self, n: usize);
    /// Pads with zeros to a multiple of 8 bytes, counting from `start`.
    fn pad_to_8(&mut self, start: usize);
    /// Writes a big-endian u16 at `at` (a length field filled in after the body).
    fn set_u16(&mut self, at: usize, v: u16);
}

impl Put for Vec<u8> {
    fn put_u8(&mut self, v: u8) {
        self.push(v);
    }
    fn put_u16(&mut self, v: u16) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_u64(&mut self, v: u64) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_zeros(&mut self, n: usize) {
        self.resize(self.len() + n, 0);
    }
    fn pad_to_8(&mut self, start: usize) {
        let len = self.len() - start;
        self.put_zeros((8 - len % 8) % 8);
    }
    fn set_u16(&mut self, at: usize, v: u16) {
        self[at..at + 2].copy_from_slice(&v.to_be_bytes());
    }
}

/// A fixed-size, NUL-padded string field (port names, descriptions): the bytes up to the
/// first NUL, lossily as UTF-8.
pub(crate) fn c_string(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// Writes `s` into a NUL-padded field of `n` bytes (truncated to leave a NUL at the end).
pub(crate) fn put_c_string(out: &mut Vec<u8>, s: &str, n: usize) {
    let b = s.as_bytes();
    let take = b.len().min(n.saturating_sub(1));
    out.extend_from_slice(&b[..take]);
    out.put_zeros(n - take);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::BadRequest;

    #[test]
    fn reader_stops_at_the_end() {
        let short = DecodeError::new(BadRequest::BadLen, "short");
        let mut r = Reader::new(&[1, 2, 3], short);
        assert_eq!(r.u16(), Ok(0x0102));
        assert_eq!(r.u16(), Err(short));
        assert_eq!(r.u8(), Ok(3));
        assert!(r.is_empty());
    }

    #[test]
    fn strings_are_nul_padded() {
        let mut v = Vec::new();
        put_c_string(&mut v, "eth0", 8);
        assert_eq!(v, b"eth0\0\0\0\0");
        assert_eq!(c_string(&v), "eth0");
        v.clear();
        put_c_string(&mut v, "0123456789", 4);
        assert_eq!(v, b"012\0");
    }
}
