//! Just enough of an ELF reader to load the XDP program that `build.rs` compiled: the
//! instructions of one program section, the relocations that make its 64-bit immediate loads
//! name maps, and the licence string.
//!
//! Input is our own build output, but it is still parsed defensively: every offset and size is
//! checked, and anything unexpected is an error rather than a panic. Supported: ELF64,
//! little-endian, `EM_BPF`, relocation sections of type `SHT_REL` with `R_BPF_64_64` entries
//! against named symbols. Not supported (not produced for our program): BTF, CO-RE relocations,
//! calls to BPF-to-BPF subprograms, global data.

use std::fmt;

/// `e_machine` of BPF objects.
const EM_BPF: u16 = 247;
const SHT_SYMTAB: u32 = 2;
const SHT_REL: u32 = 9;
/// The relocation type of a 64-bit immediate load (`ld_imm64`) against a symbol.
const R_BPF_64_64: u32 = 1;
/// Opcode of `ld_imm64` (`BPF_LD | BPF_IMM | BPF_DW`).
const LD_IMM64: u8 = 0x18;

/// Why an object cannot be loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct ElfError(pub(super) String);

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad BPF object: {}", self.0)
    }
}

fn bad(why: impl Into<String>) -> ElfError {
    ElfError(why.into())
}

/// One BPF instruction (8 bytes).
pub(super) type Insn = [u8; 8];

/// A `ld_imm64` that must be pointed at a map: instruction index and symbol name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct MapReloc {
    pub(super) insn: usize,
    pub(super) symbol: String,
}

/// A program ready for map patching.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Program {
    pub(super) insns: Vec<Insn>,
    pub(super) relocs: Vec<MapReloc>,
    /// The licence string without its terminating NUL.
    pub(super) license: String,
}

impl Program {
    /// Points every `ld_imm64` against `symbol` at the map descriptor `fd`. Fails if the
    /// program names a symbol other than `symbol`.
    pub(super) fn bind_map(&mut self, symbol: &str, fd: i32) -> Result<(), ElfError> {
        for r in &self.relocs {
            if r.symbol != symbol {
                return Err(bad(format!("the program refers to an unknown map \"{}\"", r.symbol)));
            }
            let i = &mut self.insns[r.insn];
            i[1] = (i[1] & 0x0f) | (super::abi::BPF_PSEUDO_MAP_FD << 4);
            i[4..8].copy_from_slice(&fd.to_le_bytes());
        }
        Ok(())
    }
}

struct Section<'a> {
    name: &'a str,
    kind: u32,
    link: u32,
    info: u32,
    data: &'a [u8],
}

fn u16_at(b: &[u8], o: usize) -> Result<u16, ElfError> {
    b.get(o..o + 2).map(|s| u16::from_le_bytes([s[0], s[1]])).ok_or_else(|| bad("truncated"))
}

fn u32_at(b: &[u8], o: usize) -> Result<u32, ElfError> {
    b.get(o..o + 4).map(|s| u32::from_le_bytes(s.try_into().expect("4 bytes"))).ok_or_else(|| bad("truncated"))
}

fn u64_at(b: &[u8], o: usize) -> Result<u64, ElfError> {
    b.get(o..o + 8).map(|s| u64::from_le_bytes(s.try_into().expect("8 bytes"))).ok_or_else(|| bad("truncated"))
}

fn slice(b: &[u8], off: u64, len: u64) -> Result<&[u8], ElfError> {
    let (off, len) = (usize::try_from(off).map_err(|_| bad("offset"))?, usize::try_from(len).map_err(|_| bad("size"))?);
    b.get(off..off.checked_add(len).ok_or_else(|| bad("size"))?).ok_or_else(|| bad("section beyond the end of the file"))
}

/// The NUL-terminated string at `off` of a string table.
fn cstr(table: &[u8], off: usize) -> Result<&str, ElfError> {
    let rest = table.get(off..).ok_or_else(|| bad("string offset"))?;
    let end = rest.iter().position(|&b| b == 0).ok_or_else(|| bad("unterminated string"))?;
    std::str::from_utf8(&rest[..end]).map_err(|_| bad("string is not UTF-8"))
}

