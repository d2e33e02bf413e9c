//! EAL configuration from `Open_vSwitch . other_config`, read as OVS reads it, and the EAL
//! argument list it yields. Pure (no DPDK call), so compiled and tested with or without the
//! `dpdk` feature.
//!
//! # Keys (as OVS)
//! | key | EAL argument | notes |
//! |---|---|---|
//! | `dpdk-init` | — | `true`: initialise EAL (failure is fatal, as in OVS); `try`: failure is logged; anything else: no DPDK |
//! | `dpdk-lcore-mask` | `-c MASK` | EAL lcores; default `--lcores 0@CPU`, CPU = the first the daemon may run on |
//! | `dpdk-socket-mem` | `--socket-mem` | per-NUMA-node MB of hugepage memory (with hugepages) |
//! | `dpdk-socket-limit` | `--socket-limit` | |
//! | `dpdk-hugepage-dir` | `--huge-dir` | |
//! | `dpdk-extra` | the words given | split like a shell (quotes group words); an option given here wins over the ones above |
//!
//! # Memory: hugepages or not
//! With free hugepages, EAL runs `--in-memory` (no hugetlbfs mount or runtime files needed;
//! rvs is always a primary process). With none free it runs `--no-huge --no-shconf -m MB`,
//! MB being the sum of `dpdk-socket-mem` or [`NO_HUGE_DEFAULT_MB`], and [`EalPlan::notes`]
//! says so for the log. An explicit `--no-huge`, `--in-memory`, `--file-prefix` or
//! `--proc-type` in `dpdk-extra` turns this choice off.

use std::collections::BTreeMap;

/// Memory EAL gets without hugepages when `dpdk-socket-mem` does not say (MB).
pub const NO_HUGE_DEFAULT_MB: u64 = 1024;

/// `dpdk-init`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum InitMode {
    /// No DPDK (the default).
    #[default]
    Off,
    /// Initialise; failure stops the daemon.
    On,
    /// Initialise; failure is logged and the daemon runs without DPDK.
    Try,
}

/// The DPDK keys of `Open_vSwitch . other_config`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EalConfig {
    /// `dpdk-init`.
    pub init: InitMode,
    /// `dpdk-lcore-mask`.
    pub lcore_mask: Option<String>,
    /// `dpdk-socket-mem`.
    pub socket_mem: Option<String>,
    /// `dpdk-socket-limit`.
    pub socket_limit: Option<String>,
    /// `dpdk-hugepage-dir`.
    pub hugepage_dir: Option<String>,
    /// `dpdk-extra`, split into words.
    pub extra: Vec<String>,
}

/// What EAL will be started with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EalPlan {
    /// The argument vector, program name first.
    pub args: Vec<String>,
    /// Choices made for the user, for the log.
    pub notes: Vec<String>,
}

impl EalConfig {
    /// Reads the `dpdk-*` keys of `other_config`.
    pub fn from_other_config(oc: &BTreeMap<String, String>) -> Result<Self, String> {
        let init = match oc.get("dpdk-init").map(String::as_str) {
            Some("true") => InitMode::On,
            Some("try") => InitMode::Try,
            _ => InitMode::Off,
        };
        let get = |k: &str| oc.get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let extra = match oc.get("dpdk-extra") {
            Some(e) => split_words(e).map_err(|why| format!("dpdk-extra: {why}"))?,
            None => Vec::new(),
        };
        Ok(EalConfig {
            init,
            lcore_mask: get("dpdk-lcore-mask"),
            socket_mem: get("dpdk-socket-mem"),
            socket_limit: get("dpdk-socket-limit"),
            hugepage_dir: get("dpdk-hugepage-dir"),
            extra,
        })
    }

    fn extra_has(&self, opts: &[&str]) -> bool {
        self.extra.iter().any(|w| opts.iter().any(|o| w == o || w.starts_with(&format!("{o}="))))
    }

