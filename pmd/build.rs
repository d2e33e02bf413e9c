//! Build script of `rvs-pmd`: with the `af-xdp` feature on, compiles the XDP program of the
//! AF_XDP ports (`bpf/xsk_redirect.bpf.c`) with clang into `$OUT_DIR/xsk_redirect.bpf.o`, which
//! `src/af_xdp/xdp.rs` embeds. A build without the feature runs no compiler and needs no clang.
//!
//! Needs: `clang` (any version that has the BPF target; Debian 12's clang 14 works) and the
//! kernel UAPI headers of `linux-libc-dev` (`linux/bpf.h`, and `asm/types.h` from the multiarch
//! include directory). No libbpf headers. `RVS_BPF_CLANG` overrides the compiler.

use std::env;
use std::path::PathBuf;
use std::process::Command;

const SOURCE: &str = "bpf/xsk_redirect.bpf.c";

fn main() {
    println!("cargo:rerun-if-changed={SOURCE}");
    println!("cargo:rerun-if-env-changed=RVS_BPF_CLANG");
    if env::var_os("CARGO_FEATURE_AF_XDP").is_none() {
        return;
    }
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("xsk_redirect.bpf.o");
    let clang = env::var("RVS_BPF_CLANG").unwrap_or_else(|_| "clang".to_string());
    // BPF objects take the byte order of the host that loads them.
    let target = match env::var("CARGO_CFG_TARGET_ENDIAN").as_deref() {
        Ok("big") => "bpfeb",
        _ => "bpfel",
    };
    // `asm/types.h` (included by `linux/bpf.h`) lives in the Debian multiarch directory.
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_else(|_| "x86_64".to_string());
    let multiarch = match arch.as_str() {
        "x86" => "/usr/include/i386-linux-gnu".to_string(),
        "arm" => "/usr/include/arm-linux-gnueabihf".to_string(),
        "powerpc64" => "/usr/include/powerpc64le-linux-gnu".to_string(),
        other => format!("/usr/include/{other}-linux-gnu"),
    };
    let result = Command::new(&clang)
        .args(["-O2", "-target", target, "-Wall", "-Werror", "-I", &multiarch, "-c", SOURCE, "-o"])
        .arg(&out)
        .status();
    match result {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("{clang} failed ({s}) compiling {SOURCE}; the af-xdp feature needs clang and linux-libc-dev"),
        Err(e) => panic!(
            "the af-xdp feature compiles an XDP program with clang, which could not be run ({clang}: {e}); \
             install it (Debian: apt-get install clang) or set RVS_BPF_CLANG"
        ),
    }
}
