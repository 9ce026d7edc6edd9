// lbnic_sim: the Verilator harness around lbnic_top (issue 12). It only
// drives the top's ports and serves the conntrack memory; everything between
// RX and TX is the RTL. The Rust crate `lbnic-rtl-sim` (rtl-sim/) spawns it
// and speaks the protocol below on stdin / stdout; scripts/rtl-sim.sh builds
// it per target (rtl/build/sim/<fingerprint>/lbnic_sim).
//
// PROTOCOL (version 3; rtl/sim/README.md has the same with the reasons).
// Every message, both ways: op (u8), payload length (u32 LE), payload.
// Integers little-endian. Commands (stdin):
//   0x01 WRITE32  addr u32, value u32           AXI4-Lite write; no reply
//   0x02 READ32   addr u32                      AXI4-Lite read; reply READ32
//   0x03 APWRITE  offset u64, bytes             aperture write, 64-bit words
//                                               (offset and length multiples
//                                               of 8); no reply
//   0x04 APREAD   offset u64, len u32           aperture read; reply APREAD
//   0x05 FRAME    ts_ns u64, arrival u64, bytes  queue a frame at the RX
//                                               source: its first beat not
//                                               before cycle base + arrival
//                                               (base: the cycle of the
//                                               first FRAME), tuser =
//                                               ts_ns / (ct_tick_us * 1000);
//                                               no reply
//   0x06 RUN      max_cycles u64                run until RX has taken every
//                                               queued frame; reply DONE
//   0x07 FINISH   max_cycles u64                run until the source is
//                                               empty and idle && swept;
//                                               reply DONE
//   0x08 CYCLES   n u64                         run n cycles; reply DONE
//   0x09 QUIT                                   exit 0 (no reply)
//   0x0a CTREAD   offset u64, len u32           read the conntrack memory
//                                               (the harness's, outside the
//                                               RTL); reply CTREAD
//   0x0b CTWRITE  offset u64, bytes             write it; no reply (both
//                                               only while CONTROL.CT_HOST
//                                               holds the RTL off it)
//   0x0c STATS                                  reply STATS (version 3)
// Events (stdout):
//   0x80 HELLO    version u32, fingerprint u64, datapath_bytes u32,
//                 clock_mhz u32                 first message
//   0x81 OUT      index u64, arrival u64, ingress u64, egress u64, bytes
//                 (index: the RX frame index from m_tx_tuser, counting every
//                 FRAME from 0; cycles counted from base: arrival, the
//                 FRAME's; ingress, of its first RX beat; egress, of the
//                 last TX beat)
//   0x82 READ32   value u32
//   0x83 APREAD   bytes
//   0x84 DONE     cycle u64 (the current cycle)
//   0x85 ERROR    utf-8 message; the harness then exits with status 1
//   0x86 CTREAD   bytes
//   0x87 STATS    count u32, then count u64s: what the harness saw at the
//                 ports since reset, in the order of struct Edge below
//                 (the cycle model's figures of the same name)
// Every wait is bounded (a register or aperture handshake by
// HANDSHAKE_LIMIT cycles, RUN / FINISH by their max_cycles): a limit is an
// ERROR, never a hang.
//
// Timing inside one cycle: inputs are set, the model settles (clk low),
// readies that may depend on the DUT's valids are set and it settles again,
// handshakes are sampled, then the rising edge.
#include "Vlbnic_top.h"
#include "lbnic_contract.h"
#include "verilated.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

