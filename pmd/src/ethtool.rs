//! Link features of kernel interfaces (`ETHTOOL_GSET`) and the kernel's error counters.
//! Control path only.
//!
//! # Features
//! [`LinkFeatures`] carries OpenFlow-style feature bits (the rate bits, medium, auto-negotiation
//! and pause, numbered as OpenFlow 1.1+ numbers `OFPPF_*`) for the current, advertised and
//! supported modes, read with the `SIOCETHTOOL` ioctl and the legacy `ETHTOOL_GSET` command as
//! Open vSwitch's Linux netdev does: the current rate comes from the reported speed and duplex,
//! the medium from the reported port type (twisted pair is copper, fibre is fibre), and
//! `AUTONEG` from the auto-negotiation flag; advertised and supported come from the `SUPPORTED_*`
//! / `ADVERTISED_*` masks. A veth or a TAP device thus reads as 10 Gb full duplex on copper,
//! whatever its carrier. A device without ethtool support reads as no features.
//!
//! # Error counters
//! [`kernel_error_counters`] reads the frame, overrun, CRC and collision counters of an
//! interface from `/sys/class/net/IF/statistics` (the sysfs of the daemon's namespace); rvs
//! does not count these itself, the device does.

use std::io;
use std::os::fd::AsRawFd;

use crate::netdev::{ifreq, Netdev};
use crate::sys::cvt;

/// Feature bits (`OFPPF_*` numbering of OpenFlow 1.1+).
pub mod bits {
    /// 10 Mb half duplex.
    pub const RATE_10MB_HD: u32 = 1 << 0;
    /// 10 Mb full duplex.
    pub const RATE_10MB_FD: u32 = 1 << 1;
    /// 100 Mb half duplex.
    pub const RATE_100MB_HD: u32 = 1 << 2;
    /// 100 Mb full duplex.
    pub const RATE_100MB_FD: u32 = 1 << 3;
    /// 1 Gb half duplex.
    pub const RATE_1GB_HD: u32 = 1 << 4;
    /// 1 Gb full duplex.
    pub const RATE_1GB_FD: u32 = 1 << 5;
    /// 10 Gb full duplex.
    pub const RATE_10GB_FD: u32 = 1 << 6;
    /// 40 Gb full duplex.
    pub const RATE_40GB_FD: u32 = 1 << 7;
    /// 100 Gb full duplex.
    pub const RATE_100GB_FD: u32 = 1 << 8;
    /// 1 Tb full duplex.
    pub const RATE_1TB_FD: u32 = 1 << 9;
    /// Another rate.
    pub const OTHER: u32 = 1 << 10;
    /// Copper medium.
    pub const COPPER: u32 = 1 << 11;
    /// Fibre medium.
    pub const FIBER: u32 = 1 << 12;
    /// Auto-negotiation.
    pub const AUTONEG: u32 = 1 << 13;
    /// Pause.
    pub const PAUSE: u32 = 1 << 14;
    /// Asymmetric pause.
    pub const PAUSE_ASYM: u32 = 1 << 15;
}

/// A device's link features (bits from [`bits`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkFeatures {
    /// Current mode.
    pub current: u32,
    /// Modes advertised to the peer.
    pub advertised: u32,
    /// Modes the device supports.
    pub supported: u32,
}

/// The kernel's `struct ethtool_cmd` (44 bytes).
#[repr(C)]
#[derive(Default)]
struct EthtoolCmd {
    cmd: u32,
    supported: u32,
    advertising: u32,
    speed: u16,
    duplex: u8,
    port: u8,
    phy_address: u8,
    transceiver: u8,
    autoneg: u8,
    mdio_support: u8,
    maxtxpkt: u32,
    maxrxpkt: u32,
    speed_hi: u16,
    eth_tp_mdix: u8,
    eth_tp_mdix_ctrl: u8,
    lp_advertising: u32,
    reserved: [u32; 2],
}

const ETHTOOL_GSET: u32 = 1;
const SIOCETHTOOL: libc::c_ulong = 0x8946;
const DUPLEX_FULL: u8 = 1;
const PORT_TP: u8 = 0;
const PORT_FIBRE: u8 = 3;

/// `SUPPORTED_*` / `ADVERTISED_*` bits (the same numbering) and the feature bit each maps to.
const MODE_BITS: [(u32, u32); 16] = [
    (1 << 0, bits::RATE_10MB_HD),
    (1 << 1, bits::RATE_10MB_FD),
    (1 << 2, bits::RATE_100MB_HD),
    (1 << 3, bits::RATE_100MB_FD),
    (1 << 4, bits::RATE_1GB_HD),
    (1 << 5, bits::RATE_1GB_FD),
    (1 << 6, bits::AUTONEG),
    (1 << 7, bits::COPPER),
    (1 << 10, bits::FIBER),
    (1 << 12, bits::RATE_10GB_FD),
    (1 << 13, bits::PAUSE),
    (1 << 14, bits::PAUSE_ASYM),
    (1 << 23, bits::RATE_40GB_FD),
    (1 << 24, bits::RATE_40GB_FD),
    (1 << 25, bits::RATE_40GB_FD),
    (1 << 26, bits::RATE_40GB_FD),
];

