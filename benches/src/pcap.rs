//! Classic pcap files (the `tcpdump` format DPDK's `net_pcap` reads), written from frames.
//!
//! The format: a 24-byte global header (magic `0xa1b2c3d4` in the writer's byte order, version
//! 2.4, time zone 0, accuracy 0, snapshot length, link type 1 = Ethernet), then per frame a
//! 16-byte record header (seconds, microseconds, captured length, original length) and the
//! frame's bytes. We write little-endian with zero timestamps, exactly what
//! `anchor-bench/gen_pcaps.py` writes, so the files are byte-identical to the script's.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// The snapshot length written in the header (frames are never longer here).
pub const SNAPLEN: u32 = 65535;
/// Link type Ethernet.
pub const LINKTYPE_ETHERNET: u32 = 1;

/// Serialises `frames` as a pcap file into `out`.
pub fn write_to(mut out: impl Write, frames: &[Vec<u8>]) -> io::Result<()> {
    let mut header = Vec::with_capacity(24);
    header.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    header.extend_from_slice(&2u16.to_le_bytes());
    header.extend_from_slice(&4u16.to_le_bytes());
    header.extend_from_slice(&0i32.to_le_bytes());
    header.extend_from_slice(&0u32.to_le_bytes());
    header.extend_from_slice(&SNAPLEN.to_le_bytes());
    header.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
    out.write_all(&header)?;
    for f in frames {
        let len = u32::try_from(f.len()).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame too long"))?;
        let mut rec = [0u8; 16];
        rec[8..12].copy_from_slice(&len.to_le_bytes());
        rec[12..16].copy_from_slice(&len.to_le_bytes());
        out.write_all(&rec)?;
        out.write_all(f)?;
    }
    out.flush()
}

/// Writes `frames` to the file `path` (created or truncated), through a temporary file and a
/// rename, so that a reader never sees half a file.
pub fn write_file(path: &Path, frames: &[Vec<u8>]) -> io::Result<()> {
    let tmp = path.with_extension("pcap.tmp");
    write_to(BufWriter::new(File::create(&tmp)?), frames)?;
    std::fs::rename(&tmp, path)
}

/// Reads back the frames of a pcap file written by [`write_to`] (either byte order; classic
/// format only). Used by the tests and by `rvs-bench` to check a cached file before reusing it.
pub fn read(bytes: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    if bytes.len() < 24 {
        return Err("shorter than a pcap header".into());
    }
    let le = match bytes[0..4] {
        [0xd4, 0xc3, 0xb2, 0xa1] => true,
        [0xa1, 0xb2, 0xc3, 0xd4] => false,
        _ => return Err("not a classic pcap file (bad magic)".into()),
    };
    let u32_at = |at: usize| {
        let b: [u8; 4] = bytes[at..at + 4].try_into().expect("4 bytes");
        if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    };
    if u32_at(20) != LINKTYPE_ETHERNET {
        return Err(format!("link type {} is not Ethernet", u32_at(20)));
    }
    let mut frames = Vec::new();
    let mut at = 24;
    while at < bytes.len() {
        if bytes.len() - at < 16 {
            return Err(format!("truncated record header at byte {at}"));
        }
        let caplen = u32_at(at + 8) as usize;
        at += 16;
        if bytes.len() - at < caplen {
            return Err(format!("truncated frame at byte {at}"));
        }
        frames.push(bytes[at..at + caplen].to_vec());
        at += caplen;
    }
    Ok(frames)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anchor;

    #[test]
    fn writes_the_bytes_gen_pcaps_writes() {
        // flow1.pcap as gen_pcaps.py writes it: header, one record of 60 bytes.
        let mut out = Vec::new();
        write_to(&mut out, &anchor::flow1()).unwrap();
        assert_eq!(out.len(), 24 + 16 + 60);
        assert_eq!(&out[..24], &[0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0]);
        assert_eq!(&out[24..40], &[0, 0, 0, 0, 0, 0, 0, 0, 60, 0, 0, 0, 60, 0, 0, 0]);
        assert_eq!(&out[40..], &anchor::flow1()[0][..]);
    }

    #[test]
    fn reads_back_what_it_writes() {
        let frames = anchor::flows10k();
        let mut out = Vec::new();
        write_to(&mut out, &frames).unwrap();
        assert_eq!(read(&out).unwrap(), frames);
        assert!(read(&out[..out.len() - 1]).is_err());
        assert!(read(&out[..20]).is_err());
        let mut bad = out.clone();
        bad[0] = 0;
        assert!(read(&bad).is_err());
    }
}
