//! The management protocol between the command-line tools and `rvs-vswitchd`.
//!
//! # Wire format
//! One Unix stream connection per invocation, to `$RVS_RUNDIR/rvs-vswitchd.ctl` (`RVS_RUNDIR`
//! defaults to `/var/run/rvs`). The client sends one line of JSON and reads one line back:
//!
//! ```text
//! → {"tool":"vsctl","args":["add-br","br0"]}
//! ← {"ok":true,"output":"..."}
//! ← {"ok":false,"error":"no bridge named br9","status":1}
//! ```
//!
//! `args` is the command line after the program name, exactly as typed. `output` is printed
//! as is; `error` is printed after the program name (`rvs-vsctl: ...`), and `status` is the
//! exit status (`rvs-vsctl br-exists` exits with 2). A success may also carry `warnings`
//! (`["Error detected while setting up 'eth9'. ..."]`), printed on standard error after the
//! program name, as `ovs-vsctl` prints them, with exit status 0. Absent fields mean empty.
//! The daemon answers every request, then closes the connection.

use std::fmt;
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The file name of the daemon's management socket in the run directory.
pub const SOCKET_NAME: &str = "rvs-vswitchd.ctl";

/// Which tool a request comes from; the daemon dispatches on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tool {
    /// `rvs-vsctl`: configuration commands.
    Vsctl,
    /// `rvs-appctl`: runtime commands (`dpif/show`, `fdb/show`, ...).
    Appctl,
}

/// What the client sends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// The requesting tool.
    pub tool: Tool,
    /// The command line after the program name.
    pub args: Vec<String>,
}

/// What the daemon answers: `output` when `ok`, else `error` and `status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    /// Whether the command succeeded.
    pub ok: bool,
    /// Text for standard output (successes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// The error message, without the program name (failures).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The exit status (failures; 1 when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<i32>,
    /// Messages for standard error that do not make the command fail.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl Response {
    /// A success printing `output`.
    pub fn success(output: impl Into<String>) -> Response {
        Response { ok: true, output: Some(output.into()), error: None, status: None, warnings: Vec::new() }
    }

    /// A failure with `error` and exit status `status`.
    pub fn failure(error: impl Into<String>, status: i32) -> Response {
        Response { ok: false, output: None, error: Some(error.into()), status: Some(status), warnings: Vec::new() }
    }

    /// `Ok(output)` or `Err((error, exit status))`.
    pub fn into_result(self) -> Result<String, (String, i32)> {
        if self.ok {
            Ok(self.output.unwrap_or_default())
        } else {
            Err((self.error.unwrap_or_default(), self.status.unwrap_or(1)))
        }
    }
}

/// Why a call failed before the daemon could answer.
#[derive(Debug)]
pub enum ClientError {
    /// The socket could not be reached: usually the daemon is not running.
    Connect {
        /// The socket tried.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// Sending or receiving failed after connecting.
    Io(io::Error),
    /// No answer within the timeout.
    Timeout(Duration),
    /// The daemon closed the connection without answering, or answered something else.
    Protocol(String),
}

/// The text of an I/O error as C's `strerror` gives it (without Rust's "(os error N)").
pub fn strerror(e: &io::Error) -> String {
    let s = e.to_string();
    match s.rfind(" (os error ") {
        Some(at) if s.ends_with(')') => s[..at].to_string(),
        _ => s,
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Connect { path, source } => {
                write!(f, "cannot connect to \"{}\" ({})", path.display(), strerror(source))
            }
            ClientError::Io(e) => write!(f, "transaction error ({})", strerror(e)),
            ClientError::Timeout(t) => {
                write!(f, "no answer from rvs-vswitchd within {} s (--timeout)", t.as_secs_f64())
            }
            ClientError::Protocol(m) => write!(f, "protocol error: {m}"),
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClientError::Connect { source, .. } | ClientError::Io(source) => Some(source),
            _ => None,
        }
    }
}