fn modes(mask: u32) -> u32 {
    MODE_BITS
        .iter()
        .filter(|(m, _)| mask & m != 0)
        .fold(0, |acc, (_, f)| acc | f)
}

/// The current mode from speed (Mb/s), duplex, port type and auto-negotiation.
fn current(speed: u32, full: bool, port: u8, autoneg: bool) -> u32 {
    let rate = match (speed, full) {
        (10, false) => bits::RATE_10MB_HD,
        (10, true) => bits::RATE_10MB_FD,
        (100, false) => bits::RATE_100MB_HD,
        (100, true) => bits::RATE_100MB_FD,
        (1000, false) => bits::RATE_1GB_HD,
        (1000, true) => bits::RATE_1GB_FD,
        (10_000, _) => bits::RATE_10GB_FD,
        (40_000, _) => bits::RATE_40GB_FD,
        (100_000, _) => bits::RATE_100GB_FD,
        (1_000_000, _) => bits::RATE_1TB_FD,
        _ => bits::OTHER,
    };
    let medium = match port {
        PORT_TP => bits::COPPER,
        PORT_FIBRE => bits::FIBER,
        _ => 0,
    };
    rate | medium | if autoneg { bits::AUTONEG } else { 0 }
}

impl Netdev {
    /// The device's link features; `None` if it has no ethtool support.
    pub(crate) fn link_features(&self) -> Option<LinkFeatures> {
        let mut cmd = EthtoolCmd {
            cmd: ETHTOOL_GSET,
            ..Default::default()
        };
        let mut r = ifreq(self.name());
        r.ifr_ifru.ifru_data = (&mut cmd as *mut EthtoolCmd).cast();
        // SAFETY: SIOCETHTOOL with ETHTOOL_GSET writes one `struct ethtool_cmd` to `ifru_data`,
        // which points to one that lives across the call.
        cvt(unsafe {
            libc::ioctl(
                self.ctl().as_raw_fd(),
                SIOCETHTOOL as _,
                &mut r as *mut libc::ifreq,
            )
        })
        .ok()?;
        let speed = u32::from(cmd.speed) | (u32::from(cmd.speed_hi) << 16);
        Some(LinkFeatures {
            current: current(speed, cmd.duplex == DUPLEX_FULL, cmd.port, cmd.autoneg != 0),
            advertised: modes(cmd.advertising),
            supported: modes(cmd.supported),
        })
    }
}

/// The device's own error counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelErrorCounters {
    /// Frame alignment errors.
    pub rx_frame_errors: u64,
    /// Receive overruns.
    pub rx_over_errors: u64,
    /// CRC errors.
    pub rx_crc_errors: u64,
    /// Collisions.
    pub collisions: u64,
}

/// Reads `name`'s error counters from sysfs; `None` if it is not a kernel interface.
pub fn kernel_error_counters(name: &str) -> io::Result<KernelErrorCounters> {
    let read = |c: &str| -> io::Result<u64> {
        let s = std::fs::read_to_string(format!("/sys/class/net/{name}/statistics/{c}"))?;
        s.trim()
            .parse()
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidData))
    };
    if !crate::netdev::valid_ifname(name) {
        return Err(io::Error::from_raw_os_error(libc::ENODEV));
    }
    Ok(KernelErrorCounters {
        rx_frame_errors: read("rx_frame_errors")?,
        rx_over_errors: read("rx_over_errors")?,
        rx_crc_errors: read("rx_crc_errors")?,
        collisions: read("collisions")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_struct_has_the_kernels_size() {
        assert_eq!(std::mem::size_of::<EthtoolCmd>(), 44);
    }

    #[test]
    fn current_mode_comes_from_speed_duplex_and_port() {
        assert_eq!(
            current(10_000, true, PORT_TP, false),
            bits::RATE_10GB_FD | bits::COPPER
        );
        assert_eq!(
            current(1000, false, PORT_FIBRE, true),
            bits::RATE_1GB_HD | bits::FIBER | bits::AUTONEG
        );
        assert_eq!(current(2500, true, 0xff, false), bits::OTHER);
    }

    #[test]
    fn supported_modes_map_bit_by_bit() {
        assert_eq!(modes(0), 0);
        assert_eq!(
            modes((1 << 5) | (1 << 7) | (1 << 12)),
            bits::RATE_1GB_FD | bits::COPPER | bits::RATE_10GB_FD
        );
    }

    #[test]
    fn the_loopback_device_has_error_counters_and_no_features() {
        // `lo` exists in every namespace; it has no ethtool link settings.
        let dev = Netdev::new("lo").expect("a control socket");
        assert_eq!(dev.link_features(), None);
        assert!(kernel_error_counters("lo").is_ok());
        assert!(kernel_error_counters("no/such").is_err());
    }
}