namespace {

constexpr uint32_t PROTOCOL_VERSION = 3;
// (a commit's scan of the bank may hold the bus: bank_len / 8 clocks)
constexpr uint64_t HANDSHAKE_LIMIT = 1'000'000 + LBNIC_MEM_BANK_LEN / 8;
constexpr uint32_t MAX_PAYLOAD = 1u << 30;
constexpr uint64_t DB = LBNIC_TARGET_DATAPATH_BYTES;
constexpr uint64_t WAYS = LBNIC_TARGET_CT_WAYS;
constexpr uint64_t BUCKETS = LBNIC_TARGET_CT_BUCKETS;
constexpr uint64_t BUCKET_BYTES = WAYS * 64;
// The egress port (the cycle model's, spec 12.2 "Ports"): time in
// 1/PORT_DEN cycle units, a frame of L bytes occupies l1(L) * PORT_BYTE.
constexpr unsigned __int128 PORT_DEN = (unsigned __int128)LBNIC_TARGET_PORT_GBPS * 1000;
constexpr unsigned __int128 PORT_BYTE = (unsigned __int128)8 * LBNIC_TARGET_CLOCK_MHZ;
static uint64_t l1_bytes(uint64_t len) { return std::max<uint64_t>(len, 60) + 4 + 8 + 12; }
// A bucket read: latency, plus the beats beyond the first at the port's
// bandwidth (hw_model cycle.rs `read_cycles`).
constexpr uint64_t READ_CYCLES = LBNIC_TARGET_CT_LATENCY_CYCLES +
                                 (WAYS + LBNIC_TARGET_CT_BEATS_PER_CYCLE - 1) /
                                     LBNIC_TARGET_CT_BEATS_PER_CYCLE -
                                 1;

enum Op : uint8_t {
    WRITE32 = 0x01,
    READ32 = 0x02,
    APWRITE = 0x03,
    APREAD = 0x04,
    FRAME = 0x05,
    RUN = 0x06,
    FINISH = 0x07,
    CYCLES = 0x08,
    QUIT = 0x09,
    CTREAD = 0x0a,
    CTWRITE = 0x0b,
    STATS = 0x0c,
    EV_HELLO = 0x80,
    EV_OUT = 0x81,
    EV_READ32 = 0x82,
    EV_APREAD = 0x83,
    EV_DONE = 0x84,
    EV_ERROR = 0x85,
    EV_CTREAD = 0x86,
    EV_STATS = 0x87,
};

// ---- wire ----------------------------------------------------------------

struct Msg {
    std::vector<uint8_t> b;
    void u8(uint8_t v) { b.push_back(v); }
    void u32(uint32_t v) {
        for (int i = 0; i < 4; i++) b.push_back(uint8_t(v >> (8 * i)));
    }
    void u64(uint64_t v) {
        for (int i = 0; i < 8; i++) b.push_back(uint8_t(v >> (8 * i)));
    }
    void bytes(const uint8_t* p, size_t n) { b.insert(b.end(), p, p + n); }
};

void send(uint8_t op, const Msg& m, bool flush) {
    uint8_t h[5] = {op, uint8_t(m.b.size()), uint8_t(m.b.size() >> 8), uint8_t(m.b.size() >> 16),
                    uint8_t(m.b.size() >> 24)};
    fwrite(h, 1, 5, stdout);
    if (!m.b.empty()) fwrite(m.b.data(), 1, m.b.size(), stdout);
    if (flush) fflush(stdout);
}

[[noreturn]] void fail(const std::string& s) {
    Msg m;
    m.bytes(reinterpret_cast<const uint8_t*>(s.data()), s.size());
    send(EV_ERROR, m, true);
    exit(1);
}

uint64_t rd_le(const uint8_t* p, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v |= uint64_t(p[i]) << (8 * i);
    return v;
}

// ---- signals of any width ------------------------------------------------
// Verilator gives a port of <= 8 / 16 / 32 / 64 bits as CData / SData /
// IData / QData and a wider one as VlWide<N> (32-bit words, bit 0 first),
// so byte k of a flat vector is byte k of the storage on a little-endian
// host for every kind.

template <typename T, typename std::enable_if<std::is_integral<T>::value, int>::type = 0>
void put_bytes(T& s, const uint8_t* p, size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n && i < sizeof(T); i++) v |= uint64_t(p[i]) << (8 * i);
    s = T(v);
}
template <std::size_t N>
void put_bytes(VlWide<N>& w, const uint8_t* p, size_t n) {
    for (size_t i = 0; i < N; i++) w[i] = 0;
    for (size_t i = 0; i < n && i < 4 * N; i++) w[i / 4] |= EData(p[i]) << (8 * (i % 4));
}
template <typename T, typename std::enable_if<std::is_integral<T>::value, int>::type = 0>
void get_bytes(const T& s, uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; i++) p[i] = i < sizeof(T) ? uint8_t(uint64_t(s) >> (8 * i)) : 0;
}
template <std::size_t N>
void get_bytes(const VlWide<N>& w, uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; i++) p[i] = i < 4 * N ? uint8_t(w[i / 4] >> (8 * (i % 4))) : 0;
}
template <typename T, typename std::enable_if<std::is_integral<T>::value, int>::type = 0>
void put_u64(T& s, uint64_t v) {
    s = T(v);
}
template <std::size_t N>
void put_u64(VlWide<N>& w, uint64_t v) {
    uint8_t b[8];
    for (int i = 0; i < 8; i++) b[i] = uint8_t(v >> (8 * i));
    put_bytes(w, b, 8);
}
template <typename T, typename std::enable_if<std::is_integral<T>::value, int>::type = 0>
uint64_t get_u64(const T& s) {
    return uint64_t(s);
}
template <std::size_t N>
uint64_t get_u64(const VlWide<N>& w) {
    uint8_t b[8];
    get_bytes(w, b, 8);
    return rd_le(b, 8);
}

