/*
 * The C side of rvs's DPDK ports (cargo feature `dpdk`), compiled by pmd/build.rs with the
 * flags `pkg-config --cflags libdpdk` gives (they include rte_config.h and the -march the
 * library was built for, so the inline functions here match it).
 *
 * Why a shim: DPDK's fast path (rte_eth_rx_burst, rte_eth_tx_burst, rte_pktmbuf_alloc_bulk,
 * rte_errno, ...) is made of static inline functions and macros that no binding generator can
 * call, and its structures (rte_eth_conf, rte_eth_dev_info, rte_mbuf) are large, versioned and
 * full of unions. So every structure is read and written here, by the C compiler that knows
 * their layout, and Rust sees a handful of functions over plain integers, pointers and the
 * small flat structures declared below (mirrored in pmd/src/dpdk/ffi.rs, field for field).
 *
 * One exception, for speed: the nine rte_mbuf fields the packet path reads and writes per
 * packet (buffer, offsets, lengths, segments, reference count, flags, RSS hash) are accessed
 * from Rust at offsets pinned below by static assertions, so that a packet costs no call and
 * no intermediate descriptor.
 *
 * Calls per burst, not per packet: receive is one call (the burst), transmit one (the burst)
 * plus one allocation when packets from other ports are copied and one bulk free when the
 * device refused some.
 *
 * Error convention: functions returning int return 0 or a negative errno value.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_version.h>

/* Mirrors of these structures are in pmd/src/dpdk/ffi.rs. */

struct rvs_dpdk_info {
    char driver[64];
    uint16_t max_rx_queues;
    uint16_t max_tx_queues;
    uint16_t rx_desc_max;
    uint16_t rx_desc_min;
    uint16_t rx_desc_align;
    uint16_t tx_desc_max;
    uint16_t tx_desc_min;
    uint16_t tx_desc_align;
    uint16_t min_mtu;
    uint16_t max_mtu;
    uint16_t mtu;
    uint8_t mac[6];
    int32_t socket_id;
    uint64_t flow_type_rss_offloads;
    uint64_t rx_offload_capa;
};

struct rvs_dpdk_link {
    uint32_t speed_mbps;
    uint8_t up;
    uint8_t full_duplex;
    uint8_t autoneg;
};

struct rvs_dpdk_stats {
    uint64_t ipackets;
    uint64_t opackets;
    uint64_t ibytes;
    uint64_t obytes;
    uint64_t imissed;
    uint64_t ierrors;
    uint64_t oerrors;
    uint64_t rx_nombuf;
};

/* Rust finds an mbuf from its buffer address by subtracting this (pools have no private
 * area: rte_pktmbuf_pool_create(..., priv_size = 0, ...)). */
_Static_assert(sizeof(struct rte_mbuf) == 128, "pmd/src/dpdk/ffi.rs MBUF_HEADER assumes 128");

/* The receive and transmit paths read and write these mbuf fields from Rust, at the offsets
 * and with the flag values of pmd/src/dpdk/mbuf.rs (`field`, `flag`): pinned here, so that a
 * DPDK with another layout fails to build instead of being misread. rvs_dpdk_mbuf_layout
 * gives the same numbers to a unit test there, which catches the two files drifting apart. */
