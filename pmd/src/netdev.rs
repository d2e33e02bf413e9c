//! Kernel interface attributes (index, MTU, MAC, flags) through `ioctl(2)`. Control path only.
//!
//! A [`Netdev`] keeps the control socket it was made with. Interface names are resolved in the
//! network namespace of the socket, not of the calling thread, so a port answers about its own
//! interface whichever thread asks. [`Netdev::same_netns`] lets a port refuse to open queue
//! sockets (which are created in the caller's namespace) from another namespace.

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, OwnedFd};

use rvs_packet::wire::MacAddr;

use crate::port::LinkState;
use crate::sys::{cvt, socket};

/// The kernel's `IFNAMSIZ` less the terminating NUL.
pub(crate) const MAX_IFNAME: usize = libc::IFNAMSIZ - 1;

/// Checks that `name` can be a kernel interface name.
pub(crate) fn valid_ifname(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_IFNAME
        && name != "."
        && name != ".."
        && !name.bytes().any(|b| b == b'/' || b == b':' || b == 0 || b.is_ascii_whitespace())
}

/// An `ifreq` holding `name` (which must pass [`valid_ifname`]) and zeroes.
pub(crate) fn ifreq(name: &str) -> libc::ifreq {
    // SAFETY: an all-zero ifreq is valid.
    let mut r: libc::ifreq = unsafe { MaybeUninit::zeroed().assume_init() };
    for (d, s) in r.ifr_name.iter_mut().zip(name.bytes().take(MAX_IFNAME)) {
        *d = s as libc::c_char;
    }
    r
}

/// `ioctl(2)` with an `ifreq` on `fd`.
pub(crate) fn ioctl_ifreq(fd: &impl AsRawFd, req: libc::c_ulong, r: &mut libc::ifreq) -> io::Result<()> {
    // SAFETY: every request used with this helper reads and/or writes one `ifreq`.
    cvt(unsafe { libc::ioctl(fd.as_raw_fd(), req as _, r as *mut libc::ifreq) }).map(drop)
}

/// Identity (inode) of the calling thread's network namespace.
pub(crate) fn current_netns() -> io::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    Ok(std::fs::metadata("/proc/thread-self/ns/net")?.ino())
}

/// One interface, addressed by name through a control socket of its namespace.
#[derive(Debug)]
pub(crate) struct Netdev {
    name: String,
    ctl: OwnedFd,
    netns: u64,
}

impl Netdev {
    /// A handle on `name` in the calling thread's namespace; `ENODEV` for an invalid name.
    /// The interface need not exist yet.
    pub(crate) fn new(name: &str) -> io::Result<Netdev> {
        if !valid_ifname(name) {
            return Err(io::Error::from_raw_os_error(libc::ENODEV));
        }
        let ctl = socket(libc::AF_INET, libc::SOCK_DGRAM, 0).or_else(|_| socket(libc::AF_PACKET, libc::SOCK_DGRAM, 0))?;
        Ok(Netdev { name: name.to_string(), ctl, netns: current_netns()? })
    }

    /// The interface name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// True if the calling thread is in the interface's namespace.
    pub(crate) fn same_netns(&self) -> bool {
        current_netns().is_ok_and(|ns| ns == self.netns)
    }

    /// The control socket.
    pub(crate) fn ctl(&self) -> &OwnedFd {
        &self.ctl
    }

    fn call(&self, req: libc::c_ulong, r: &mut libc::ifreq) -> io::Result<()> {
        ioctl_ifreq(&self.ctl, req, r)
    }

    /// Interface index; `ENODEV` if there is no such interface.
    pub(crate) fn ifindex(&self) -> io::Result<u32> {
        let mut r = ifreq(&self.name);
        self.call(libc::SIOCGIFINDEX, &mut r)?;
        // SAFETY: SIOCGIFINDEX filled the `ifru_ifindex` member.
        Ok(unsafe { r.ifr_ifru.ifru_ifindex } as u32)
    }

