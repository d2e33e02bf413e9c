//! Build script of `rvs-pmd`. A build with neither feature runs no compiler, needs no clang
//! and links no DPDK.
//!
//! * `af-xdp`: compiles the XDP program of the AF_XDP ports (`bpf/xsk_redirect.bpf.c`) with
//!   clang into `$OUT_DIR/xsk_redirect.bpf.o`, which `src/af_xdp/xdp.rs` embeds.
//! * `dpdk`: compiles the C shim of the DPDK ports (`dpdk/shim.c`) with the flags of
//!   `pkg-config --cflags libdpdk` and links the DPDK libraries `pkg-config --libs libdpdk`
//!   names (shared; the PMD drivers are plugins EAL loads at run time). Needs `pkg-config` and
//!   `libdpdk-dev` 22.11 or later. No bindgen, no libclang: Rust calls only the shim's
//!   functions, declared in `src/dpdk/ffi.rs`.
//!
//! AF_XDP:
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
    #[cfg(feature = "dpdk")]
    build_dpdk_shim();
    if env::var_os("CARGO_FEATURE_AF_XDP").is_some() {
        build_xdp_program();
    }
}

#[cfg(feature = "dpdk")]
const DPDK_SHIM: &str = "dpdk/shim.c";

#[cfg(feature = "dpdk")]
/// Runs `pkg-config ARGS libdpdk` and splits its output into words.
fn pkg_config(args: &[&str]) -> Vec<String> {
    let out = Command::new("pkg-config").args(args).arg("libdpdk").output().unwrap_or_else(|e| {
        panic!("the dpdk feature needs pkg-config ({e}); install it (Debian: apt-get install pkg-config libdpdk-dev)")
    });
    if !out.status.success() {
        panic!(
            "pkg-config {} libdpdk failed: {}; the dpdk feature needs libdpdk-dev 22.11 or later \
             (Debian: apt-get install libdpdk-dev)",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    String::from_utf8_lossy(&out.stdout).split_whitespace().map(str::to_string).collect()
}

#[cfg(feature = "dpdk")]
fn build_dpdk_shim() {
    println!("cargo:rerun-if-changed={DPDK_SHIM}");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    pkg_config(&["--atleast-version=22.11"]);
    let mut build = cc::Build::new();
    build.file(DPDK_SHIM).opt_level(3).warnings(true).extra_warnings(false);
    // Every word: `-include rte_config.h` and `-march=...` matter as much as the `-I`s.
    for flag in pkg_config(&["--cflags"]) {
        build.flag(&flag);
    }
    // rte_thread_register/unregister are still experimental in 22.11.
    build.define("ALLOW_EXPERIMENTAL_API", None);
    build.compile("rvs_dpdk_shim");
    for word in pkg_config(&["--libs"]) {
        if let Some(lib) = word.strip_prefix("-l") {
            println!("cargo:rustc-link-lib=dylib={lib}");
        } else if let Some(dir) = word.strip_prefix("-L") {
            println!("cargo:rustc-link-search=native={dir}");
        }
    }
}

fn build_xdp_program() {
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