#define RVS_PIN(field, off, size)                                                         \
    _Static_assert(offsetof(struct rte_mbuf, field) == (off)                              \
                       && sizeof(((struct rte_mbuf *)0)->field) == (size),               \
                   "struct rte_mbuf: " #field " is not where pmd/src/dpdk/mbuf.rs reads it")
RVS_PIN(buf_addr, 0, 8);
RVS_PIN(data_off, 16, 2);
RVS_PIN(refcnt, 18, 2);
RVS_PIN(nb_segs, 20, 2);
RVS_PIN(ol_flags, 24, 8);
RVS_PIN(pkt_len, 36, 4);
RVS_PIN(data_len, 40, 2);
RVS_PIN(hash.rss, 44, 4);
RVS_PIN(buf_len, 54, 2);
_Static_assert(RTE_MBUF_F_RX_RSS_HASH == (1ULL << 1), "pmd/src/dpdk/mbuf.rs flag::RX_RSS_HASH");
_Static_assert(RTE_MBUF_F_INDIRECT == (1ULL << 62), "pmd/src/dpdk/mbuf.rs flag::NOT_DIRECT");
_Static_assert(RTE_MBUF_F_EXTERNAL == (1ULL << 61), "pmd/src/dpdk/mbuf.rs flag::NOT_DIRECT");

/* The pinned offsets and flags, in the order of mbuf.rs's test. */
void rvs_dpdk_mbuf_layout(uint64_t out[13])
{
    out[0] = sizeof(struct rte_mbuf);
    out[1] = offsetof(struct rte_mbuf, buf_addr);
    out[2] = offsetof(struct rte_mbuf, data_off);
    out[3] = offsetof(struct rte_mbuf, refcnt);
    out[4] = offsetof(struct rte_mbuf, nb_segs);
    out[5] = offsetof(struct rte_mbuf, ol_flags);
    out[6] = offsetof(struct rte_mbuf, pkt_len);
    out[7] = offsetof(struct rte_mbuf, data_len);
    out[8] = offsetof(struct rte_mbuf, hash.rss);
    out[9] = offsetof(struct rte_mbuf, buf_len);
    out[10] = RTE_MBUF_F_RX_RSS_HASH;
    out[11] = RTE_MBUF_F_INDIRECT | RTE_MBUF_F_EXTERNAL;
    out[12] = RTE_PKTMBUF_HEADROOM;
}

struct rvs_dpdk_port_conf {
    uint16_t n_rxq;
    uint16_t n_txq;
    uint16_t n_rxd;
    uint16_t n_txd;
    uint16_t mtu;  /* 0: leave the device's MTU */
    uint8_t rss;   /* spread receive over queues by RSS and deliver the hash */
};

int rvs_dpdk_eal_init(int argc, char **argv)
{
    int r = rte_eal_init(argc, argv);
    return r < 0 ? -rte_errno : r;
}

int rvs_dpdk_errno(void) { return rte_errno; }
const char *rvs_dpdk_strerror(int e) { return rte_strerror(e); }
const char *rvs_dpdk_version(void) { return rte_version(); }
unsigned rvs_dpdk_lcore_id(void) { return rte_lcore_id(); }
unsigned rvs_dpdk_lcore_any(void) { return LCORE_ID_ANY; }

int rvs_dpdk_thread_register(void)
{
    return rte_thread_register() < 0 ? -rte_errno : 0;
}

void rvs_dpdk_thread_unregister(void) { rte_thread_unregister(); }

/* The first ethdev port matching `devargs` (a PCI address, or a vdev name with its
 * arguments), as OVS's netdev_dpdk_get_port_by_devargs. */
int rvs_dpdk_find_port(const char *devargs, uint16_t *port_id)
{
    struct rte_dev_iterator it;
    uint16_t id;
    RTE_ETH_FOREACH_MATCHING_DEV(id, devargs, &it) {
        *port_id = id;
        rte_eth_iterator_cleanup(&it);
        return 0;
    }
    return -ENODEV;
}

int rvs_dpdk_dev_probe(const char *devargs)
{
    int r = rte_dev_probe(devargs);
    return r < 0 ? r : 0;
}

int rvs_dpdk_port_info(uint16_t port, struct rvs_dpdk_info *out)
{
    struct rte_eth_dev_info info;
    struct rte_ether_addr mac;
    int r;

    memset(out, 0, sizeof *out);
    r = rte_eth_dev_info_get(port, &info);
    if (r < 0)
        return r;
    if (info.driver_name)
        strncpy(out->driver, info.driver_name, sizeof out->driver - 1);
    out->max_rx_queues = info.max_rx_queues;
    out->max_tx_queues = info.max_tx_queues;
    out->rx_desc_max = info.rx_desc_lim.nb_max;
    out->rx_desc_min = info.rx_desc_lim.nb_min;
    out->rx_desc_align = info.rx_desc_lim.nb_align;
    out->tx_desc_max = info.tx_desc_lim.nb_max;
    out->tx_desc_min = info.tx_desc_lim.nb_min;
    out->tx_desc_align = info.tx_desc_lim.nb_align;
    out->min_mtu = info.min_mtu;
    out->max_mtu = info.max_mtu;
    if (rte_eth_dev_get_mtu(port, &out->mtu) < 0)
        out->mtu = RTE_ETHER_MTU;
    if (rte_eth_macaddr_get(port, &mac) == 0)
        memcpy(out->mac, mac.addr_bytes, 6);
    out->socket_id = rte_eth_dev_socket_id(port);
    out->flow_type_rss_offloads = info.flow_type_rss_offloads;
    out->rx_offload_capa = info.rx_offload_capa;
    return 0;
}

void *rvs_dpdk_pool_create(const char *name, unsigned n, unsigned cache, uint16_t data_room, int socket)
{
    return rte_pktmbuf_pool_create(name, n, cache, 0, data_room, socket);
}

void rvs_dpdk_pool_free(void *pool) { rte_mempool_free(pool); }

unsigned rvs_dpdk_pool_avail(void *pool) { return rte_mempool_avail_count(pool); }

/* True when every mbuf of the pool is back (in the pool or a per-lcore cache). */
int rvs_dpdk_pool_full(void *pool) { return rte_mempool_full(pool); }

/* Configures and starts a stopped port: queues, descriptors, MTU, RSS, as OVS's
 * dpdk_eth_dev_init. The descriptor counts are brought within the device's limits and
 * written back. */
int rvs_dpdk_port_start(uint16_t port, struct rvs_dpdk_port_conf *c, void *pool)
{
    struct rte_eth_conf conf;
    struct rte_eth_dev_info info;
    int r;
    uint16_t q;

    r = rte_eth_dev_info_get(port, &info);
    if (r < 0)
        return r;
    memset(&conf, 0, sizeof conf);
    if (c->rss) {
        uint64_t hf = (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP) & info.flow_type_rss_offloads;
        if (hf) {
            conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
            conf.rx_adv_conf.rss_conf.rss_hf = hf;
            if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_RSS_HASH)
                conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_RSS_HASH;
        }
    }
    if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS)
        conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
    r = rte_eth_dev_configure(port, c->n_rxq, c->n_txq, &conf);
    if (r < 0)
        return r;
    if (c->mtu) {
        r = rte_eth_dev_set_mtu(port, c->mtu);
        if (r < 0 && r != -ENOTSUP)
            return r;
    }
    r = rte_eth_dev_adjust_nb_rx_tx_desc(port, &c->n_rxd, &c->n_txd);
    if (r < 0)
        return r;
    for (q = 0; q < c->n_rxq; q++) {
        r = rte_eth_rx_queue_setup(port, q, c->n_rxd, rte_eth_dev_socket_id(port), NULL, pool);
        if (r < 0)
            return r;
    }
    for (q = 0; q < c->n_txq; q++) {
        r = rte_eth_tx_queue_setup(port, q, c->n_txd, rte_eth_dev_socket_id(port), NULL);
        if (r < 0)
            return r;
    }
    r = rte_eth_dev_start(port);
    if (r < 0)
        return r;
    /* Promiscuous as OVS: a switch port receives every frame. Not every PMD can. */
    rte_eth_promiscuous_enable(port);
    return 0;
}