fn sections(obj: &[u8]) -> Result<Vec<Section<'_>>, ElfError> {
    if obj.get(..4) != Some(b"\x7fELF") {
        return Err(bad("not an ELF file"));
    }
    if obj.get(4) != Some(&2) || obj.get(5) != Some(&1) {
        return Err(bad("not a little-endian ELF64 object"));
    }
    if u16_at(obj, 18)? != EM_BPF {
        return Err(bad("not a BPF object"));
    }
    let shoff = u64_at(obj, 0x28)?;
    let shentsize = u16_at(obj, 0x3a)? as u64;
    let shnum = u16_at(obj, 0x3c)? as u64;
    let shstrndx = u16_at(obj, 0x3e)? as usize;
    if shentsize != 64 {
        return Err(bad("unexpected section header size"));
    }
    let headers = slice(obj, shoff, shnum * 64)?;
    let raw: Vec<(u32, u32, u64, u64, u32, u32)> = headers
        .chunks_exact(64)
        .map(|h| Ok((u32_at(h, 0)?, u32_at(h, 4)?, u64_at(h, 24)?, u64_at(h, 32)?, u32_at(h, 40)?, u32_at(h, 44)?)))
        .collect::<Result<_, ElfError>>()?;
    let &(_, _, str_off, str_size, _, _) = raw.get(shstrndx).ok_or_else(|| bad("no section name table"))?;
    let names = slice(obj, str_off, str_size)?;
    raw.iter()
        .map(|&(name, kind, off, size, link, info)| {
            // SHT_NOBITS (8) sections have no bytes in the file.
            let data = if kind == 8 { &[][..] } else { slice(obj, off, size)? };
            Ok(Section { name: cstr(names, name as usize)?, kind, link, info, data })
        })
        .collect()
}

/// Reads program section `section` (for example `"xdp"`) of the object `obj`.
pub(super) fn load_program(obj: &[u8], section: &str) -> Result<Program, ElfError> {
    let secs = sections(obj)?;
    let (idx, prog) =
        secs.iter().enumerate().find(|(_, s)| s.name == section).ok_or_else(|| bad(format!("no section \"{section}\"")))?;
    if prog.data.is_empty() || prog.data.len() % 8 != 0 {
        return Err(bad(format!("section \"{section}\" is not a whole number of instructions")));
    }
    let insns: Vec<Insn> = prog.data.chunks_exact(8).map(|c| c.try_into().expect("8 bytes")).collect();
    let license = secs.iter().find(|s| s.name == "license").ok_or_else(|| bad("no licence section"))?;
    let license = cstr(license.data, 0)?.to_string();

    let mut relocs = Vec::new();
    for rel in secs.iter().filter(|s| s.kind == SHT_REL && s.info as usize == idx) {
        let symtab = secs
            .get(rel.link as usize)
            .filter(|s| s.kind == SHT_SYMTAB)
            .ok_or_else(|| bad("relocations without a symbol table"))?;
        let strtab = secs.get(symtab.link as usize).ok_or_else(|| bad("symbol table without strings"))?;
        for r in rel.data.chunks_exact(16) {
            let (offset, info) = (u64_at(r, 0)?, u64_at(r, 8)?);
            let (sym, kind) = ((info >> 32) as usize, info as u32);
            if kind != R_BPF_64_64 {
                return Err(bad(format!("unsupported relocation type {kind}")));
            }
            let insn = usize::try_from(offset / 8).map_err(|_| bad("relocation offset"))?;
            if offset % 8 != 0 || insns.get(insn).map(|i| i[0]) != Some(LD_IMM64) || insn + 1 >= insns.len() {
                return Err(bad("relocation not on a 64-bit immediate load"));
            }
            let entry = symtab.data.get(sym * 24..sym * 24 + 24).ok_or_else(|| bad("symbol index"))?;
            let symbol = cstr(strtab.data, u32_at(entry, 0)? as usize)?.to_string();
            relocs.push(MapReloc { insn, symbol });
        }
    }
    Ok(Program { insns, relocs, license })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The object build.rs compiled from `bpf/xsk_redirect.bpf.c`.
    const OBJECT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/xsk_redirect.bpf.o"));

    #[test]
    fn reads_the_redirect_program() {
        let mut p = load_program(OBJECT, "xdp").unwrap();
        assert_eq!(p.license, "Apache-2.0");
        assert_eq!(p.relocs.len(), 1);
        assert_eq!(p.relocs[0].symbol, "rvs_xsks");
        let i = p.relocs[0].insn;
        assert_eq!(p.insns[i][0], LD_IMM64);
        assert_eq!(p.insns.last().unwrap()[0], 0x95, "ends with exit");
        p.bind_map("rvs_xsks", 7).unwrap();
        assert_eq!(p.insns[i][1] >> 4, 1, "src_reg = BPF_PSEUDO_MAP_FD");
        assert_eq!(&p.insns[i][4..8], &7i32.to_le_bytes());
        assert!(p.bind_map("other", 7).is_err());
    }

    #[test]
    fn rejects_damaged_objects() {
        assert!(load_program(b"hello", "xdp").is_err());
        assert!(load_program(OBJECT, "tc").is_err());
        for cut in [16, 64, OBJECT.len() / 2, OBJECT.len() - 1] {
            assert!(load_program(&OBJECT[..cut], "xdp").is_err(), "accepted an object cut at {cut}");
        }
        let mut wrong_machine = OBJECT.to_vec();
        wrong_machine[18] = 62;
        assert_eq!(load_program(&wrong_machine, "xdp").unwrap_err(), bad("not a BPF object"));
        // Every single-byte corruption either loads or fails cleanly: never a panic.
        for i in 0..OBJECT.len() {
            let mut o = OBJECT.to_vec();
            o[i] ^= 0xff;
            let _ = load_program(&o, "xdp");
        }
    }
}