// ---- the harness ---------------------------------------------------------

struct Frame {
    uint64_t index;
    uint64_t arrival;  // absolute cycle
    uint32_t tuser;
    std::vector<uint8_t> data;
};

// A frame RX has started, until its output leaves (or a later one does:
// it was dropped). `kept` is its place among the frames the MAC kept
// (not oversize), which is the order the stage probes see them in;
// the stage cycles are what OUT reports (0 where a probe has not seen it).
struct InFlight {
    uint64_t index, arrival, ingress, rx_done = 0, ct_req = 0, decided = 0, tx = 0;
    uint64_t kept = UINT64_MAX;
};

// What the harness sees at the top's edges (STATS), each as the cycle
// model counts it (hw_model::cycle::CycleStats; spec 12.3 "The edges").
struct Edge {
    uint64_t rx_beats = 0;           // busy[rx]: cycles RX took a beat
    uint64_t tx_beats = 0;           // busy[tx]
    uint64_t rx_port_high_water = 0; // fifo_high_water[rx], at each arrival
    uint64_t rx_datapath = 0;        // stalls[rx_datapath]
    uint64_t tx_port = 0;            // stalls[tx_port]
    uint64_t ct_reads = 0;           // buckets read for packets
    uint64_t ct_writes = 0;          // ways written for packets
    uint64_t bg_reads = 0;           // buckets read for the scrubber etc.
    uint64_t bg_writes = 0;          // ways written by it
    uint64_t ct_outstanding_high_water = 0;  // packets' requests in flight
    static constexpr uint32_t COUNT = 10;
};

struct Read {
    uint64_t due;
    uint32_t tag;
    bool bg;  // the scrubber's (or a hint refresh's): its own slots
    std::vector<uint8_t> data;
};

struct Harness {
    std::unique_ptr<VerilatedContext> ctx;
    std::unique_ptr<Vlbnic_top> top;
    uint64_t cycle = 0;
    // Idle time skipped (cycles): when nothing is in flight and the next
    // frame arrives later, the harness jumps to its arrival instead of
    // clocking the empty pipeline (as the cycle model does). Frame times
    // (arrival, ingress, egress, base) are on this skipped-time axis,
    // vnow(); device time is the frames' tuser, which skipping leaves alone.
    uint64_t skipped = 0;
    uint64_t vnow() const { return cycle + skipped; }

    // RX source
    std::deque<Frame> src;
    size_t beat = 0;  // next beat of src.front()
    uint64_t next_index = 0;
    bool have_base = false;
    uint64_t base = 0;
    std::deque<InFlight> inflight;  // frames RX has started, no output yet
    uint64_t kept_next = 0;         // frames the MAC kept so far
    uint64_t probe_req = 0, probe_ready = 0, probe_exec = 0;  // stage probes seen so far

    // TX sink
    std::vector<uint8_t> tx;
    uint64_t tx_index = 0;  // 64-bit RX index of the frame on TX
    bool tx_busy = false;
    // egress port: when it is free, and when the frame on TX started on it
    unsigned __int128 port_free = 0, tx_start = 0;
    uint64_t tx_first = 0;  // the cycle of the frame's first TX beat
    uint64_t last_out = 0;  // unwrapping m_tx_tuser
    bool any_out = false;

    Edge edge;
    // first-beat cycles of the frames RX started, from the first one not
    // yet before an arrival counted (the port backlog: edge)
    std::deque<uint64_t> starts;
    uint64_t started_before = 0;

    // conntrack memory (decision 6)
    std::vector<uint8_t> mem;
    std::deque<Read> reads;
    // The packets' requests in flight (the candidates of a queued packet, of
    // a posted unit's command, of CT_EXEC's in-line NAT return key; a
    // relocation target alone): ct_max_outstanding counts requests, each
    // holding its slot from its first read to its first answer, as the
    // cycle model's request of reads issued in parallel does (spec §12.3
    // decision 9). By request: its reads in flight, and the slot held.
    struct Req {
        uint32_t reads = 0;
        bool slot = false;
    };
    std::map<uint32_t, Req> by_req;
    size_t slots = 0;
    // (the contract's tag layout, LBNIC_CT_TAG_*; a request's key is its
    // tag without the side, or 2^CT_TAG_BITS + the unit / CT_EXEC's read)
    static_assert(LBNIC_CT_TAG_BITS <= 8 * sizeof(std::remove_reference_t<decltype(Vlbnic_top::ct_rd_tag)>),
                  "the top's conntrack tags are the contract's width");
    static_assert(LBNIC_CT_TAG_EXEC_A < LBNIC_CT_TAG_RMW && LBNIC_CT_TAG_EXEC_B < LBNIC_CT_TAG_RMW &&
                      LBNIC_CT_TAG_EXEC_T < LBNIC_CT_TAG_RMW,
                  "req_of takes tags below CT_TAG_RMW for CT_EXEC's");
    static uint32_t req_of(uint32_t tag) {
        constexpr uint32_t OTHER = 1u << LBNIC_CT_TAG_BITS;
        if (tag & LBNIC_CT_TAG_QUEUED) return tag & ~1u;  // {1, entry, side}
        if (tag >= LBNIC_CT_TAG_RMW) return OTHER + (tag - LBNIC_CT_TAG_RMW) / 2;  // a posted unit's
        // CT_EXEC's: its lookup's A and B are one request, a relocation target another
        return OTHER + LBNIC_CT_RMW_UNITS + (tag == LBNIC_CT_TAG_EXEC_T ? 1 : 0);
    }
    int64_t credit = 0;

