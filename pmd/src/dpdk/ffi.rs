//! The functions of `pmd/dpdk/shim.c`, and the plain structures it fills. The structures are
//! mirrored field for field from the C file (same order, same fixed-width types, `repr(C)`);
//! the shim owns every DPDK structure but one, so nothing here depends on DPDK's own layouts.
//! The exception is the few `rte_mbuf` fields the packet path touches per packet, read and
//! written in [`super::mbuf`] at offsets the shim pins with static assertions.
//!
//! Functions returning `c_int` return 0 (or a count) or a negative errno value.

use std::ffi::{c_char, c_int, c_uint, c_void};

/// An `rte_mbuf`, only ever handled by pointer.
#[repr(C)]
pub(crate) struct RteMbuf {
    _opaque: [u8; 0],
}

/// `struct rvs_dpdk_info`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct DevInfo {
    pub(crate) driver: [c_char; 64],
    pub(crate) max_rx_queues: u16,
    pub(crate) max_tx_queues: u16,
    pub(crate) rx_desc_max: u16,
    pub(crate) rx_desc_min: u16,
    pub(crate) rx_desc_align: u16,
    pub(crate) tx_desc_max: u16,
    pub(crate) tx_desc_min: u16,
    pub(crate) tx_desc_align: u16,
    pub(crate) min_mtu: u16,
    pub(crate) max_mtu: u16,
    pub(crate) mtu: u16,
    pub(crate) mac: [u8; 6],
    pub(crate) socket_id: i32,
    pub(crate) flow_type_rss_offloads: u64,
    pub(crate) rx_offload_capa: u64,
}

impl Default for DevInfo {
    fn default() -> Self {
        // SAFETY: plain integers and arrays of them; all zeroes is a valid value.
        unsafe { std::mem::zeroed() }
    }
}

impl DevInfo {
    /// The driver name (`net_null`, `net_ixgbe`, ...).
    pub(crate) fn driver(&self) -> String {
        let bytes: Vec<u8> = self.driver.iter().take_while(|c| **c != 0).map(|c| *c as u8).collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// `struct rvs_dpdk_link`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Link {
    pub(crate) speed_mbps: u32,
    pub(crate) up: u8,
    pub(crate) full_duplex: u8,
    pub(crate) autoneg: u8,
}

/// `struct rvs_dpdk_stats` (a subset of `rte_eth_stats`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct EthStats {
    pub(crate) ipackets: u64,
    pub(crate) opackets: u64,
    pub(crate) ibytes: u64,
    pub(crate) obytes: u64,
    pub(crate) imissed: u64,
    pub(crate) ierrors: u64,
    pub(crate) oerrors: u64,
    pub(crate) rx_nombuf: u64,
}

/// `sizeof(struct rte_mbuf)`: an mbuf's header sits this far before its buffer (checked by a
/// static assertion in the shim).
pub(crate) const MBUF_HEADER: usize = 128;

/// `struct rvs_dpdk_port_conf`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PortConf {
    pub(crate) n_rxq: u16,
    pub(crate) n_txq: u16,
    pub(crate) n_rxd: u16,
    pub(crate) n_txd: u16,
    pub(crate) mtu: u16,
    pub(crate) rss: u8,
}

extern "C" {
    pub(crate) fn rvs_dpdk_eal_init(argc: c_int, argv: *mut *mut c_char) -> c_int;
    pub(crate) fn rvs_dpdk_strerror(e: c_int) -> *const c_char;
    pub(crate) fn rvs_dpdk_version() -> *const c_char;
    pub(crate) fn rvs_dpdk_lcore_id() -> c_uint;
    pub(crate) fn rvs_dpdk_lcore_any() -> c_uint;
    pub(crate) fn rvs_dpdk_thread_register() -> c_int;
    pub(crate) fn rvs_dpdk_thread_unregister();
    pub(crate) fn rvs_dpdk_find_port(devargs: *const c_char, port_id: *mut u16) -> c_int;
    pub(crate) fn rvs_dpdk_dev_probe(devargs: *const c_char) -> c_int;
    pub(crate) fn rvs_dpdk_port_info(port: u16, out: *mut DevInfo) -> c_int;
    pub(crate) fn rvs_dpdk_pool_create(name: *const c_char, n: c_uint, cache: c_uint, data_room: u16, socket: c_int) -> *mut c_void;
    pub(crate) fn rvs_dpdk_pool_free(pool: *mut c_void);
    pub(crate) fn rvs_dpdk_pool_avail(pool: *mut c_void) -> c_uint;
    pub(crate) fn rvs_dpdk_pool_full(pool: *mut c_void) -> c_int;
    pub(crate) fn rvs_dpdk_port_start(port: u16, conf: *mut PortConf, pool: *mut c_void) -> c_int;
    pub(crate) fn rvs_dpdk_port_close(port: u16) -> c_int;
    pub(crate) fn rvs_dpdk_link(port: u16, out: *mut Link) -> c_int;
    pub(crate) fn rvs_dpdk_set_link(port: u16, up: c_int) -> c_int;
    pub(crate) fn rvs_dpdk_stats(port: u16, out: *mut EthStats) -> c_int;
    pub(crate) fn rvs_dpdk_rx_burst(port: u16, queue: u16, pkts: *mut *mut RteMbuf, n: u16) -> u16;
    pub(crate) fn rvs_dpdk_copy_out(m: *const RteMbuf, dst: *mut u8);
    pub(crate) fn rvs_dpdk_free_bulk(pkts: *mut *mut RteMbuf, n: c_uint);
    pub(crate) fn rvs_dpdk_alloc_bulk(pool: *mut c_void, pkts: *mut *mut RteMbuf, n: c_uint) -> c_int;
    pub(crate) fn rvs_dpdk_tx_burst(port: u16, queue: u16, pkts: *mut *mut RteMbuf, n: u16) -> u16;
    pub(crate) fn rvs_dpdk_free_buf(buf: *mut u8);
    #[cfg(test)]
    pub(crate) fn rvs_dpdk_mbuf_layout(out: *mut u64);
}

/// DPDK's text for error number `e` (positive).
pub(crate) fn strerror(e: c_int) -> String {
    // SAFETY: rte_strerror returns a pointer to a static or thread-local NUL-terminated string.
    unsafe { std::ffi::CStr::from_ptr(rvs_dpdk_strerror(e.abs())) }.to_string_lossy().into_owned()
}