/* Stops and closes a port, then removes its device when no other port uses it (so that the
 * same devargs can be probed again), as OVS's netdev_dpdk_destruct + detach. */
int rvs_dpdk_port_close(uint16_t port)
{
    struct rte_eth_dev_info info;
    struct rte_device *dev = NULL;
    uint16_t sibling;
    int others = 0;

    if (rte_eth_dev_info_get(port, &info) == 0)
        dev = info.device;
    rte_eth_dev_stop(port);
    rte_eth_dev_close(port);
    if (!dev)
        return 0;
    RTE_ETH_FOREACH_DEV_OF(sibling, dev) {
        if (sibling != port)
            others++;
    }
    if (others)
        return 0;
    return rte_dev_remove(dev);
}

int rvs_dpdk_link(uint16_t port, struct rvs_dpdk_link *out)
{
    struct rte_eth_link l;
    int r;

    memset(out, 0, sizeof *out);
    memset(&l, 0, sizeof l);
    r = rte_eth_link_get_nowait(port, &l);
    if (r < 0)
        return r;
    out->speed_mbps = l.link_speed == RTE_ETH_SPEED_NUM_UNKNOWN ? 0 : l.link_speed;
    out->up = l.link_status == RTE_ETH_LINK_UP;
    out->full_duplex = l.link_duplex == RTE_ETH_LINK_FULL_DUPLEX;
    out->autoneg = l.link_autoneg == RTE_ETH_LINK_AUTONEG;
    return 0;
}