    /// The EAL arguments: `free_hugepage_bytes` is what [`hugepages_free`] found, `first_cpu`
    /// the first CPU the daemon may run on.
    pub fn plan(&self, free_hugepage_bytes: u64, first_cpu: usize) -> EalPlan {
        let mut p = EalPlan { args: vec!["rvs-vswitchd".to_string()], notes: Vec::new() };
        let a = &mut p.args;
        if !self.extra_has(&["-c", "-l", "--lcores"]) {
            match &self.lcore_mask {
                Some(m) => a.extend(["-c".to_string(), m.clone()]),
                None => a.extend(["--lcores".to_string(), format!("0@{first_cpu}")]),
            }
        }
        let user_mem_mode = self.extra_has(&["--no-huge", "--in-memory", "--file-prefix", "--proc-type"]);
        let no_huge = if user_mem_mode { self.extra_has(&["--no-huge"]) } else { free_hugepage_bytes == 0 };
        if no_huge {
            if !user_mem_mode {
                let mb = self.socket_mem.as_deref().and_then(sum_mb).filter(|m| *m > 0).unwrap_or(NO_HUGE_DEFAULT_MB);
                a.extend(["--no-huge".to_string(), "--no-shconf".to_string(), "-m".to_string(), mb.to_string()]);
                p.notes.push(format!(
                    "no free hugepages: EAL runs with --no-huge --no-shconf -m {mb} (ordinary memory; slower, \
                     reserve hugepages for speed)"
                ));
            } else if !self.extra_has(&["--no-shconf", "--in-memory"]) {
                a.push("--no-shconf".to_string());
            }
            if self.socket_mem.is_some() || self.socket_limit.is_some() {
                p.notes.push("dpdk-socket-mem and dpdk-socket-limit are ignored without hugepages".to_string());
            }
        } else {
            let opt = |a: &mut Vec<String>, flag: &str, v: &Option<String>| {
                if let Some(v) = v {
                    if !self.extra_has(&[flag]) {
                        a.extend([flag.to_string(), v.clone()]);
                    }
                }
            };
            opt(a, "--socket-mem", &self.socket_mem);
            opt(a, "--socket-limit", &self.socket_limit);
            opt(a, "--huge-dir", &self.hugepage_dir);
            if !user_mem_mode {
                a.push("--in-memory".to_string());
                p.notes.push(format!("EAL uses hugepages ({} MB free), --in-memory", free_hugepage_bytes >> 20));
            }
        }
        p.args.extend(self.extra.iter().cloned());
        p
    }
}

/// Sum of a `--socket-mem` list (`1024,1024`), in MB.
fn sum_mb(list: &str) -> Option<u64> {
    list.split(',').map(|s| s.trim().parse::<u64>().ok()).sum()
}

