//! Minimal pcap files (the classic libpcap format, Ethernet link type): read the frames of a
//! capture to replay them on a memory port, write frames for inspection with tcpdump.
//!
//! Both byte orders and both timestamp resolutions are read; pcapng is not supported.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

const MAGIC_US: u32 = 0xa1b2_c3d4;
const MAGIC_NS: u32 = 0xa1b2_3c4d;
const LINKTYPE_ETHERNET: u32 = 1;
const FILE_HEADER_LEN: usize = 24;
const RECORD_HEADER_LEN: usize = 16;

fn bad(why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.to_string())
}

/// Parses a pcap file image into its frames (captured bytes of each record).
pub fn parse(bytes: &[u8]) -> io::Result<Vec<Vec<u8>>> {
    if bytes.len() < FILE_HEADER_LEN {
        return Err(bad("shorter than a pcap file header"));
    }
    let magic = u32::from_le_bytes(bytes[0..4].try_into().expect("4 bytes"));
    let le = match magic {
        MAGIC_US | MAGIC_NS => true,
        m if m.swap_bytes() == MAGIC_US || m.swap_bytes() == MAGIC_NS => false,
        _ => return Err(bad("not a pcap file (pcapng is not supported)")),
    };
    let u32_at = |i: usize| {
        let b: [u8; 4] = bytes[i..i + 4].try_into().expect("4 bytes");
        if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    };
    if u32_at(20) & 0x0fff_ffff != LINKTYPE_ETHERNET {
        return Err(bad("not an Ethernet capture"));
    }
    let mut frames = Vec::new();
    let mut at = FILE_HEADER_LEN;
    while at < bytes.len() {
        if at + RECORD_HEADER_LEN > bytes.len() {
            return Err(bad("truncated record header"));
        }
        let caplen = u32_at(at + 8) as usize;
        let start = at + RECORD_HEADER_LEN;
        let frame = bytes.get(start..start + caplen).ok_or_else(|| bad("truncated record"))?;
        frames.push(frame.to_vec());
        at = start + caplen;
    }
    Ok(frames)
}

/// Reads the frames of the pcap file at `path`.
pub fn read_file(path: &Path) -> io::Result<Vec<Vec<u8>>> {
    parse(&fs::read(path)?)
}

/// Writes `frames` as a pcap file (microsecond timestamps, all zero).
pub fn write<W: Write>(mut out: W, frames: impl IntoIterator<Item = impl AsRef<[u8]>>) -> io::Result<()> {
    // magic, version 2.4, zone, sigfigs, snaplen, link type
    let mut h = [0u8; FILE_HEADER_LEN];
    h[0..4].copy_from_slice(&MAGIC_US.to_le_bytes());
    h[4..6].copy_from_slice(&2u16.to_le_bytes());
    h[6..8].copy_from_slice(&4u16.to_le_bytes());
    h[16..20].copy_from_slice(&262_144u32.to_le_bytes());
    h[20..24].copy_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
    out.write_all(&h)?;
    for f in frames {
        let f = f.as_ref();
        let len = f.len() as u32;
        for v in [0, 0, len, len] {
            out.write_all(&u32::to_le_bytes(v))?;
        }
        out.write_all(f)?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_frames() {
        let frames = vec![vec![1u8; 60], vec![2u8; 1514], vec![]];
        let mut buf = Vec::new();
        write(&mut buf, &frames).unwrap();
        assert_eq!(&buf[..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
        assert_eq!(parse(&buf).unwrap(), frames);
    }

    #[test]
    fn reads_big_endian_nanosecond_files() {
        let mut b = Vec::new();
        for v in [MAGIC_NS, 0x0002_0004, 0, 0, 65535, 1] {
            b.extend_from_slice(&u32::to_be_bytes(v));
        }
        for v in [1, 2, 3, 3] {
            b.extend_from_slice(&u32::to_be_bytes(v));
        }
        b.extend_from_slice(&[7, 8, 9]);
        assert_eq!(parse(&b).unwrap(), vec![vec![7, 8, 9]]);
    }

    #[test]
    fn rejects_what_it_cannot_read() {
        assert!(parse(&[0; 10]).is_err());
        assert!(parse(&[0; 24]).is_err());
        let mut buf = Vec::new();
        write(&mut buf, [[1u8; 60]]).unwrap();
        assert!(parse(&buf[..buf.len() - 1]).is_err());
        buf[20] = 113; // Linux cooked capture
        assert!(parse(&buf).is_err());
    }
}