    /// MTU.
    pub(crate) fn mtu(&self) -> io::Result<u32> {
        let mut r = ifreq(&self.name);
        self.call(libc::SIOCGIFMTU, &mut r)?;
        // SAFETY: SIOCGIFMTU filled the `ifru_mtu` member.
        Ok(unsafe { r.ifr_ifru.ifru_mtu } as u32)
    }

    /// Link-layer type (`ARPHRD_*`) and address.
    pub(crate) fn hwaddr(&self) -> io::Result<(u16, MacAddr)> {
        let mut r = ifreq(&self.name);
        self.call(libc::SIOCGIFHWADDR, &mut r)?;
        // SAFETY: SIOCGIFHWADDR filled the `ifru_hwaddr` member.
        let sa = unsafe { r.ifr_ifru.ifru_hwaddr };
        let mut m = [0u8; 6];
        for (d, s) in m.iter_mut().zip(sa.sa_data.iter()) {
            *d = *s as u8;
        }
        Ok((sa.sa_family, MacAddr(m)))
    }

    /// Sets the Ethernet address.
    pub(crate) fn set_mac(&self, mac: MacAddr) -> io::Result<()> {
        let mut r = ifreq(&self.name);
        // SAFETY: writing plain data into the `ifru_hwaddr` member of a zeroed union.
        unsafe {
            r.ifr_ifru.ifru_hwaddr.sa_family = libc::ARPHRD_ETHER;
            for (d, s) in r.ifr_ifru.ifru_hwaddr.sa_data.iter_mut().zip(mac.0) {
                *d = s as libc::c_char;
            }
        }
        self.call(libc::SIOCSIFHWADDR, &mut r)
    }

    fn flags(&self) -> io::Result<libc::c_int> {
        let mut r = ifreq(&self.name);
        self.call(libc::SIOCGIFFLAGS, &mut r)?;
        // SAFETY: SIOCGIFFLAGS filled the `ifru_flags` member (a short; extended flags such as
        // IFF_LOWER_UP are not in it).
        Ok(unsafe { r.ifr_ifru.ifru_flags } as u16 as libc::c_int)
    }

    /// Admin state (`IFF_UP`) and carrier (`IFF_RUNNING`: up with carrier). A missing
    /// interface reads as down with no carrier.
    pub(crate) fn link_state(&self) -> LinkState {
        match self.flags() {
            Ok(f) => LinkState { admin_up: f & libc::IFF_UP != 0, carrier: f & libc::IFF_RUNNING != 0 },
            Err(_) => LinkState::default(),
        }
    }

    /// Sets or clears `IFF_UP`.
    pub(crate) fn set_admin_up(&self, up: bool) -> io::Result<()> {
        let f = self.flags()?;
        let f = if up { f | libc::IFF_UP } else { f & !libc::IFF_UP };
        let mut r = ifreq(&self.name);
        r.ifr_ifru.ifru_flags = f as libc::c_short;
        self.call(libc::SIOCSIFFLAGS, &mut r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names_are_checked() {
        assert!(valid_ifname("veth0"));
        assert!(valid_ifname("a23456789012345"));
        assert!(!valid_ifname("a234567890123456"));
        assert!(!valid_ifname(""));
        assert!(!valid_ifname("a/b"));
        assert!(!valid_ifname("a b"));
        let r = ifreq("lo");
        assert_eq!(r.ifr_name[..3], [b'l' as libc::c_char, b'o' as libc::c_char, 0]);
        assert_eq!(Netdev::new("a:b").unwrap_err().raw_os_error(), Some(libc::ENODEV));
    }

    #[test]
    fn loopback_has_index_mtu_and_flags() {
        let lo = Netdev::new("lo").unwrap();
        assert!(lo.ifindex().unwrap() > 0);
        assert!(lo.mtu().unwrap() >= 1500);
        assert_eq!(lo.hwaddr().unwrap().0, libc::ARPHRD_LOOPBACK);
        assert!(lo.same_netns());
        let none = Netdev::new("rvs-none0").unwrap();
        assert_eq!(none.ifindex().unwrap_err().raw_os_error(), Some(libc::ENODEV));
        assert_eq!(none.link_state(), LinkState::default());
    }
}