/// Splits `s` into words as a shell would, without expansions: blanks separate, single and
/// double quotes group, a backslash escapes the next character (outside single quotes).
pub fn split_words(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => return Err("unterminated ' quote".to_string()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => cur.push(chars.next().ok_or("trailing backslash")?),
                        Some(c) => cur.push(c),
                        None => return Err("unterminated \" quote".to_string()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                cur.push(chars.next().ok_or("trailing backslash")?);
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// Bytes of free hugepages of every size (`/sys/kernel/mm/hugepages/*/free_hugepages`).
pub fn hugepages_free() -> u64 {
    let Ok(dir) = std::fs::read_dir("/sys/kernel/mm/hugepages") else { return 0 };
    let mut total = 0u64;
    for e in dir.flatten() {
        let name = e.file_name();
        let Some(kb) = name.to_str().and_then(|n| n.strip_prefix("hugepages-")).and_then(|n| n.strip_suffix("kB")) else {
            continue;
        };
        let Ok(kb) = kb.parse::<u64>() else { continue };
        let free = std::fs::read_to_string(e.path().join("free_hugepages")).ok().and_then(|s| s.trim().parse::<u64>().ok());
        total += free.unwrap_or(0) * kb * 1024;
    }
    total
}

/// The first CPU the calling thread may run on (for EAL's main lcore, as OVS picks it).
pub fn first_allowed_cpu() -> usize {
    // SAFETY: a zeroed cpu_set_t is valid; sched_getaffinity fills it for the calling thread.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: as above, with the set's real size.
    if unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) } != 0 {
        return 0;
    }
    // SAFETY: CPU_ISSET only reads the set.
    (0..libc::CPU_SETSIZE as usize).find(|c| unsafe { libc::CPU_ISSET(*c, &set) }).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oc(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn init_modes_as_ovs() {
        let m = |v: &str| EalConfig::from_other_config(&oc(&[("dpdk-init", v)])).unwrap().init;
        assert_eq!(m("true"), InitMode::On);
        assert_eq!(m("try"), InitMode::Try);
        assert_eq!(m("false"), InitMode::Off);
        assert_eq!(m("yes"), InitMode::Off);
        assert_eq!(EalConfig::from_other_config(&oc(&[])).unwrap().init, InitMode::Off);
    }

    #[test]
    fn words_split_like_a_shell() {
        assert_eq!(split_words("  -a  'b c' \"d\\\"e\" f\\ g ").unwrap(), ["-a", "b c", "d\"e", "f g"]);
        assert_eq!(split_words("--vdev=net_pcap0,rx_pcap=/tmp/x.pcap").unwrap(), ["--vdev=net_pcap0,rx_pcap=/tmp/x.pcap"]);
        assert!(split_words("'open").is_err());
        assert!(split_words("").unwrap().is_empty());
    }

    #[test]
    fn no_hugepages_means_no_huge_and_says_so() {
        let c = EalConfig::from_other_config(&oc(&[("dpdk-init", "true"), ("dpdk-socket-mem", "256,256")])).unwrap();
        let p = c.plan(0, 3);
        assert_eq!(p.args, ["rvs-vswitchd", "--lcores", "0@3", "--no-huge", "--no-shconf", "-m", "512"]);
        assert!(p.notes[0].contains("no free hugepages"), "{:?}", p.notes);
        assert!(p.notes[1].contains("ignored"), "{:?}", p.notes);
    }

    #[test]
    fn hugepages_mean_in_memory_with_socket_options() {
        let c = EalConfig::from_other_config(&oc(&[
            ("dpdk-socket-mem", "1024"),
            ("dpdk-socket-limit", "2048"),
            ("dpdk-lcore-mask", "0x2"),
            ("dpdk-extra", "--vdev net_null0 -a 0000:01:00.0"),
        ]))
        .unwrap();
        let p = c.plan(512 << 20, 0);
        assert_eq!(
            p.args,
            [
                "rvs-vswitchd", "-c", "0x2", "--socket-mem", "1024", "--socket-limit", "2048", "--in-memory", "--vdev",
                "net_null0", "-a", "0000:01:00.0"
            ]
        );
    }

    #[test]
    fn user_choices_in_extra_win() {
        let c = EalConfig::from_other_config(&oc(&[
            ("dpdk-lcore-mask", "0x2"),
            ("dpdk-extra", "-l 1 --no-huge -m 64"),
        ]))
        .unwrap();
        // Hugepages are free, but the user asked for none; -l replaces the lcore mask.
        let p = c.plan(1 << 30, 0);
        assert_eq!(p.args, ["rvs-vswitchd", "--no-shconf", "-l", "1", "--no-huge", "-m", "64"]);
        let c = EalConfig::from_other_config(&oc(&[("dpdk-extra", "--file-prefix=rvs1")])).unwrap();
        assert_eq!(c.plan(0, 1).args, ["rvs-vswitchd", "--lcores", "0@1", "--file-prefix=rvs1"]);
    }
}

