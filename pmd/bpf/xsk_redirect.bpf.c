// SPDX-License-Identifier: Apache-2.0
/* xsk_redirect.bpf.c -- the XDP program of rvs's AF_XDP ports (pmd/src/af_xdp).
 *
 * Every frame received on queue Q of the interface is redirected to the AF_XDP socket in slot Q
 * of the XSKMAP `rvs_xsks`. A queue with no socket there (rvs opened fewer queues than the
 * interface has) passes its frames on to the kernel stack: XDP_PASS in the low bits of the flags
 * of bpf_redirect_map() is the action taken when the lookup finds nothing.
 *
 * Built by pmd/build.rs (feature `af-xdp`) with `clang -O2 -target bpf`, without libbpf's
 * headers: the one helper used is declared below. The loader (pmd/src/af_xdp/xdp.rs) creates the
 * map itself, sized for the port, and patches its descriptor into the instruction that the
 * relocation against `rvs_xsks` names; the definition here (legacy `struct bpf_map_def` layout in
 * section "maps") only documents it and keeps the object loadable by other tools.
 */
#include <linux/bpf.h>

#define SEC(name) __attribute__((section(name), used))

struct rvs_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct rvs_map_def rvs_xsks SEC("maps") = {
	.type = BPF_MAP_TYPE_XSKMAP,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u32),
	.max_entries = 64,
};

static long (*bpf_redirect_map)(void *map, __u64 key, __u64 flags) = (void *)BPF_FUNC_redirect_map;

SEC("xdp")
int rvs_xsk_redirect(struct xdp_md *ctx)
{
	return bpf_redirect_map(&rvs_xsks, ctx->rx_queue_index, XDP_PASS);
}

/* bpf_redirect_map() is not a GPL-only helper, so the program needs no GPL-compatible licence. */
char _license[] SEC("license") = "Apache-2.0";