    // register and aperture masters (one operation at a time)
    bool aw = false, w = false, b_wait = false, ar = false, r_wait = false;
    uint32_t axil_addr = 0, axil_wdata = 0, axil_rdata = 0;
    bool ap_req = false, ap_is_write = false, ap_r_wait = false;
    uint64_t ap_a = 0, ap_d = 0, ap_rd = 0;

    Harness() : ctx(new VerilatedContext), mem(BUCKETS * BUCKET_BYTES, 0) {
        top.reset(new Vlbnic_top(ctx.get(), "lbnic_top"));
        zero_inputs();
        top->rst = 1;
        for (int i = 0; i < 16; i++) step();
        top->rst = 0;
        step();
    }

    void zero_inputs() {
        top->clk = 0;
        top->s_rx_tvalid = 0;
        top->s_rx_tlast = 0;
        put_u64(top->s_rx_tkeep, 0);
        put_u64(top->s_rx_tuser, 0);
        top->m_tx_tready = 1;
        top->s_axil_awvalid = 0;
        top->s_axil_wvalid = 0;
        top->s_axil_wstrb = 0xf;
        top->s_axil_bready = 1;
        top->s_axil_arvalid = 0;
        top->s_axil_rready = 1;
        top->ap_valid = 0;
        top->ap_write = 0;
        top->ap_rready = 1;
        top->ct_rd_ready = 0;
        top->ct_rsp_valid = 0;
        top->ct_wr_ready = 0;
    }

    // The inputs of this cycle that depend only on the harness's state.
    void drive() {
        if (beat == 0 && !src.empty() && src.front().arrival > vnow() && top->idle && reads.empty() &&
            !(aw || w || b_wait || ar || r_wait || ap_req || ap_r_wait))
            skipped += src.front().arrival - vnow();
        // RX: the head frame once its arrival cycle has come
        bool rx = !src.empty() && src.front().arrival <= vnow();
        top->s_rx_tvalid = rx;
        if (rx) {
            const Frame& f = src.front();
            size_t n = f.data.size();
            size_t off = beat * DB;
            size_t k = n > off ? std::min<size_t>(DB, n - off) : 0;
            put_bytes(top->s_rx_tdata, f.data.data() + off, k);
            uint8_t kb[DB];
            for (size_t i = 0; i < DB; i++) kb[i] = 0;
            // tkeep as a DB-bit vector: bit i for byte i
            for (size_t i = 0; i < k; i++) kb[i / 8] |= uint8_t(1u << (i % 8));
            put_bytes(top->s_rx_tkeep, kb, (DB + 7) / 8);
            top->s_rx_tlast = off + DB >= n;
            put_u64(top->s_rx_tuser, f.tuser);
        } else {
            top->s_rx_tlast = 0;
        }
        // TX: a frame may start in a cycle during which the egress port
        // becomes free, and not before; its other beats are always taken.
        top->m_tx_tready = tx_busy || port_free < ((unsigned __int128)vnow() + 1) * PORT_DEN;
        // AXI4-Lite
        put_u64(top->s_axil_awaddr, axil_addr);
        put_u64(top->s_axil_araddr, axil_addr);
        top->s_axil_wdata = axil_wdata;
        top->s_axil_awvalid = aw;
        top->s_axil_wvalid = w;
        top->s_axil_arvalid = ar;
        // aperture
        top->ap_valid = ap_req;
        top->ap_write = ap_is_write;
        put_u64(top->ap_addr, ap_a);
        top->ap_wdata = ap_d;
        // conntrack response due this cycle (one per cycle at most: one
        // read is accepted per cycle and the latency is fixed)
        if (!reads.empty() && reads.front().due <= cycle) {
            top->ct_rsp_valid = 1;
            put_u64(top->ct_rsp_tag, reads.front().tag);
            put_bytes(top->ct_rsp_data, reads.front().data.data(), BUCKET_BYTES);
        } else {
            top->ct_rsp_valid = 0;
        }
    }