int rvs_dpdk_set_link(uint16_t port, int up)
{
    return up ? rte_eth_dev_set_link_up(port) : rte_eth_dev_set_link_down(port);
}

int rvs_dpdk_stats(uint16_t port, struct rvs_dpdk_stats *out)
{
    struct rte_eth_stats s;
    int r;

    memset(out, 0, sizeof *out);
    r = rte_eth_stats_get(port, &s);
    if (r < 0)
        return r;
    out->ipackets = s.ipackets;
    out->opackets = s.opackets;
    out->ibytes = s.ibytes;
    out->obytes = s.obytes;
    out->imissed = s.imissed;
    out->ierrors = s.ierrors;
    out->oerrors = s.oerrors;
    out->rx_nombuf = s.rx_nombuf;
    return 0;
}

/* Receives up to `n` mbufs (Rust reads their headers itself: see mbuf.rs). */
uint16_t rvs_dpdk_rx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n)
{
    return rte_eth_rx_burst(port, queue, pkts, n);
}

/* Releases an mbuf held by a packet, given its buffer address. */
void rvs_dpdk_free_buf(uint8_t *buf)
{
    rte_pktmbuf_free((struct rte_mbuf *)(buf - sizeof(struct rte_mbuf)));
}

/* Copies the whole of a (multi-segment) packet into `dst` (of at least its pkt_len bytes). */
void rvs_dpdk_copy_out(const struct rte_mbuf *m, uint8_t *dst)
{
    uint32_t off = 0;
    for (; m; m = m->next) {
        memcpy(dst + off, rte_pktmbuf_mtod(m, const uint8_t *), m->data_len);
        off += m->data_len;
    }
}

void rvs_dpdk_free_bulk(struct rte_mbuf **pkts, unsigned n) { rte_pktmbuf_free_bulk(pkts, n); }

/* Allocates `n` fresh mbufs (reset: one segment, no flags, data at the headroom); returns 0
 * or -ENOMEM (none taken). */
int rvs_dpdk_alloc_bulk(void *pool, struct rte_mbuf **pkts, unsigned n)
{
    return rte_pktmbuf_alloc_bulk(pool, pkts, n) != 0 ? -ENOMEM : 0;
}

/* Sends `n` single-segment mbufs whose headers Rust set (see mbuf.rs), retrying while the
 * device takes more, as OVS does. Returns how many were sent; the rest are still the
 * caller's. */
uint16_t rvs_dpdk_tx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n)
{
    uint16_t sent = 0;

    while (sent < n) {
        uint16_t r = rte_eth_tx_burst(port, queue, pkts + sent, n - sent);
        if (!r)
            break;
        sent += r;
    }
    return sent;
}
