//! Errors of the control-side port operations (opening ports and queues).
//!
//! The hot path never returns these: a packet that cannot be received or sent is counted in
//! [`crate::PortStats`] and dropped.

use std::fmt;
use std::io;

/// Why a port or one of its queues could not be opened.
#[derive(Debug)]
#[non_exhaustive]
pub enum PortError {
    /// No network device of this name exists (for a system port) in rvs's network namespace.
    NoSuchDevice(String),
    /// The operating system refused the operation for lack of privilege.
    Permission {
        /// Port name.
        port: String,
        /// What rvs was doing.
        op: &'static str,
    },
    /// A device of this name exists but cannot be used (already attached elsewhere, wrong type).
    Busy {
        /// Port name.
        port: String,
        /// What is in the way.
        why: &'static str,
    },
    /// An interface option is unknown or has a value rvs cannot use.
    BadOption {
        /// The option key (`options:KEY=VALUE`).
        key: String,
        /// The value given.
        value: String,
        /// What is wrong with it.
        why: String,
    },
    /// A receive queue index at or past the port's number of receive queues.
    NoSuchQueue {
        /// Port name.
        port: String,
        /// The queue asked for.
        queue: usize,
        /// How many receive queues the port has.
        n_rxq: usize,
    },
    /// A queue was opened from a thread in another network namespace than the port's.
    OtherNamespace {
        /// Port name.
        port: String,
    },
    /// The kernel lacks a feature this port needs.
    Unsupported {
        /// Port name.
        port: String,
        /// The missing feature.
        what: &'static str,
    },
    /// The port type needs a cargo feature this build of rvs lacks.
    NotBuiltIn {
        /// Port name.
        port: String,
        /// The port type (`type=...`).
        kind: &'static str,
        /// The cargo feature of `rvs-pmd` that provides it.
        feature: &'static str,
    },
    /// Any other system call failure.
    Io {
        /// Port name.
        port: String,
        /// What rvs was doing.
        op: &'static str,
        /// The error the system call returned.
        source: io::Error,
    },
}

impl PortError {
    /// Classifies a system-call error made while doing `op` on `port`.
    pub(crate) fn from_io(port: &str, op: &'static str, source: io::Error) -> Self {
        match source.raw_os_error() {
            Some(libc::EPERM) | Some(libc::EACCES) => {
                PortError::Permission { port: port.to_string(), op }
            }
            Some(libc::ENODEV) | Some(libc::ENXIO) => PortError::NoSuchDevice(port.to_string()),
            _ => PortError::Io { port: port.to_string(), op, source },
        }
    }

    /// A [`PortError::BadOption`].
    pub(crate) fn bad_option(key: &str, value: &str, why: impl Into<String>) -> Self {
        PortError::BadOption { key: key.to_string(), value: value.to_string(), why: why.into() }
    }
}

impl fmt::Display for PortError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PortError::NoSuchDevice(name) => {
                write!(f, "no network device named \"{name}\" (check `ip link`)")
            }
            PortError::Permission { port, op } => write!(
                f,
                "port \"{port}\": permission denied while {op} \
                 (rvs needs CAP_NET_RAW and CAP_NET_ADMIN: run it as root)"
            ),
            PortError::Busy { port, why } => write!(f, "port \"{port}\": {why}"),
            PortError::BadOption { key, value, why } => {
                write!(f, "bad interface option {key}={value:?}: {why}")
            }
            PortError::NoSuchQueue { port, queue, n_rxq } => write!(
                f,
                "port \"{port}\" has {n_rxq} receive queue(s); queue {queue} does not exist"
            ),
            PortError::OtherNamespace { port } => write!(
                f,
                "port \"{port}\": queues must be opened from the network namespace the port was opened in"
            ),
            PortError::Unsupported { port, what } => {
                write!(f, "port \"{port}\": this kernel does not support {what}")
            }
            PortError::NotBuiltIn { port, kind, feature } => write!(
                f,
                "port \"{port}\": type {kind} is not built into this rvs (build it with `--features {feature}`)"
            ),
            PortError::Io { port, op, source } => {
                write!(f, "port \"{port}\": {op} failed: {source}")
            }
        }
    }
}

impl std::error::Error for PortError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PortError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_as_sentences() {
        let e = PortError::from_io("veth0", "opening a packet socket", io::Error::from_raw_os_error(libc::EPERM));
        assert!(matches!(e, PortError::Permission { .. }));
        assert!(e.to_string().contains("run it as root"), "{e}");
        let e = PortError::from_io("veth0", "binding", io::Error::from_raw_os_error(libc::ENODEV));
        assert_eq!(e.to_string(), "no network device named \"veth0\" (check `ip link`)");
        let e = PortError::bad_option("n_rxq", "0", "must be between 1 and 16");
        assert_eq!(e.to_string(), "bad interface option n_rxq=\"0\": must be between 1 and 16");
        let e = PortError::from_io("p", "mmap", io::Error::from_raw_os_error(libc::ENOMEM));
        assert!(std::error::Error::source(&e).is_some());
    }
}