    // One clock.
    void step() {
        drive();
        top->clk = 0;
        top->eval();
        // Readies of the conntrack port: bandwidth as a credit of
        // ct_beats_per_cycle ways per clock (writes first), at most
        // ct_max_outstanding packets' reads in flight (background reads
        // have their own slots, spec §12.3 decision 9: the engine makes
        // one at a time).
        int64_t c = std::min<int64_t>(credit + LBNIC_TARGET_CT_BEATS_PER_CYCLE,
                                      LBNIC_TARGET_CT_BEATS_PER_CYCLE);
        bool wr_ok = c > 0;
        int64_t c2 = c;
        if (wr_ok && top->ct_wr_valid) {
            uint64_t mask = get_u64(top->ct_wr_mask);
            c2 -= __builtin_popcountll(mask);
        }
        // (a request answered in this cycle frees its slot in it, as the
        // cycle model retires a read at its data cycle)
        bool frees = top->ct_rsp_valid && !reads.front().bg && by_req.at(req_of(reads.front().tag)).slot;
        size_t held = slots - frees;
        auto rq = by_req.find(req_of(uint32_t(get_u64(top->ct_rd_tag))));
        bool rd_ok = c2 > 0 && (top->probe_ct_bg || (rq != by_req.end() && rq->second.slot) ||
                                held < LBNIC_TARGET_CT_MAX_OUTSTANDING);
        top->ct_wr_ready = wr_ok;
        top->ct_rd_ready = rd_ok;
        top->eval();

        // handshakes of this cycle, sampled before the edge
        bool rx_fire = top->s_rx_tvalid && top->s_rx_tready;
        bool tx_fire = top->m_tx_tvalid && top->m_tx_tready;
        bool wr_fire = top->ct_wr_valid && top->ct_wr_ready;
        bool rd_fire = top->ct_rd_valid && top->ct_rd_ready;
        bool rsp = top->ct_rsp_valid;
        bool p_req = top->probe_ct_req, p_exec = top->probe_ct_exec, p_bg = top->probe_ct_bg;
        unsigned p_ready = top->probe_ct_ready;
        bool aw_fire = aw && top->s_axil_awready;
        bool w_fire = w && top->s_axil_wready;
        bool b_fire = b_wait && top->s_axil_bvalid;
        bool ar_fire = ar && top->s_axil_arready;
        bool r_fire = r_wait && top->s_axil_rvalid;
        bool ap_fire = ap_req && top->ap_ready;
        bool apr_fire = ap_r_wait && top->ap_rvalid;
        uint32_t rdata = top->s_axil_rdata;
        uint64_t ap_rdata = top->ap_rdata;

        count(rx_fire, tx_fire, wr_fire, rd_fire, p_bg);
        if (tx_fire) take_tx_beat();
        if (wr_fire) {
            uint64_t bucket = get_u64(top->ct_wr_bucket);
            uint64_t mask = get_u64(top->ct_wr_mask);
            if (bucket >= BUCKETS) fail("conntrack write to bucket " + std::to_string(bucket) + " of " + std::to_string(BUCKETS));
            std::vector<uint8_t> d(BUCKET_BYTES);
            get_bytes(top->ct_wr_data, d.data(), BUCKET_BYTES);
            for (uint64_t wy = 0; wy < WAYS; wy++)
                if (mask >> wy & 1)
                    memcpy(&mem[bucket * BUCKET_BYTES + wy * 64], &d[wy * 64], 64);
            c -= __builtin_popcountll(mask);
        }
        if (rd_fire) {
            uint64_t bucket = get_u64(top->ct_rd_bucket);
            if (bucket >= BUCKETS) fail("conntrack read of bucket " + std::to_string(bucket) + " of " + std::to_string(BUCKETS));
            // the data as of the request: every earlier write applied
            Read r{cycle + READ_CYCLES, uint32_t(get_u64(top->ct_rd_tag)), p_bg, {}};
            if (!p_bg) {
                Req& q = by_req[req_of(r.tag)];
                q.reads++;
                if (!q.slot) slots++;
                q.slot = true;
            }
            r.data.assign(mem.begin() + bucket * BUCKET_BYTES, mem.begin() + (bucket + 1) * BUCKET_BYTES);
            reads.push_back(std::move(r));
            c -= WAYS;
        }
        credit = c;
        // requests in flight during the cycle, its issue included and one
        // answered in it not (the cycle model's count)
        edge.ct_outstanding_high_water = std::max<uint64_t>(edge.ct_outstanding_high_water, slots - frees);

        top->clk = 1;
        top->eval();
        cycle++;

        if (rsp) {
            if (!reads.front().bg) {
                auto it = by_req.find(req_of(reads.front().tag));
                if (it->second.slot) slots--;
                it->second.slot = false;
                if (--it->second.reads == 0) by_req.erase(it);
            }
            reads.pop_front();
        }
        if (p_req) stage_of(probe_req++, "CT_REQ").ct_req = vnow() - 1;
        // (decided: the cycle the decision was ready to leave CT_EXEC, where
        // the cycle model's leaves it for BACKEND's FIFO; the egress may
        // take it later, spec §12.3)
        for (unsigned k = 0; k < p_ready; k++) stage_of(probe_ready++, "CT_EXEC").decided = vnow() - 1;
        if (p_exec && ++probe_exec > probe_ready)
            fail("CT_EXEC let out decision " + std::to_string(probe_exec - 1) + " before probe_ct_ready counted it");
        if (rx_fire) {
            Frame& f = src.front();
            if (beat == 0) {
                InFlight fl{f.index, f.arrival, vnow() - 1};
                if (f.data.size() <= LBNIC_TARGET_MAX_RX_FRAME) fl.kept = kept_next++;
                inflight.push_back(fl);
            }
            beat++;
            if (beat * DB >= f.data.size()) {
                src.pop_front();
                beat = 0;
                inflight.back().rx_done = vnow();
            }
        }
        if (aw_fire) aw = false;
        if (w_fire) w = false;
        if (b_fire) b_wait = false;
        if (ar_fire) ar = false;
        if (r_fire) {
            r_wait = false;
            axil_rdata = rdata;
        }
        if (ap_fire) {
            ap_req = false;
            if (!ap_is_write) ap_r_wait = true;
        }
        if (apr_fire) {
            ap_r_wait = false;
            ap_rd = ap_rdata;
        }
    }

