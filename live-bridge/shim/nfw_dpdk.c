/* The DPDK shim of nftwin's live bridge: the few DPDK calls a host needs, with plain C types,
 * so that Rust needs no bindings to DPDK's inline-heavy headers. Frames cross the boundary as
 * copies in flat buffers (one frame per `stride` bytes); at the rates the live tests use
 * (at most a few hundred thousand frames per second) the copy is not the bottleneck.
 *
 * Built by build.rs with the flags `pkg-config --cflags libdpdk` gives plus the two the
 * pkg-config crate drops (`-include rte_config.h -march=corei7`). */
#include <rte_config.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <string.h>

#define NFW_POOL_SIZE 8191
#define NFW_POOL_CACHE 256
#define NFW_BURST 32

static struct rte_mempool *nfw_pool;

int nfw_eal_init(int argc, char **argv) {
    return rte_eal_init(argc, argv);
}

const char *nfw_last_error(void) {
    return rte_strerror(rte_errno);
}

uint16_t nfw_port_count(void) {
    return rte_eth_dev_count_avail();
}

/* Configures port `port` with one RX and one TX queue, starts it, promiscuous. 0 or -errno. */
int nfw_port_start(uint16_t port, uint16_t rx_desc, uint16_t tx_desc) {
    if (nfw_pool == NULL) {
        nfw_pool = rte_pktmbuf_pool_create("nfw_pool", NFW_POOL_SIZE, NFW_POOL_CACHE, 0,
                                           RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
        if (nfw_pool == NULL)
            return -rte_errno;
    }
    struct rte_eth_conf conf;
    memset(&conf, 0, sizeof conf);
    int rc = rte_eth_dev_configure(port, 1, 1, &conf);
    if (rc < 0)
        return rc;
    rc = rte_eth_rx_queue_setup(port, 0, rx_desc, rte_eth_dev_socket_id(port), NULL, nfw_pool);
    if (rc < 0)
        return rc;
    rc = rte_eth_tx_queue_setup(port, 0, tx_desc, rte_eth_dev_socket_id(port), NULL);
    if (rc < 0)
        return rc;
    rc = rte_eth_dev_start(port);
    if (rc < 0)
        return rc;
    rte_eth_promiscuous_enable(port);
    return 0;
}

int nfw_port_mac(uint16_t port, uint8_t out[6]) {
    struct rte_ether_addr a;
    int rc = rte_eth_macaddr_get(port, &a);
    if (rc == 0)
        memcpy(out, a.addr_bytes, 6);
    return rc;
}

/* Receives up to `max` frames; frame i is copied to buf + i*stride (truncated to stride) and
 * its length written to lens[i]. Returns the number received. */
uint16_t nfw_rx(uint16_t port, uint8_t *buf, uint16_t stride, uint16_t *lens, uint16_t max) {
    struct rte_mbuf *m[NFW_BURST];
    if (max > NFW_BURST)
        max = NFW_BURST;
    uint16_t n = rte_eth_rx_burst(port, 0, m, max);
    for (uint16_t i = 0; i < n; i++) {
        uint16_t len = rte_pktmbuf_pkt_len(m[i]);
        if (len > stride)
            len = stride;
        /* rte_pktmbuf_read returns a pointer into the mbuf when the data is contiguous
         * without copying: copy explicitly in that case. */
        const void *p = rte_pktmbuf_read(m[i], 0, len, buf + (size_t)i * stride);
        if (p != buf + (size_t)i * stride)
            memcpy(buf + (size_t)i * stride, p, len);
        lens[i] = len;
        rte_pktmbuf_free(m[i]);
    }
    return n;
}

/* Sends `n` frames (frame i at buf + i*stride, lens[i] bytes). Returns how many the port took;
 * the rest are not sent (the caller retries them). A negative value: no mbufs. */
int nfw_tx(uint16_t port, const uint8_t *buf, uint16_t stride, const uint16_t *lens, uint16_t n) {
    struct rte_mbuf *m[NFW_BURST];
    if (n > NFW_BURST)
        n = NFW_BURST;
    if (rte_pktmbuf_alloc_bulk(nfw_pool, m, n) != 0)
        return -1;
    for (uint16_t i = 0; i < n; i++) {
        char *d = rte_pktmbuf_append(m[i], lens[i]);
        if (d == NULL) {
            rte_pktmbuf_free_bulk(m, n);
            return -2;
        }
        memcpy(d, buf + (size_t)i * stride, lens[i]);
    }
    uint16_t sent = rte_eth_tx_burst(port, 0, m, n);
    if (sent < n)
        rte_pktmbuf_free_bulk(m + sent, n - sent);
    return sent;
}

/* Reads the port's counters: received, sent, missed by the NIC (ring full), errors. */
int nfw_port_stats(uint16_t port, uint64_t out[4]) {
    struct rte_eth_stats s;
    int rc = rte_eth_stats_get(port, &s);
    if (rc == 0) {
        out[0] = s.ipackets;
        out[1] = s.opackets;
        out[2] = s.imissed;
        out[3] = s.ierrors + s.oerrors;
    }
    return rc;
}

void nfw_cleanup(void) {
    uint16_t port;
    RTE_ETH_FOREACH_DEV(port) {
        rte_eth_dev_stop(port);
        rte_eth_dev_close(port);
    }
    rte_eal_cleanup();
}
