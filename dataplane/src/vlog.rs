//! Logging in Open vSwitch's format: `2026-11-21T13:09:56.123Z|00042|module|INFO|message`.
//!
//! Messages go to the log file when one is open (`--log-file`), and to standard error while
//! the daemon has one (not after `--detach`). `SIGHUP` reopens the file (log rotation).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

static FILE: Mutex<Option<(PathBuf, File)>> = Mutex::new(None);
static SEQ: AtomicU64 = AtomicU64::new(1);
static TO_STDERR: AtomicBool = AtomicBool::new(true);

/// Severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Errors.
    Err,
    /// Warnings.
    Warn,
    /// Information.
    Info,
    /// Debugging.
    Dbg,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Err => "ERR",
            Level::Warn => "WARN",
            Level::Info => "INFO",
            Level::Dbg => "DBG",
        }
    }
}

/// Opens (or reopens) the log file.
pub fn open_file(path: PathBuf) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let f = OpenOptions::new().create(true).append(true).open(&path)?;
    *FILE.lock().unwrap_or_else(|e| e.into_inner()) = Some((path, f));
    Ok(())
}

/// Reopens the log file at the same path (after rotation).
pub fn reopen() {
    let path = FILE.lock().unwrap_or_else(|e| e.into_inner()).as_ref().map(|(p, _)| p.clone());
    if let Some(p) = path {
        let _ = open_file(p);
    }
}

/// Stops copying messages to standard error (after detaching).
pub fn stop_stderr() {
    TO_STDERR.store(false, Ordering::Relaxed);
}

fn timestamp() -> String {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// Logs a message.
pub fn log(level: Level, module: &str, msg: &str) {
    let line = format!("{}|{:05}|{module}|{}|{msg}\n", timestamp(), SEQ.fetch_add(1, Ordering::Relaxed), level.as_str());
    if let Some((_, f)) = FILE.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
        let _ = f.write_all(line.as_bytes());
    }
    if TO_STDERR.load(Ordering::Relaxed) {
        let _ = std::io::stderr().write_all(line.as_bytes());
    }
}

/// Logs at INFO.
pub fn info(module: &str, msg: &str) {
    log(Level::Info, module, msg);
}

/// Logs at WARN.
pub fn warn(module: &str, msg: &str) {
    log(Level::Warn, module, msg);
}

/// Logs at ERR.
pub fn err(module: &str, msg: &str) {
    log(Level::Err, module, msg);
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_look_like_ovs() {
        let t = super::timestamp();
        assert_eq!(t.len(), 24, "{t}");
        assert!(t.starts_with("20") && t.ends_with('Z') && &t[10..11] == "T");
    }
}