    // The edge counters of this cycle, before its edge (vnow() is the
    // cycle's number, as the stage cycles count it).
    void count(bool rx_fire, bool tx_fire, bool wr_fire, bool rd_fire, bool bg) {
        uint64_t now = vnow();
        edge.rx_beats += rx_fire;
        edge.tx_beats += tx_fire;
        // RX mid-frame (its first beat this cycle or before) while the next
        // frame has arrived
        if ((beat > 0 || rx_fire) && src.size() > 1 && src[1].arrival <= now) edge.rx_datapath++;
        // a frame at TX, its first beat held for the egress port
        if (top->m_tx_tvalid && !tx_busy && !top->m_tx_tready) edge.tx_port++;
        if (rx_fire && beat == 0) {
            // frame k's backlog at its arrival: the frames arrived by then
            // (k + 1, in order) less those started before it
            const Frame& f = src.front();
            while (!starts.empty() && starts.front() < f.arrival) {
                starts.pop_front();
                started_before++;
            }
            edge.rx_port_high_water = std::max(edge.rx_port_high_water, f.index + 1 - started_before);
            starts.push_back(now);
        }
        if (wr_fire) (bg ? edge.bg_writes : edge.ct_writes) += __builtin_popcountll(get_u64(top->ct_wr_mask));
        if (rd_fire) (bg ? edge.bg_reads : edge.ct_reads)++;
    }

    // The frame the k-th strobe of a stage probe is about: frames pass
    // the stages in RX order, oversize ones never.
    InFlight& stage_of(uint64_t k, const char* stage) {
        for (InFlight& f : inflight)
            if (f.kept == k) return f;
        fail(std::string(stage) + " probe for kept frame " + std::to_string(k) +
             ", which is not in flight (a probe out of order)");
        return inflight.front();  // not reached: fail exits
    }