/// The run directory: `$RVS_RUNDIR`, default `/var/run/rvs`.
pub fn rundir() -> PathBuf {
    std::env::var_os("RVS_RUNDIR").map_or_else(|| PathBuf::from("/var/run/rvs"), PathBuf::from)
}

/// The daemon's management socket.
pub fn default_socket() -> PathBuf {
    rundir().join(SOCKET_NAME)
}

/// Sends `args` for `tool` to the daemon's default socket and returns its answer. `timeout`
/// bounds each send and receive (`None`: wait as long as it takes).
pub fn call(tool: Tool, args: &[String], timeout: Option<Duration>) -> Result<Response, ClientError> {
    call_at(&default_socket(), tool, args, timeout)
}

/// [`call`] on the socket at `path`.
pub fn call_at(path: &Path, tool: Tool, args: &[String], timeout: Option<Duration>) -> Result<Response, ClientError> {
    let stream =
        UnixStream::connect(path).map_err(|source| ClientError::Connect { path: path.to_path_buf(), source })?;
    let timed_out = |e: io::Error| match (e.kind(), timeout) {
        (io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut, Some(t)) => ClientError::Timeout(t),
        _ => ClientError::Io(e),
    };
    stream.set_read_timeout(timeout).map_err(ClientError::Io)?;
    stream.set_write_timeout(timeout).map_err(ClientError::Io)?;
    let request = Request { tool, args: args.to_vec() };
    let mut line = serde_json::to_string(&request).map_err(|e| ClientError::Protocol(e.to_string()))?;
    line.push('\n');
    (&stream).write_all(line.as_bytes()).map_err(timed_out)?;
    let mut answer = String::new();
    BufReader::new(&stream).read_line(&mut answer).map_err(timed_out)?;
    if answer.trim().is_empty() {
        return Err(ClientError::Protocol("rvs-vswitchd closed the connection without answering".into()));
    }
    serde_json::from_str(&answer)
        .map_err(|e| ClientError::Protocol(format!("unreadable answer from rvs-vswitchd: {e}")))
}

/// Parses a timeout in seconds as `ovs-vsctl` and `ovs-appctl` accept it (a non-negative
/// integer; 0 means none).
pub fn parse_timeout(s: &str) -> Option<Option<Duration>> {
    let secs: u64 = s.parse().ok()?;
    Some((secs > 0).then(|| Duration::from_secs(secs)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_format_is_the_documented_one() {
        let req = Request { tool: Tool::Vsctl, args: vec!["add-br".into(), "br0".into()] };
        assert_eq!(serde_json::to_string(&req).unwrap(), r#"{"tool":"vsctl","args":["add-br","br0"]}"#);
        assert_eq!(serde_json::to_string(&Response::success("x\n")).unwrap(), r#"{"ok":true,"output":"x\n"}"#);
        assert_eq!(
            serde_json::to_string(&Response::failure("no", 2)).unwrap(),
            r#"{"ok":false,"error":"no","status":2}"#
        );
        let r: Response = serde_json::from_str(r#"{"ok":false,"error":"e"}"#).unwrap();
        assert_eq!(r.into_result(), Err(("e".to_string(), 1)));
        let r: Response = serde_json::from_str(r#"{"ok":true,"warnings":["w"]}"#).unwrap();
        assert_eq!(r.warnings, ["w"]);
        assert_eq!(r.into_result(), Ok(String::new()));
    }

    #[test]
    fn strerror_drops_the_os_error_number() {
        assert_eq!(strerror(&io::Error::from_raw_os_error(2)), "No such file or directory");
    }

    #[test]
    fn timeouts_parse_like_ovs() {
        assert_eq!(parse_timeout("5"), Some(Some(Duration::from_secs(5))));
        assert_eq!(parse_timeout("0"), Some(None));
        assert_eq!(parse_timeout("x"), None);
    }
}