    void take_tx_beat() {
        uint8_t keep[(DB + 7) / 8];
        get_bytes(top->m_tx_tkeep, keep, sizeof keep);
        uint8_t data[DB];
        get_bytes(top->m_tx_tdata, data, DB);
        if (!tx_busy) {
            uint32_t u = uint32_t(get_u64(top->m_tx_tuser));
            // outputs leave in input order: unwrap the 32-bit index
            uint64_t idx = any_out ? last_out + uint32_t(u - uint32_t(last_out)) : u;
            tx_index = idx;
            tx_busy = true;
            tx.clear();
            tx_start = std::max(port_free, (unsigned __int128)vnow() * PORT_DEN);
            tx_first = vnow();
        }
        for (size_t i = 0; i < DB; i++)
            if (keep[i / 8] >> (i % 8) & 1) tx.push_back(data[i]);
        if (top->m_tx_tlast) {
            tx_busy = false;
            while (!inflight.empty() && inflight.front().index < tx_index) inflight.pop_front();
            if (inflight.empty() || inflight.front().index != tx_index)
                fail("TX frame of RX index " + std::to_string(tx_index) +
                     ", which is not in flight (outputs out of order, or twice)");
            InFlight f = inflight.front();
            inflight.pop_front();
            last_out = tx_index;
            any_out = true;
            Msg m;
            m.u64(f.index);
            m.u64(f.arrival - base);
            m.u64(f.ingress - base);
            m.u64(f.rx_done - base);
            m.u64(f.ct_req - base);
            m.u64(f.decided - base);
            m.u64(tx_first - base);
            // the cycle (rounded up) its last bit leaves the port, at least
            // the cycle after its last beat
            port_free = tx_start + (unsigned __int128)l1_bytes(tx.size()) * PORT_BYTE;
            uint64_t wire_end = uint64_t((port_free + PORT_DEN - 1) / PORT_DEN);
            m.u64(std::max(wire_end, vnow() + 1) - base);
            m.bytes(tx.data(), tx.size());
            send(EV_OUT, m, false);
        }
    }

    void bounded(uint64_t& n, uint64_t limit, const char* what) {
        if (++n > limit) fail(std::string(what) + ": no handshake after " + std::to_string(limit) + " cycles");
    }

    void write32(uint32_t addr, uint32_t v) {
        axil_addr = addr;
        axil_wdata = v;
        aw = w = b_wait = true;
        uint64_t n = 0;
        while (aw || w || b_wait) {
            step();
            bounded(n, HANDSHAKE_LIMIT, ("AXI4-Lite write of " + hex(addr)).c_str());
        }
    }

    uint32_t read32(uint32_t addr) {
        axil_addr = addr;
        ar = r_wait = true;
        uint64_t n = 0;
        while (ar || r_wait) {
            step();
            bounded(n, HANDSHAKE_LIMIT, ("AXI4-Lite read of " + hex(addr)).c_str());
        }
        return axil_rdata;
    }

    void ap_write(uint64_t off, const uint8_t* p, size_t len) {
        if (off % 8 || len % 8) fail("aperture write at " + hex(off) + "+" + std::to_string(len) + " is not in 64-bit words");
        for (size_t i = 0; i < len; i += 8) {
            ap_a = off + i;
            ap_d = rd_le(p + i, 8);
            ap_is_write = true;
            ap_req = true;
            uint64_t n = 0;
            while (ap_req) {
                step();
                bounded(n, HANDSHAKE_LIMIT, ("aperture write at " + hex(ap_a)).c_str());
            }
        }
    }

    std::vector<uint8_t> ap_read(uint64_t off, size_t len) {
        if (off % 8 || len % 8) fail("aperture read at " + hex(off) + "+" + std::to_string(len) + " is not in 64-bit words");
        std::vector<uint8_t> out;
        for (size_t i = 0; i < len; i += 8) {
            ap_a = off + i;
            ap_is_write = false;
            ap_req = true;
            uint64_t n = 0;
            while (ap_req || ap_r_wait) {
                step();
                bounded(n, HANDSHAKE_LIMIT, ("aperture read at " + hex(ap_a)).c_str());
            }
            for (int k = 0; k < 8; k++) out.push_back(uint8_t(ap_rd >> (8 * k)));
        }
        return out;
    }

    void run(uint64_t limit, bool finish) {
        uint64_t n = 0;
        for (;;) {
            if (src.empty()) {
                if (!finish) return;
                if (top->idle && top->swept && !tx_busy) return;
            }
            if (n++ >= limit) {
                fail(std::string(finish ? "FINISH" : "RUN") + ": not done after " + std::to_string(limit) +
                     " cycles (" + std::to_string(src.size()) + " frames still at the RX source, idle " +
                     std::to_string(int(top->idle)) + ", swept " + std::to_string(int(top->swept)) + ")");
            }
            step();
        }
    }

    // A host access to the conntrack memory (CTREAD / CTWRITE) must lie
    // inside it; it is not checked against the RTL's accesses: the client
    // makes it only while CONTROL.CT_HOST holds the RTL off the memory.
    void ct_check(uint64_t off, uint64_t len, const char* what) const {
        if (off > mem.size() || len > mem.size() - off)
            fail(std::string(what) + " at " + hex(off) + "+" + std::to_string(len) + " is outside the " +
                 std::to_string(mem.size()) + "-byte conntrack memory");
    }

    static std::string hex(uint64_t v) {
        char b[32];
        snprintf(b, sizeof b, "%#llx", static_cast<unsigned long long>(v));
        return b;
    }
};

bool read_exact(uint8_t* p, size_t n) {
    size_t got = 0;
    while (got < n) {
        size_t k = fread(p + got, 1, n - got, stdin);
        if (k == 0) return false;
        got += k;
    }
    return true;
}

void need(const std::vector<uint8_t>& p, size_t n, const char* what) {
    if (p.size() < n) fail(std::string(what) + ": payload of " + std::to_string(p.size()) + " bytes, need " + std::to_string(n));
}

}  // namespace

int main(int argc, char** argv) {
    Verilated::commandArgs(argc, argv);
    static char obuf[1 << 16];
    setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
    Harness h;
    {
        Msg m;
        m.u32(PROTOCOL_VERSION);
        m.u64(LBNIC_TARGET_FINGERPRINT);
        m.u32(LBNIC_TARGET_DATAPATH_BYTES);
        m.u32(LBNIC_TARGET_CLOCK_MHZ);
        send(EV_HELLO, m, true);
    }
    std::vector<uint8_t> p;
    for (;;) {
        uint8_t hd[5];
        if (!read_exact(hd, 5)) {
            fflush(stdout);
            return 0;  // the client went away: nothing to report to
        }
        uint32_t len = uint32_t(rd_le(hd + 1, 4));
        if (len > MAX_PAYLOAD) fail("message of " + std::to_string(len) + " bytes");
        p.resize(len);
        if (len && !read_exact(p.data(), len)) fail("input ended inside a message");
        switch (hd[0]) {
        case WRITE32:
            need(p, 8, "WRITE32");
            h.write32(uint32_t(rd_le(&p[0], 4)), uint32_t(rd_le(&p[4], 4)));
            break;
        case READ32: {
            need(p, 4, "READ32");
            uint32_t v = h.read32(uint32_t(rd_le(&p[0], 4)));
            Msg m;
            m.u32(v);
            send(EV_READ32, m, true);
            break;
        }
        case APWRITE:
            need(p, 8, "APWRITE");
            h.ap_write(rd_le(&p[0], 8), p.data() + 8, p.size() - 8);
            break;
        case APREAD: {
            need(p, 12, "APREAD");
            auto d = h.ap_read(rd_le(&p[0], 8), uint32_t(rd_le(&p[8], 4)));
            Msg m;
            m.bytes(d.data(), d.size());
            send(EV_APREAD, m, true);
            break;
        }
        case FRAME: {
            need(p, 16, "FRAME");
            if (!h.have_base) {
                h.have_base = true;
                h.base = h.vnow();
            }
            uint64_t ts = rd_le(&p[0], 8);
            Frame f;
            f.index = h.next_index++;
            f.arrival = h.base + rd_le(&p[8], 8);
            f.tuser = uint32_t(ts / (uint64_t(LBNIC_TARGET_CT_TICK_US) * 1000));
            f.data.assign(p.begin() + 16, p.end());
            h.src.push_back(std::move(f));
            break;
        }
        case RUN:
        case FINISH:
        case CYCLES: {
            need(p, 8, "RUN");
            uint64_t n = rd_le(&p[0], 8);
            if (hd[0] == CYCLES) {
                for (uint64_t i = 0; i < n; i++) h.step();
            } else {
                h.run(n, hd[0] == FINISH);
            }
            Msg m;
            m.u64(h.vnow());
            send(EV_DONE, m, true);
            break;
        }
        case CTREAD: {
            need(p, 12, "CTREAD");
            uint64_t off = rd_le(&p[0], 8), len = rd_le(&p[8], 4);
            h.ct_check(off, len, "CTREAD");
            Msg m;
            m.bytes(h.mem.data() + off, len);
            send(EV_CTREAD, m, true);
            break;
        }
        case CTWRITE: {
            need(p, 8, "CTWRITE");
            uint64_t off = rd_le(&p[0], 8), len = p.size() - 8;
            h.ct_check(off, len, "CTWRITE");
            memcpy(h.mem.data() + off, p.data() + 8, len);
            break;
        }
        case STATS: {
            const Edge& e = h.edge;
            Msg m;
            m.u32(Edge::COUNT);
            for (uint64_t v : {e.rx_beats, e.tx_beats, e.rx_port_high_water, e.rx_datapath, e.tx_port,
                               e.ct_reads, e.ct_writes, e.bg_reads, e.bg_writes, e.ct_outstanding_high_water})
                m.u64(v);
            send(EV_STATS, m, true);
            break;
        }
        case QUIT:
            fflush(stdout);
            return 0;
        default:
            fail("unknown command " + std::to_string(hd[0]));
        }
    }
}
