// CT_REQ + CT_EXEC (spec §12.1 point 2, §12.2): conntrack and scheduling,
// strictly in packet order, over the external conntrack memory port.
//
// Packets come from FRONT in order with their meta_t and parsed_t; each
// leaves with its decision_t plus the VIP entry and the backend entry the
// decision names (BACKEND's read is done here, where the "usable" check
// reads the same table), in the same order.
//
// Conntrack memory port (served by the harness, or a memory controller):
// a read request names a bucket and a tag; its response carries the whole
// bucket (ways × 64 bytes, way w on bits [512w+511:512w]) and the tag. A
// write names a bucket and a mask of the ways it writes (the others'
// bits are ignored). Memory bandwidth is counted in ways (64-byte beats).
// Tags (the contract's CT_TAG_*, lbnic_pkg): CT_REQ's read-ahead uses
// {1, entry, side} (CT_TAG_QUEUED set; at most MAX_RD in flight), CT_EXEC's
// own reads CT_TAG_EXEC_A/B/T (one at a time), the posted NAT return
// entries' CT_TAG_RMW + 2u + side (lbnic_ct_rmw); the memory may hold
// ct_rd_ready low to bound them. Phase 2 (spec §12.2): up to DEPTH packets
// are taken from in_* before their decisions leave (in_ready is the
// queue's room), so "nothing in flight" for a commit is counted from in_*
// to out_*.
module lbnic_ct_engine #(
    parameter int unsigned WAYS = lbnic_pkg::TARGET_CT_WAYS,
    parameter int unsigned BUCKET_BITS = lbnic_pkg::TARGET_CT_BUCKET_BITS,
    parameter int unsigned MAX_VIPS = lbnic_pkg::TARGET_MAX_VIPS,
    parameter int unsigned MAX_BACKENDS = lbnic_pkg::TARGET_MAX_BACKENDS,
    parameter int unsigned LUT_ENTRIES = lbnic_pkg::TARGET_LUT_ENTRIES,
    parameter int unsigned LUT_ENTRY_BITS = lbnic_pkg::TARGET_LUT_ENTRY_BITS,
    // CT_REQ's read-ahead (phase 2): packets queued between in_* and
    // CT_EXEC (a power of two, at most 2^(TAG_BITS-2): the queued tag's
    // entry), and reads of queued packets in flight at most
    parameter int unsigned DEPTH = 16,  // 2, 4, 8, ...
    parameter int unsigned MAX_RD = 2 * DEPTH,
    // CT_EXEC's output queue (decisions waiting for their clock, X_LAT
    // after the cycle model executes them): at a hit every ~5 clocks,
    // two entries held CT_EXEC in S_OUT (issue 13)
    parameter int unsigned OQ = 4,
    // the hazard table's forwarding slots per side: a queued packet whose
    // bucket an older unfinished one has takes one (with one a side the
    // next such packet waited, and its source could leave meanwhile: a
    // memory read where the cycle model forwards, issue 13)
    parameter int unsigned FWK = 4,
    localparam int unsigned TAG_BITS = lbnic_pkg::CT_TAG_BITS,
    localparam int unsigned BBITS = WAYS * lbnic_pkg::CT_WAY_BITS,
    localparam int unsigned FS = 2 * FWK,  // slot s is side s / FWK's
    localparam int unsigned BIW = (MAX_BACKENDS > 1) ? $clog2(MAX_BACKENDS) : 1,
    localparam int unsigned LIW = (LUT_ENTRIES > 1) ? $clog2(LUT_ENTRIES) : 1,
    localparam int unsigned NC = lbnic_pkg::COUNTER_COUNT
) (
    input  logic                              clk,
    input  logic                              rst,

    // configuration: the active bank (the top drains the pipeline before a
    // swap, so every packet in here belongs to it) and CONTROL
    input  logic                              bank_valid,
    /* verilator lint_off UNUSEDSIGNAL */ // the timeouts and the Toeplitz key
    input  lbnic_pkg::global_t                global_cfg,
    /* verilator lint_on UNUSEDSIGNAL */
    input  logic [MAX_VIPS*lbnic_pkg::VIP_BITS-1:0] vips,
    input  logic                              ct_host,      // CONTROL.CT_HOST
    input  logic                              clear,        // CONTROL.RESET: RR pointers, hints
    input  logic                              flush_req,    // CONTROL.CT_FLUSH: every way invalid
    // one clock when COMMIT swapped banks (the pipeline is drained): RR
    // pointers of the new bank's valid VIPs with an empty table restart at
    // 0, as Device::activate does (the others wrap at use)
    input  logic                              bank_swap,
    output logic                              flush_done,   // one clock when the flush is complete

    // from FRONT, in packet order
    input  logic                              in_valid,
    output logic                              in_ready,
    input  lbnic_pipe_pkg::meta_t             in_meta,
    input  lbnic_pipe_pkg::parsed_t           in_parsed,

    // to BACKEND/REWRITE, in packet order
    output logic                              out_valid,
    input  logic                              out_ready,
    output lbnic_pipe_pkg::decision_t         out_decision,
    output lbnic_pipe_pkg::meta_t             out_meta,
    output lbnic_pipe_pkg::parsed_t           out_parsed,
    output lbnic_pkg::vip_t                   out_vip,      // VIP[decision.slot] (Forward / ReverseNat)
    output lbnic_pkg::backend_t               out_backend,  // BACKEND[vip.backend_base + local]

    // lbnic_bank pipeline read ports (active bank; 2 clocks, 1 per clock)
    output logic                              be_valid,
    output logic [BIW-1:0]                    be_index,
    input  logic                              be_rvalid,
    input  logic [lbnic_pkg::BACKEND_BITS-1:0] be_rdata,
    output logic                              lut_valid,
    output logic [LIW-1:0]                    lut_index,
    input  logic                              lut_rvalid,
    input  logic [LUT_ENTRY_BITS-1:0]         lut_rdata,

    // conntrack memory port
    output logic                              ct_rd_valid,
    input  logic                              ct_rd_ready,
    output logic [TAG_BITS-1:0]               ct_rd_tag,
    output logic [BUCKET_BITS-1:0]            ct_rd_bucket,
    input  logic                              ct_rsp_valid,
    input  logic [TAG_BITS-1:0]               ct_rsp_tag,
    input  logic [BBITS-1:0]                  ct_rsp_data,
    output logic                              ct_wr_valid,
    input  logic                              ct_wr_ready,
    output logic [BUCKET_BITS-1:0]            ct_wr_bucket,
    output logic [WAYS-1:0]                   ct_wr_mask,
    output logic [BBITS-1:0]                  ct_wr_data,

    // counters: +1 on counter k (index = (offset - REG_COUNTERS) / 8) in a
    // clock where bit k is set (CT_HITS, CT_MISSES, CT_INSERTS, ...)
    output logic [NC-1:0]                     cnt_inc,
    // a whole scrubber pass over the table ended after the last packet
    // entered (the harness waits for it at the end of a run: spec §12.2,
    // "both models sweep the whole table at the last ingress time")
    output logic                              swept,
    // a posted NAT return entry is not written yet, or one CT_EXEC inserts
    // in line (conntrack work in flight after every decision left: the
    // top's `idle` and CT_HOST's acknowledgement wait for it)
    output logic                              rmw_busy,
    // a packet is in CT_EXEC (its decision and frame may have left while it
    // still works: the top's `idle` waits for it too)
    output logic                              busy,
    // a performance probe: a read or write on the conntrack port this
    // clock is background work (the scrubber, the hint refresh, a flush),
    // not a packet's, so the harness can count the two apart as the cycle
    // model does (spec §12.3, "the edges")
    output logic                              ct_bg,
    // a performance probe: how many decisions became ready to leave in
    // this clock (X_LAT after the cycle model's CT_EXEC executed them, or
    // as handed over if later), whether or not the egress takes them now:
    // the cycle the cycle model's decision leaves CT_EXEC for BACKEND's
    // FIFO (spec §12.3, "How it is checked"). They do so in order.
    output logic [1:0]                        ready_n
);

  // ------------------------------------------------------------ constants
  localparam int unsigned WB = (WAYS > 1) ? $clog2(WAYS) : 1;
  localparam int unsigned N = 2 * WAYS;
  localparam int unsigned NW = $clog2(N + 1);
  localparam int unsigned NB = 1 << BUCKET_BITS;
  localparam int unsigned PAGE = (BUCKET_BITS < 12) ? (1 << BUCKET_BITS) : 4096;
  localparam int unsigned BW = (BUCKET_BITS > 0) ? BUCKET_BITS : 1;
  localparam int unsigned WBITS = lbnic_pkg::CT_WAY_BITS;
  localparam int unsigned VB = lbnic_pkg::VIP_BITS;
  localparam int unsigned RC = lbnic_pkg::REG_COUNTERS;
  localparam int unsigned CI_HITS = (lbnic_pkg::COUNTER_CT_HITS - RC) / 8;
  localparam int unsigned CI_MISSES = (lbnic_pkg::COUNTER_CT_MISSES - RC) / 8;
  localparam int unsigned CI_INSERTS = (lbnic_pkg::COUNTER_CT_INSERTS - RC) / 8;
  localparam int unsigned CI_EVICTIONS = (lbnic_pkg::COUNTER_CT_EVICTIONS - RC) / 8;
  localparam int unsigned CI_AGEOUTS = (lbnic_pkg::COUNTER_CT_AGEOUTS - RC) / 8;
  localparam int unsigned CI_RELOC = (lbnic_pkg::COUNTER_CT_RELOCATIONS - RC) / 8;
  localparam int unsigned CI_REFUSED = (lbnic_pkg::COUNTER_CT_INSERT_REFUSED - RC) / 8;
  localparam logic [7:0] DC_PARSE = 8'((lbnic_pkg::COUNTER_DROP_PARSE - RC) / 8);
  localparam logic [7:0] DC_NO_VIP = 8'((lbnic_pkg::COUNTER_DROP_NO_VIP - RC) / 8);
  localparam logic [7:0] DC_NO_BACKEND = 8'((lbnic_pkg::COUNTER_DROP_NO_BACKEND - RC) / 8);
  localparam logic [7:0] DC_UNROUTABLE = 8'((lbnic_pkg::COUNTER_DROP_UNROUTABLE - RC) / 8);
  localparam logic [7:0] DC_FRAG_AMBIGUOUS = 8'((lbnic_pkg::COUNTER_DROP_FRAG_AMBIGUOUS - RC) / 8);
  localparam logic NO_VIP_DROP = lbnic_pkg::TARGET_NO_VIP_ACTION == 32'(lbnic_pkg::MISS_ACTION_DROP);
  localparam logic PARSE_DROP = lbnic_pkg::TARGET_PARSE_ERROR_ACTION == 32'(lbnic_pkg::MISS_ACTION_DROP);
  localparam logic [7:0] TCP = 8'd6;
  localparam logic [7:0] ST_NONE = 8'(lbnic_pkg::TCP_STATE_NONE);
  localparam logic [7:0] ST_SYN = 8'(lbnic_pkg::TCP_STATE_SYN_SEEN);
  localparam logic [7:0] ST_CLOSING = 8'(lbnic_pkg::TCP_STATE_CLOSING);
  localparam logic [7:0] ST_CLOSED = 8'(lbnic_pkg::TCP_STATE_CLOSED);
  localparam logic [7:0] F_VALID = 8'(lbnic_pkg::CT_WAY_FLAG_VALID);
  localparam logic [7:0] F_V6 = 8'(lbnic_pkg::CT_WAY_FLAG_V6);
  localparam logic [7:0] F_FRAG = 8'(lbnic_pkg::CT_WAY_FLAG_FRAG);
  localparam logic [7:0] VF_VALID = 8'(lbnic_pkg::VIP_FLAG_VALID);
  localparam logic [7:0] BF_VALID = 8'(lbnic_pkg::BACKEND_FLAG_VALID);
  localparam logic [7:0] BF_V6 = 8'(lbnic_pkg::BACKEND_FLAG_V6);
  localparam logic [7:0] BS_DOWN = 8'(lbnic_pkg::BACKEND_STATE_DOWN);
  localparam logic [7:0] MODE_NAT = 8'(lbnic_pkg::MODE_NAT);
  localparam logic [7:0] SCHED_MAGLEV = 8'(lbnic_pkg::SCHED_MAGLEV);
  localparam logic [7:0] SCHED_MAGLEV_STABLE = 8'(lbnic_pkg::SCHED_MAGLEV_STABLE);
  // a VIP schedules by Maglev (its index is the flow hash's)
  function automatic logic maglev(input logic [7:0] sched);
    maglev = sched == SCHED_MAGLEV || sched == SCHED_MAGLEV_STABLE;
  endfunction
  localparam logic [1:0] INS_FREE = 2'd0;
  localparam logic [1:0] INS_RELOCATE = 2'd1;
  localparam logic [1:0] INS_EVICT = 2'd2;
  localparam logic [7:0] RST_FLAG = 8'h04;
  localparam logic [TAG_BITS-1:0] TAG_A = TAG_BITS'(lbnic_pkg::CT_TAG_EXEC_A);
  localparam logic [TAG_BITS-1:0] TAG_B = TAG_BITS'(lbnic_pkg::CT_TAG_EXEC_B);
  localparam logic [TAG_BITS-1:0] TAG_Q = TAG_BITS'(lbnic_pkg::CT_TAG_QUEUED);
  // the posted NAT return entries' reads (lbnic_ct_rmw u: sides a and b
  // at TAG_R + 2u and TAG_R + 2u + 1)
  localparam int unsigned TAG_R = lbnic_pkg::CT_TAG_RMW;
  // CT_EXEC's latency (the contract's), counted from the clock the cycle
  // model's CT_EXEC executes the packet: for a packet with buckets, X_LAG
  // clocks before it enters here (its last read response, the queue's
  // state register, pop); for one without, the clock it enters
  localparam int unsigned X_LAT = lbnic_pkg::CT_EXEC_LATENCY;
  localparam int unsigned X_LAG = 3;

  // ------------------------------------------------------------ helpers
  // CtTable::expired of a way at time t (32-bit wrapping), given the
  // timeouts syn, est, fin, udp.
  /* verilator lint_off UNUSEDSIGNAL */ // the fields expiry needs
  function automatic logic way_expired(input logic [WBITS-1:0] w, input logic [31:0] t,
                                       input logic [127:0] to);
  /* verilator lint_on UNUSEDSIGNAL */
    logic [7:0] s, fl, pr;
    logic [31:0] last;
    logic [1:0] sel;
    logic [3:0] e;
    /* verilator lint_off UNUSEDSIGNAL */ // (the sign and the bit below it)
    logic [33:0] x;
    /* verilator lint_on UNUSEDSIGNAL */
    fl = w[8*lbnic_pkg::CT_WAY_FLAGS_OFF +: 8];
    pr = w[8*lbnic_pkg::CT_WAY_PROTO_OFF +: 8];
    s = w[8*lbnic_pkg::CT_WAY_TCP_STATE_OFF +: 8];
    last = w[8*lbnic_pkg::CT_WAY_LAST_SEEN_OFF +: 32];
    if (s > ST_CLOSED) s = ST_NONE;
    // the way's timeout: syn 0, est 1, fin 2, udp 3
    sel = ((fl & F_FRAG) != 0) ? 2'd0
        : (pr != TCP) ? 2'd3
        : (s == ST_SYN) ? 2'd0
        : (s == ST_CLOSING || s == ST_CLOSED) ? 2'd2
        : 2'd1;
    // ((t - last) mod 2^32) > timeout as one carry chain: x = t - last -
    // timeout - 1 in 34 bits is >= 0, or >= -2^32 where t - last wrapped
    // (the subtraction and then the compare were two chains in series).
    // All four timeouts' chains side by side, chosen after: the choice in
    // front of one chain was 5 LUT levels of the scrubber's deepest path
    // into the FSM's state.
    for (int k = 0; k < 4; k++) begin
      x = {2'b00, t} - {2'b00, last} - {2'b00, to[32*k +: 32]} - 34'd1;
      e[k] = (t < last) ? (!x[33] || x[32]) : !x[33];
    end
    way_expired = e[sel];
  endfunction

  // The Toeplitz input of a conntrack key (CtKey::flow_hash): IPv4
  // addresses as their 4 bytes, ports in network byte order.
  function automatic logic [8*36-1:0] key_tz(input logic [127:0] src, input logic [127:0] dst,
                                            input logic [15:0] sp, input logic [15:0] dp,
                                            input logic v6);
    logic [31:0] ports;
    ports = {dp[7:0], dp[15:8], sp[7:0], sp[15:8]};
    if (v6) key_tz = {ports, dst, src};
    else key_tz = {192'h0, ports, dst[127:96], src[127:96]};
  endfunction

  // A bucket with way w replaced by x.
  function automatic logic [BBITS-1:0] put_way(input logic [BBITS-1:0] d, input logic [WB-1:0] w,
                                              input logic [WBITS-1:0] x);
    // constant slices: a variable-offset write is a shifter in Yosys
    for (int unsigned i = 0; i < WAYS; i++)
      put_way[WBITS*i +: WBITS] = (32'(w) == i) ? x : d[WBITS*i +: WBITS];
  endfunction

  // ------------------------------------------------------------ state
  typedef enum logic [5:0] {
    S_IDLE, S_DISP, S_RD_A, S_RD_B, S_RD_W, S_M_GO, S_M_W, S_LOOKED, S_US_W, S_US_DONE,
    S_POSTLOOK, S_SCHED, S_HASHIDX, S_MOD, S_LUT_GO, S_LUT_W, S_BE_GO, S_BE_W, S_POSTSCHED,
    S_PUT, S_RH, S_RH_W, S_RPOST, S_FALLBACK, S_WR, S_AFTER_PUT, S_NAT_HASH,
    S_NAT_W, S_OUT, S_SC_RD, S_SC_W, S_SC_CNT, S_FLUSH, S_HR_RD, S_HR_W, S_HCLR,
    // (after the others: lbnic_ct_engine_tb names states by number)
    S_NAT_HA, S_NAT_HB, S_NAT_HC
  } state_e;
  state_e st, wr_ret;

  localparam logic [1:0] MS_1 = 2'd0, MS_2 = 2'd1;

  lbnic_pipe_pkg::meta_t     m;
  lbnic_pipe_pkg::parsed_t   p;
  lbnic_pipe_pkg::decision_t dec;
  lbnic_pkg::vip_t           v;        // VIP of the decision / of scheduling
  lbnic_pkg::backend_t       be;
  logic                      phase_nat;
  logic [15:0]               s_slot, s_local;
  lbnic_pipe_pkg::ct_key_t   mkey;
  logic                      mrev;
  logic [7:0]                mflags;
  // The lookup's match starts in S_DISP, from the head's data as the
  // queue RAM gives it (no scrubber zeroes to apply), not two clocks later
  // from da/db: d_go the clock after such a pop. The match's inputs for
  // the head (g_*) are taken as the queue RAM is read at hd: at pop, or for
  // the head's pre-match (pm_rd, below).
  logic                      d_go, g_rev;
  logic [7:0]                g_flags;
  lbnic_pipe_pkg::ct_key_t   g_key;
  logic [15:0]               g_slot, g_len;
  logic [15:0]               hd_sl;  // the head's slot, kept as hd moves (u_rrh, ph_*)
  logic [31:0]               g_now, g_a, g_b;
  // The head's pre-match (issue 13): while the packet in CT_EXEC is busy
  // elsewhere, the head's lookup runs in u_match as soon as its buckets
  // are current (hd_ok), from the same queue RAM data its pop would read,
  // so that as it enters CT_EXEC its result is in (pm_*) or on its way.
  // pm: PM_FLY (its data read, pm_rd, and issued the next clock, pm_iss,
  // with its tag pm_id), PM_HAVE (its result in pm_*); back to PM_OFF
  // where the head stops being ready. pm_e: its early hit is in pme_*.
  // The packet that took it: pk_have (the result in pm_*), pk_tag (still
  // in u_match, under that tag; pk_fly). The tags 1..3 go round, so the
  // next head's pre-match goes out while the packet's, or a dropped one's,
  // is still in u_match (pm_fl: the tags in flight; one is not reused
  // until its result is out).
  localparam logic [1:0] PM_OFF = 2'd0, PM_FLY = 2'd2, PM_HAVE = 2'd3;
  logic [1:0]                pm, pm_id, pm_nid, pk_tag;
  logic [3:1]                pm_fl;
  logic                      pm_rd, pm_iss, pm_e, pm_keep, pm_use, pm_drop, pm_end;
  logic                      pk_have, pk_fly, pk_sel;
  logic                      pm_hit, pm_hit_b, pm_ins_b, pm_aged;
  logic [WB-1:0]             pm_hit_way, pm_ins_way;
  logic [15:0]               pm_hit_vip, pm_hit_be;
  logic                      pm_hit_own;
  // pm_hit_be is below vip_slot's count: the match's hit_in as it comes,
  // compared again in S_DISP (a result kept from before the pop was
  // compared with the packet before's count)
  logic                      pm_hit_in;
  lbnic_pkg::ct_way_t        pm_touched, pm_new;
  logic [1:0]                pm_kind;
  logic                      pme_hit;
  logic [15:0]               pme_vip, pme_be;
  // The next head's pre-match (pm2, issue 13): the entry behind the head
  // (hd + 1, pm2_e) is matched as soon as it is ready, so that a packet
  // popped right behind a three-clock one has its lookup in (the match
  // takes 6 clocks; one head's pre-match alone left such a packet 3
  // clocks in S_M_W). Its data is read from the queue RAM as the head's
  // is, its key and the rest from its meta (g2_*), and its result kept by
  // tag (pr*, pe*). When the entry becomes the head its pm_rd takes it
  // over (pm2_adopt: pm gets its tag, no match issued) unless the queue
  // RAM wrote the entry since the read or the scrubber zeroed a way of it
  // (pm2_dirty): then the head's pre-match runs as before.
  localparam int unsigned PQB = (DEPTH > 1) ? $clog2(DEPTH) : 1;
  logic [1:0]                pm2, pm2_id, pm2_nid;
  logic                      pm2_rd, pm2_iss, pm2_dirty, pm2_wr, pm2_adopt, pm_go, pm_ad;
  logic                      pm_nok, pm2_nok, h1_ok, pr_hd_hit;
  logic [PQB-1:0]            pm2_e;
  logic                      g2_rev;
  logic [7:0]                g2_flags;
  lbnic_pipe_pkg::ct_key_t   g2_key;
  logic [15:0]               g2_slot, g2_len;
  logic [31:0]               g2_now, g2_a, g2_b;
  logic [BBITS-1:0]          hd_da, hd_db;  // the head's buckets (queue RAM, read at pop)
  // A Maglev VIP's LUT entry, read while that match runs, so that a miss
  // has it in S_SCHED (sp: SP_IDX waits for the index, SP_LUT for the
  // entry, SP_DONE holds it in sp_local); a hit cancels it. sp_out counts
  // those reads not yet answered (a cancelled one's answer is dropped),
  // and the FSM's own LUT reads wait for none.
  localparam logic [1:0] SP_OFF = 2'd0, SP_IDX = 2'd1, SP_LUT = 2'd2, SP_DONE = 2'd3;
  logic [1:0]                sp, sp_out;
  // An RR / WRR VIP's LUT entry is read during the match the same way
  // (sp_rr): its index is the slot's pointer, which only this packet
  // moves, known the clock after S_DISP (rr_p) and compared with the
  // table's size a clock later (rr_ra counts them down: rr_ilt, and the
  // LUT index rr_ii, added then: the add behind the choice of index was
  // 8 LUT levels from S_SCHED's state into lut_i, issue 13);
  // a pointer kept from a larger table is not read ahead (S_MOD wraps it).
  // S_SCHED then reads the backend at once and writes the pointer a clock
  // later (rr_wb), where S_LUT_GO did.
  logic                      sp_rr, rr_ilt, rr_wb;
  logic [1:0]                rr_ra;
  logic [LIW-1:0]            rr_ii;
  logic [15:0]               sp_local;
  // The lookup's hit as u_match has it NQ + 1 clocks before its result:
  // a hit on the packet's own slot starts the usable check's read then
  // (eb_iss; eb_got: its answer came before the result).
  logic                      me_valid, me_hit, eb_iss, eb_got;
  logic [1:0]                me_tag;
  logic [15:0]               me_vip, me_be;
  // the early hit is on the packet's slot (its VIP the new_vip the match
  // was given, as hit_own) and its backend below vip_slot's count: the
  // match's registers (a check below)
  logic                      me_own, me_in;
  logic [31:0]               ma, mb;
  logic [BBITS-1:0]          da, db;
  logic                      got_a, got_b;
  logic [1:0]                mstep;
  // ct_match outputs
  logic                      mo_valid, mo_hit, mo_hit_b, mo_ins_b, mo_aged;
  logic [1:0]                mo_tag;
  logic [WB-1:0]             mo_hit_way, mo_ins_way;
  logic [15:0]               mo_hit_vip, mo_hit_be;
  lbnic_pkg::ct_way_t        mo_touched, mo_new;
  logic [1:0]                mo_kind;
  // the packet's own lookup result (x_*: the pre-match's where it took
  // one, else u_match's untagged), and its early hit (xe_*)
  logic                      x_valid, x_hit, x_hit_b, x_ins_b, x_aged, xe_valid;
  logic [WB-1:0]             x_hit_way, x_ins_way;
  logic [15:0]               x_hit_vip, x_hit_be;
  // the hit's VIP is the packet's slot (the match's register: the match
  // is given the packet's slot as new_vip, d_go's and the pre-match's
  // g_slot, S_M_GO's s_slot; a check below)
  logic                      mo_own, x_hit_own;
  // the hit's backend is below vip_slot's count (the match's register for
  // a result that comes now, pm_hit_in for one kept; a check below)
  logic                      mo_hin, x_hit_in;
  lbnic_pkg::ct_way_t        x_touched, x_new;
  logic [1:0]                x_kind;
  /* verilator lint_off UNUSEDSIGNAL */  // (a bucket number: BW bits)
  logic [31:0]               mo_reloc;
  /* verilator lint_on UNUSEDSIGNAL */
  // captured results
  logic                      r_hit, r_hit_b;
  logic [WB-1:0]             r_hit_way;
  logic [15:0]               r_hit_vip, r_hit_be;
  lbnic_pkg::ct_way_t        r_touched, r_new;
  // S_POSTSCHED's new entry: r_new with its VIP and backend (a struct of
  // the module's, set here: a struct local to a block has fields Yosys
  // 0.23 takes for new wires, so they were never set in its netlist)
  lbnic_pkg::ct_way_t        nw;
  always_comb begin
    nw = r_new;
    nw.vip = s_slot;
    nw.backend = s_local;
  end
  logic [1:0]                r_kind;
  logic                      r_ins_b, r_aged;
  logic [WB-1:0]             r_ins_way;
  logic                      r2_ins_b;
  logic [WB-1:0]             r2_ins_way;
  logic                      stale, stale_b;
  logic [WB-1:0]             stale_way;
  logic                      ins_ok, rr_upd;
  // the write in progress
  logic [BW-1:0]             w_bucket;
  logic [WAYS-1:0]           w_mask;
  logic [BBITS-1:0]          w_data;
  logic                      w_hint;
  // residents' other buckets
  logic [32*N-1:0]           res_other;
  logic [N-1:0]              res_placed, res_full;  // res_full: from the hint RAM
  logic [NW-1:0]             rh_in, rh_out;
  // A relocation reads the residents' other buckets' hints while the
  // posted units work: a hint of a bucket a unit holds may be stale (its
  // write comes later), so such a read (rh_conf) sends the relocation
  // back to wait for every unit (rh_wait) and hash again. Waiting for
  // every unit first, as before, cost the 64 B line-rate trace a third of
  // its relocations' clocks once the units were four.
  logic                      rh_conf, rh_wait;
  // scheduling
  logic [MAX_VIPS-1:0]       rr_ok;  // the slot's RR pointer is in u_rr (else 0)
  logic [1:0]                swap_q;
  logic [31:0]               idx, md_rem, md_p;
  logic [4:0]                md_i;
  // scrubber, flush
  logic [BW-1:0]             sc_ptr, fl_ptr;
  logic [BUCKET_BITS:0]      since;
  logic [31:0]               horizon;
  logic [WAYS-1:0]           sc_left;  // reclaimed ways not yet counted
  logic                      flush_pend;
  // CT_HOST: the host may have written the table; when it hands it back,
  // one pass sets every bucket's hint to "all ways valid"
  // (CtTable::refresh_hints, Device::poll)
  logic                      host_q, href_pend;
  logic [BW-1:0]             hr_ptr;
  logic                      all_valid;
  logic [NC-1:0]             cnt;
  logic                      be_v, lut_v;
  // the packet in CT_EXEC: its data came from CT_REQ's queue (pre), its
  // candidate buckets for the hazard table until their writes are taken
  // (ex_busy)
  logic                      pre, ex_busy;
  // The decision's way out (spec §12.3 decision 2): CT_EXEC hands a final
  // decision to this register and goes on with the packet's writes (its
  // bucket, a relocation, a NAT return entry); the register lets it go
  // exactly X_LAT clocks after the cycle model's CT_EXEC executes the
  // packet, as a pipelined CT_EXEC of that many stages would, or when it is
  // handed over if that is later (a path longer than X_LAT).
  logic                      x_dir;    // the packet's decision needs no conntrack (x_ddec)
  logic [WAYS-1:0]           x_za, x_zb;  // ways the scrubber zeroed in its buckets' data
  lbnic_pipe_pkg::decision_t x_ddec;
  logic                      dfin;     // the decision is final (the packet's writes follow)
  logic                      handed;   // the packet's decision went to the register
  logic [7:0]                x_age;    // clocks since it executed (saturating)
  logic                      x_one;    // the model executes it in one clock (no NAT check)
  // OQ entries (0 the head; full ones from 0 up), so decisions waiting for
  // their clock do not hold up the next packets': {decision, meta, parsed,
  // VIP, backend}, and the clocks each still waits.
  localparam int unsigned OB = $bits(dec) + $bits(m) + $bits(p) + $bits(v) + $bits(be);
  logic [OQ-1:0]             o_full;
  logic [8*OQ-1:0]           o_wait;
  logic [OB*OQ-1:0]          o_d;
  logic [BW-1:0]             ex_a, ex_b;
  // BACKEND's index as base and offset, added behind their registers: the
  // five sums chosen in front of one register were one adder behind the
  // FSM's choice (Yosys shares it), 8 LUT levels from st (issue 13)
  logic [BIW-1:0]            be_b, be_o;
  logic [LIW-1:0]            lut_i;

  logic [127:0] to;
  assign to = {global_cfg.timeout_udp, global_cfg.timeout_tcp_fin, global_cfg.timeout_tcp_est,
               global_cfg.timeout_tcp_syn};

  // The posted NAT return entries (spec §12.2 phase 4): posted from
  // S_NAT_HC when one of the return key's candidates has a clear full hint
  // (a free way is certain), so CT_EXEC goes on with the next packet while
  // a unit reads, decides and writes. NR units, so that new NAT flows close
  // together do not wait for each other's memory latency. Until a unit's
  // write is taken its two buckets are locked (no read of them issued, no
  // packet with them taken into CT_EXEC, no hint of them used: a
  // relocation that read one waits for every unit, rh_conf), and CT_EXEC
  // waits for every unit before a sweep or the scrubber.
  localparam int unsigned NR = lbnic_pkg::CT_RMW_UNITS;
  localparam int unsigned NRB = (NR > 1) ? $clog2(NR) : 1;
  logic [NR-1:0] r_cmd, r_cmd_ready, r_rd_valid, r_rd_ready, r_rd_side, r_rsp;
  logic [NR-1:0] r_wr_valid, r_wr_ready, r_ins, r_age, r_busy, r_soon;
  logic [NR-1:0] r_soon_b, r_wr_b;
  logic [NR*32-1:0] r_wr_now;
  logic [NR-1:0] r_wr_full;
  logic [NR*BW-1:0] r_rd_bucket, r_wr_bucket, r_la, r_lb;
  logic [NR*WAYS-1:0] r_wr_mask;
  logic [NR*BBITS-1:0] r_wr_data;
  logic rm_cmd_valid, rm_rd_valid, rm_rd_ready, rm_rd_side, rm_wr_valid, rm_wr_ready, rm_wr_fire;
  logic rm_cnt_ins, rm_cnt_age, rm_busy, rm_free;
  logic rm_wr_full;
  logic [NRB-1:0] rm_post_u;
  logic [BW-1:0] rm_rd_bucket, rm_wr_bucket;
  logic [WAYS-1:0] rm_wr_mask;
  logic [BBITS-1:0] rm_wr_data;
  logic nh_a;  // the first candidate's hint (S_NAT_HB)
  // S_NAT_HC and S_RPOST in registers of their own (in_hc, rpost): their
  // decodes of st were the first level of 8 into each unit's FSM, issue 13
  logic in_hc, rpost;
  // A NAT command's hold (lbnic_ct_rmw's cmd_hold): its unit reads
  // CT_POSTED_ISSUE + 1 clocks after the packet executed (x_age counts
  // them), the cycle model's request and a clock, however soon CT_EXEC
  // got here (an RR / WRR miss whose LUT entry was read during the match
  // posts sooner than the path the constant was measured on)
  // A packet whose own insert found no free way (x_srch: it searched for a
  // relocation, S_RH) gets there later on every path, so its reads wait
  // for a later fixed age, CT_POSTED_ISSUE_SEARCH's (spec §12.3 decision
  // 12: the cycle is the packet's execution's, whatever its scheduling
  // took).
  localparam int unsigned NAT_RD_AGE = lbnic_pkg::CT_POSTED_ISSUE + 1;
  localparam int unsigned NAT_RD_AGE_S = lbnic_pkg::CT_POSTED_ISSUE_SEARCH + 1;
  logic x_srch;
  logic [7:0] nat_hold, nat_age;
  assign nat_age = x_srch ? 8'(NAT_RD_AGE_S) : 8'(NAT_RD_AGE);
  assign nat_hold = (x_age < nat_age) ? nat_age - x_age : 8'd0;
  // (and a return entry done in line reads then too: x_due is x_age >=
  // nat_age, in a register)
  logic x_due, rd_go;
  assign rd_go = !phase_nat || x_due;
  assign rm_cmd_valid = (in_hc && (!nh_a || !h_rdata)) || rpost;
`ifndef SYNTHESIS
  always_ff @(posedge clk)
    if (!rst && (in_hc != (st == S_NAT_HC) || rpost != (st == S_RPOST)))
      $error("lbnic_ct_engine: in_hc or rpost apart from st");
`endif
  // the command's buckets: a NAT return key's candidates (ma, mb as
  // well), or a relocation's target (as both)
  logic [BW-1:0] ca, cb;
  // a bucket a unit holds
  function automatic logic locked(input logic [BW-1:0] x, input logic [NR-1:0] bz,
                                  input logic [NR*BW-1:0] la, input logic [NR*BW-1:0] lb);
    locked = 1'b0;
    for (int unsigned u = 0; u < NR; u++)
      if (bz[u] && (la[BW*u +: BW] == x || lb[BW*u +: BW] == x)) locked = 1'b1;
  endfunction
  // which unit holds x (at most one: a unit is posted only with neither of
  // its buckets held)
  function automatic logic [NRB-1:0] locker(input logic [BW-1:0] x, input logic [NR-1:0] bz,
                                           input logic [NR*BW-1:0] la, input logic [NR*BW-1:0] lb);
    locker = '0;
    for (int unsigned u = 0; u < NR; u++)
      if (bz[u] && (la[BW*u +: BW] == x || lb[BW*u +: BW] == x)) locker = NRB'(u);
  endfunction
  // the units in a fixed order: the first that reads, writes, takes a
  // command, as one-hot grants (a LUT level each from the units' requests;
  // the number of the unit a command goes to, rm_post_u, for the locks)
  function automatic logic [NR-1:0] first_unit(input logic [NR-1:0] req);
    logic lower;
    lower = 1'b0;
    for (int u = 0; u < NR; u++) begin
      first_unit[u] = req[u] && !lower;
      lower = lower || req[u];
    end
  endfunction
  logic [NR-1:0] r_rd_gnt, r_wr_gnt, r_post_gnt;
  assign r_rd_gnt = first_unit(r_rd_valid);
  assign r_wr_gnt = first_unit(r_wr_valid);
  assign r_post_gnt = first_unit(r_cmd_ready);
  always_comb begin
    rm_post_u = '0;
    for (int u = 0; u < NR; u++)
      if (r_post_gnt[u]) rm_post_u = NRB'(u);
  end
  assign rm_busy = |r_busy;
  assign rm_free = |r_cmd_ready;
  assign rm_rd_valid = |r_rd_valid;
  assign rm_wr_valid = |r_wr_valid;
  // the port's choice of unit, an AND-OR over the one-hot grants (a part
  // select at a unit's number times the width became a shifter behind a
  // multiply, 10 LUT levels from a unit's state to the port with four
  // units); the read's tag with it (TAG_R + 2u + side)
  logic [TAG_BITS-1:0] rm_rd_tag;
  always_comb begin
    rm_rd_side = 1'b0;
    rm_rd_bucket = '0;
    rm_rd_tag = '0;
    rm_wr_bucket = '0;
    rm_wr_mask = '0;
    rm_wr_data = '0;
    for (int u = 0; u < NR; u++) begin
      if (r_rd_gnt[u]) begin
        rm_rd_side = rm_rd_side | r_rd_side[u];
        rm_rd_bucket = rm_rd_bucket | r_rd_bucket[BW*u +: BW];
        rm_rd_tag = rm_rd_tag | (r_rd_side[u] ? TAG_BITS'(TAG_R + 2 * u + 1) : TAG_BITS'(TAG_R + 2 * u));
      end
      if (r_wr_gnt[u]) begin
        rm_wr_bucket = rm_wr_bucket | r_wr_bucket[BW*u +: BW];
        rm_wr_mask = rm_wr_mask | r_wr_mask[WAYS*u +: WAYS];
        rm_wr_data = rm_wr_data | r_wr_data[BBITS*u +: BBITS];
      end
    end
  end
  assign rm_cnt_ins = |r_ins;
  assign rm_cnt_age = |r_age;
  for (genvar u = 0; u < NR; u++) begin : g_rmw
      assign r_rsp[u] = ct_rsp_valid && (ct_rsp_tag == TAG_BITS'(TAG_R + 2 * u)
                                       || ct_rsp_tag == TAG_BITS'(TAG_R + 2 * u + 1));
    assign r_cmd[u] = rm_cmd_valid && r_post_gnt[u];
    assign r_rd_ready[u] = rm_rd_ready && r_rd_gnt[u];
    assign r_wr_ready[u] = rm_wr_ready && r_wr_gnt[u];
    lbnic_ct_rmw #(.WAYS(WAYS), .BUCKET_BITS(BUCKET_BITS)) u_rmw (
        .clk, .rst,
        .cmd_valid(r_cmd[u]), .cmd_ready(r_cmd_ready[u]), .cmd_key(mkey), .cmd_flags(mflags),
        .cmd_now(m.now), .cmd_len(m.len), .cmd_vip(s_slot), .cmd_backend(s_local),
        .cmd_a(ca), .cmd_b(cb), .cmd_reloc(rpost), .cmd_hold(rpost ? 8'd0 : nat_hold), .cmd_way(mv_way), .timeouts(to),
        .rd_valid(r_rd_valid[u]), .rd_ready(r_rd_ready[u]), .rd_bucket(r_rd_bucket[BW*u +: BW]),
        .rd_side(r_rd_side[u]), .rsp_valid(r_rsp[u]),
        .rsp_side(ct_rsp_tag == TAG_BITS'(TAG_R + 2 * u + 1)), .rsp_data(ct_rsp_data),
        .wr_valid(r_wr_valid[u]), .wr_ready(r_wr_ready[u]), .wr_bucket(r_wr_bucket[BW*u +: BW]),
        .wr_mask(r_wr_mask[WAYS*u +: WAYS]), .wr_data(r_wr_data[BBITS*u +: BBITS]),
        .wr_full(r_wr_full[u]), .wr_now(r_wr_now[32*u +: 32]), .cnt_insert(r_ins[u]), .cnt_ageout(r_age[u]),
        .busy(r_busy[u]), .lock_a(r_la[BW*u +: BW]), .lock_b(r_lb[BW*u +: BW]),
        .soon(r_soon[u]), .soon_b(r_soon_b[u]), .wr_b(r_wr_b[u])
    );
  end
  logic is_icmp;
  assign is_icmp = p.icmp_error_valid;
  lbnic_pipe_pkg::class_e cls;
  assign cls = m.class_kind;

  // VIP entries: the packet's slot, a hit's slot (registered: see u_vip)
  lbnic_pkg::vip_t vip_slot, vip_hit;
  logic slot_ok, hit_ok;
  assign slot_ok = (vip_slot.flags & VF_VALID) != 0;
  assign hit_ok = (vip_hit.flags & VF_VALID) != 0 && r_hit_be < vip_hit.backend_count;
  // hit_ok in a register for S_US_DONE (its compare was in front of the
  // hit's outcome there, 8 LUT levels): set as the hit's entry is known
  logic hit_okq;
`ifndef SYNTHESIS
  // (S_MOD: md_p shifted md_i - 31 times, against the pointer as taken)
  logic [31:0] md_p0;
  always_ff @(posedge clk) begin
    if (st == S_MOD && md_i == 5'd31) md_p0 <= md_p;
    if (!rst && st == S_MOD && md_i != 5'd31 && md_p[31] != md_p0[md_i])
      $error("lbnic_ct_engine: md_p's top bit apart from the pointer's bit md_i");
  end
  always_ff @(posedge clk)
    if (!rst && rr_we && x_rrf)
      $error("lbnic_ct_engine: an RR / WRR pointer written after x_rrf said none would be");
  always_ff @(posedge clk)
    if (!rst && (st == S_US_DONE || (st == S_US_W && be_mine)) && hit_okq != hit_ok)
      $error("lbnic_ct_engine: hit_okq apart from hit_ok");
  // (S_US_W decides from the bank's answer: bx_up is be_rdata's there)
  always_ff @(posedge clk)
    if (!rst && st == S_US_W && eb_got) $error("lbnic_ct_engine: an early answer kept in S_US_W");
  // a hit on the packet's slot whose backend read went out early (eb_iss)
  // is decided in S_M_W as usable as far as its VIP entry goes: its
  // backend is the early hit's, in range (CT_EXEC's read's index, be_b + be_o,
  // or that of the one read ahead with the pre-match, pk_bi, where the
  // packet took it: eb_ad)
  // (CT_EXEC's read's index kept as it goes out: the head's read ahead,
  // tagged, may use the port's registers before the hit is decided)
  logic [BIW-1:0] eb_x, pk_bi, eb_i;
  logic eb_ad;
  assign eb_x = eb_ad ? pk_bi : (be_v && !be_pv) ? BIW'(be_b + be_o) : eb_i;
  always_ff @(posedge clk) begin
    if (be_v && !be_pv) eb_i <= BIW'(be_b + be_o);
    if (pop_x) begin
      pk_bi <= be_pi;
      eb_ad <= 1'b0;
    end
    if (st == S_DISP && pk_ebw && slot_ok && pk_beh && (pk_beg || pk_bef)) eb_ad <= 1'b1;
  end
  always_ff @(posedge clk)
    if (!rst && st == S_M_W && mstep == MS_1 && !phase_nat && x_valid && x_hit
        && x_hit_vip == m.slot && eb_iss
        && !(slot_ok && x_hit_be < vip_slot.backend_count
             && eb_x == BIW'(vip_slot.backend_base + 32'(x_hit_be))))
      $error("lbnic_ct_engine: a hit decided in S_M_W apart from its early backend read");
`endif
  logic hashed;
  // (S_DISP's: the packet schedules by Maglev, its table not empty)
  logic fm_v;
  // The check for a unit (S_NAT_HA) comes CT_UNIT_CHECK clocks after the
  // packet executed, or CT_UNIT_CHECK_SEARCH after a search, however soon
  // its path got there (a lookup run ahead):
  // CT_EXEC takes the next packet only past the hints it reads there (a
  // return entry in line comes first), at the cycle model's cycle (spec
  // §12.3 decision 14). x_chk is x_age >= that, in a register.
  // (CT_UNIT_CHECK_HASHED on a Maglev VIP, fm_v: CT_REQ's pre-schedule
  // gave the backend at the pop, and the key was hashed during the match,
  // decision 16)
  localparam int unsigned NAT_CHK_AGE = lbnic_pkg::CT_UNIT_CHECK;
  localparam int unsigned NAT_CHK_AGE_H = lbnic_pkg::CT_UNIT_CHECK_HASHED;
  localparam int unsigned NAT_CHK_AGE_S = lbnic_pkg::CT_UNIT_CHECK_SEARCH;
  logic x_chk;
  logic [7:0] chk_age;
  assign chk_age = x_srch ? 8'(NAT_CHK_AGE_S) : fm_v ? 8'(NAT_CHK_AGE_H) : 8'(NAT_CHK_AGE);
  assign hashed = maglev(v.sched);
`ifndef SYNTHESIS
  // a Maglev miss's backend entry read ahead is the one S_SCHED would read
  always_ff @(posedge clk)
    if (!rst && st == S_SCHED && v.lut_size != 0 && hashed && sp == SP_DONE && !pk_beh
        && (pk_beg || pk_bef) && pk_bi != BIW'(v.backend_base + 32'(sp_local)))
      $error("lbnic_ct_engine: a backend entry read ahead apart from the miss's");
  // (and an RR / WRR miss's, read ahead with its LUT entry: only where
  // the head's pointer was, pk_rr)
  always_ff @(posedge clk)
    if (!rst && st == S_SCHED && v.lut_size != 0 && !hashed && sp == SP_DONE && !rr_stale
        && !pk_beh && (pk_beg || pk_bef)
        && (!pk_rr || pk_bi != BIW'(v.backend_base + 32'(sp_local))))
      $error("lbnic_ct_engine: an RR / WRR miss's backend entry read ahead apart from its own");
  // (and as the miss is scheduled, S_SCHED taken or not)
  always_ff @(posedge clk)
    if (!rst && st == S_POSTSCHED && !pk_beh && pk_beg
        && pk_bi != BIW'(v.backend_base + 32'(s_local)))
      $error("lbnic_ct_engine: a miss scheduled on a backend entry read ahead for another");
`endif
  logic [31:0] rr_p;
  // RR / WRR pointers: a RAM of one word per VIP slot (8192 bits of
  // flip-flops written at a variable slot were what Yosys' `proc` could not
  // finish at the default target's 256 VIPs) and a bit per slot that says
  // the word is current: RESET and the swap's restart clear bits, not words.
  // Port B reads the packet's slot every clock; S_SCHED, two clocks or more
  // after the packet came in, uses it.
  localparam int unsigned SB = (MAX_VIPS > 1) ? $clog2(MAX_VIPS) : 1;
  logic          rr_we;
  logic [31:0]   rr_wdata, rr_rdata;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [31:0]   rr_a_rdata;  // port A only writes
  /* verilator lint_on UNUSEDSIGNAL */
  assign rr_we = ((st == S_LUT_GO && sp_out == '0) || rr_wb) && rr_upd && 32'(s_slot) < MAX_VIPS;
  assign rr_wdata = (idx + 1 == v.lut_size) ? 32'h0 : idx + 1;
  lbnic_ram #(.WIDTH(32), .DEPTH(MAX_VIPS), .AW(SB), .A_READ(1'b0)) u_rr (
      .clk,
      .a_en(rr_we), .a_we(1'b1), .a_addr(SB'(s_slot)), .a_wdata(rr_wdata), .a_rdata(rr_a_rdata),
      .b_en(1'b1), .b_addr(SB'(m.slot)), .b_rdata(rr_rdata)
  );
  // (the head's slot's: its copy, written alike; ph_*)
  /* verilator lint_off UNUSEDSIGNAL */
  logic [31:0]   rrh_a_rdata;  // port A only writes
  /* verilator lint_on UNUSEDSIGNAL */
  lbnic_ram #(.WIDTH(32), .DEPTH(MAX_VIPS), .AW(SB), .A_READ(1'b0)) u_rrh (
      .clk,
      .a_en(rr_we), .a_we(1'b1), .a_addr(SB'(s_slot)), .a_wdata(rr_wdata), .a_rdata(rrh_a_rdata),
      .b_en(1'b1), .b_addr(SB'(hd_sl)), .b_rdata(rrh_rdata)
  );
  // (a pre-read entry not yet checked, or found stale and not yet read
  // again: S_SCHED does not take it)
  assign rr_stale = pk_rr && (rr_ra == 2'd2 || (rr_ra == 2'd1 && rr_bad));
  // (the pointer read ahead is not the packet's own, at rr_ra 2: rr_bad,
  // and its backend entry dropped)
  logic rr_moved;
  assign rr_moved = pk_rr && rr_p != pk_rrp;
  // the slot's bit is read in S_POSTLOOK as s_slot is taken (rr_okq): a
  // 256:1 read in front of S_SCHED's compare was 13 LUT levels. Nothing
  // changes it in between: the pointer is written in S_LUT_GO, the swap
  // comes with the engine drained, and a RESET's clear is taken into it.
  logic rr_okq;
  assign rr_p = rr_okq ? rr_rdata : 32'h0;

  // S_POSTLOOK's checks of a miss before scheduling (all from the packet
  // and its slot's VIP entry, known from S_DISP on): go on to S_SCHED, or
  // leave with pl_dec. A miss found by the match goes to S_SCHED at once
  // when it may (v, s_slot and rr_okq are set from S_DISP on).
  logic pl_sched;
  lbnic_pipe_pkg::decision_t pl_dec;
  // (S_DISP's: a miss of the packet would take the RR / WRR pointer)
  logic rr_ahead;
  assign rr_ahead = pl_sched && vip_slot.lut_size != 0 && !maglev(vip_slot.sched)
                    && cls != lbnic_pipe_pkg::CLASS_REVERSE
                    && !(cls == lbnic_pipe_pkg::CLASS_VIP && m.stateless);
  always_comb begin
    pl_sched = 1'b0;
    pl_dec = '0;
    pl_dec.kind = lbnic_pipe_pkg::DECISION_DROP;
    if (cls == lbnic_pipe_pkg::CLASS_VIP) begin
      if (is_icmp && vip_slot.mode == MODE_NAT) pl_dec.drop_counter = DC_UNROUTABLE;
      else pl_sched = 1'b1;
    end else if (!m.slot_valid) begin
      pl_dec.drop_counter = DC_FRAG_AMBIGUOUS;
    end else if (!slot_ok) begin
      pl_dec = d_novip;
    end else begin
      pl_sched = 1'b1;
    end
  end

  // After the packet's own entry is put: a new NAT flow's return entry
  // follows (when the put was not refused).
  logic nat_next;
  assign nat_next = !phase_nat && v.mode == MODE_NAT
                    && (cls == lbnic_pipe_pkg::CLASS_VIP
                        || (cls == lbnic_pipe_pkg::CLASS_FRAGMENT
                            && p.frag == lbnic_pipe_pkg::FRAG_FIRST));

  // Decisions without conntrack.
  lbnic_pipe_pkg::decision_t d_pass, d_novip, d_parse;
  always_comb begin
    d_pass = '0;
    d_pass.kind = lbnic_pipe_pkg::DECISION_PASS;
    d_novip = '0;
    d_novip.kind = NO_VIP_DROP ? lbnic_pipe_pkg::DECISION_DROP : lbnic_pipe_pkg::DECISION_PASS;
    d_novip.drop_counter = NO_VIP_DROP ? DC_NO_VIP : 8'h0;
    d_parse = '0;
    d_parse.kind = PARSE_DROP ? lbnic_pipe_pkg::DECISION_DROP : lbnic_pipe_pkg::DECISION_PASS;
    d_parse.drop_counter = PARSE_DROP ? DC_PARSE : 8'h0;
  end

  // The NAT return entry's key (pipeline::nat_return): backend address and
  // port (the flow's destination port when the backend has none) -> the
  // client, of the flow (a VIP packet's key, or a first fragment's own
  // 5-tuple).
  // nat_key_ps: the same with the backend of CT_REQ's pre-schedule (the
  // NAT return hash's, nt_key below). (Struct fields set in always_comb:
  // Yosys 0.23 takes a field of a function's struct result for a new wire.)
  lbnic_pipe_pkg::ct_key_t nat_key, nat_key_ps;
  always_comb begin
    logic [15:0] fdport;
    nat_key = '0;
    if (cls == lbnic_pipe_pkg::CLASS_FRAGMENT) begin
      nat_key.dst = p.src;
      nat_key.dport = p.sport;
      fdport = p.dport;
      nat_key.proto = p.proto;
    end else begin
      nat_key.dst = m.key.src;
      nat_key.dport = m.key.sport;
      fdport = m.key.dport;
      nat_key.proto = m.key.proto;
    end
    nat_key_ps = nat_key;
    nat_key.src = be.addr;
    nat_key.sport = (be.port != 0) ? be.port : fdport;
    nat_key.v6 = (be.flags & BF_V6) != 0;
    nat_key_ps.src = pk_psb.addr;
    nat_key_ps.sport = (pk_psb.port != 0) ? pk_psb.port : fdport;
    nat_key_ps.v6 = (pk_psb.flags & BF_V6) != 0;
  end

  // Whether a bucket keeps a free way at time t (its full hint is the
  // opposite): the one CT_EXEC writes, and a posted return entry's.
  function automatic logic bucket_free(input logic [BBITS-1:0] d, input logic [31:0] t,
                                       input logic [127:0] tos);
    bucket_free = 1'b0;
    for (int i = 0; i < WAYS; i++) begin
      if ((d[WBITS*i + 8*lbnic_pkg::CT_WAY_FLAGS_OFF +: 8] & F_VALID) == 0
          || way_expired(d[WBITS*i +: WBITS], t, tos))
        bucket_free = 1'b1;
    end
  endfunction
  logic w_free;
  assign w_free = bucket_free(w_data, m.now, to);
  // each unit's written bucket's full hint, a register of the unit (the
  // expiry compares of its write data, before the port's choice of unit,
  // were 8 LUT levels into the hints' write data, issue 13; after it, 9)
  assign rm_wr_full = |(r_wr_full & r_wr_gnt);
`ifndef SYNTHESIS
  // (the unit decides it from its match's free ways at its time, with
  // the timeouts of its match: the same as this rule on the data written)
  always_ff @(posedge clk)
    for (int u = 0; u < NR; u++)
      if (!rst && r_wr_valid[u]
          && r_wr_full[u] != !bucket_free(r_wr_data[BBITS*u +: BBITS], r_wr_now[32*u +: 32], to))
        $error("lbnic_ct_engine: unit %0d's full hint apart from its written bucket's", u);
`endif

  // The scrubber's reclaimable ways of the bucket read (tag A).
  logic [WAYS-1:0] sc_mask;
  always_comb begin
    for (int i = 0; i < WAYS; i++) begin
      sc_mask[i] = (da[WBITS*i + 8*lbnic_pkg::CT_WAY_FLAGS_OFF +: 8] & F_VALID) != 0
                   && way_expired(da[WBITS*i +: WBITS], horizon, to);
    end
  end

  always_comb begin
    all_valid = 1'b1;
    for (int i = 0; i < WAYS; i++)
      if ((da[WBITS*i + 8*lbnic_pkg::CT_WAY_FLAGS_OFF +: 8] & F_VALID) == 0) all_valid = 1'b0;
  end

  // ------------------------------------------------------------ ct_match
  /* verilator lint_off UNUSEDSIGNAL */
  logic            m_in_ready;  // always ready: out_ready is 1
  /* verilator lint_on UNUSEDSIGNAL */
  // the head's data goes in (d_go: it entered CT_EXEC; pm_iss: its
  // pre-match), or CT_EXEC's own (the relocation plans, the NAT return key)
  logic            g_go;
  assign g_go = d_go || pm_go;
  /* verilator lint_off UNUSEDSIGNAL */
  logic            mo_wb, mo_hfull, mo_ifull;  // (for the posted units)
  /* verilator lint_on UNUSEDSIGNAL */
  lbnic_ct_match #(.WAYS(WAYS), .TW(2)) u_match (
      .clk, .rst,
      .in_valid((st == S_M_GO && !pm_go && !pm2_iss) || (d_go && (g_rev || !ct_host)) || pm_go
                || pm2_iss),
      .in_ready(m_in_ready),
      .in_tag(pm2_iss ? pm2_id : pm_go ? pm_id : 2'd0),
      .key(pm2_iss ? g2_key : g_go ? g_key : mkey),
      .reverse(pm2_iss ? g2_rev : g_go ? g_rev : mrev),
      .now(pm2_iss ? g2_now : g_go ? g_now : m.now),
      .len(pm2_iss ? g2_len : g_go ? g_len : m.len),
      .tcp_flags(pm2_iss ? g2_flags : g_go ? g_flags : mflags),
      .new_vip(pm2_iss ? g2_slot : g_go ? g_slot : s_slot), .new_backend(s_local),
      .to_syn(to[31:0]), .to_est(to[63:32]), .to_fin(to[95:64]), .to_udp(to[127:96]),
      .bucket_a((g_go || pm2_iss) ? hd_da : da), .bucket_b((g_go || pm2_iss) ? hd_db : db),
      .a(pm2_iss ? g2_a : g_go ? g_a : ma), .b(pm2_iss ? g2_b : g_go ? g_b : mb),
      .res_other(res_other),
      .res_placed((mstep == MS_2 && !g_go && !pm2_iss) ? res_placed : '0),
      .res_full(res_full),
      .out_valid(mo_valid), .out_ready(1'b1), .out_tag(mo_tag),
      .hit(mo_hit), .hit_b(mo_hit_b), .hit_way(mo_hit_way), .hit_vip(mo_hit_vip),
      .hit_backend(mo_hit_be), .touched(mo_touched),
      .ins_kind(mo_kind), .ins_b(mo_ins_b), .ins_way(mo_ins_way), .ins_aged(mo_aged),
      .new_way(mo_new), .reloc_bucket(mo_reloc),
      .way_b(mo_wb), .hit_full(mo_hfull), .ins_full(mo_ifull), .hit_own(mo_own), .hit_in(mo_hin),
      .early_valid(me_valid), .early_tag(me_tag), .early_hit(me_hit), .early_vip(me_vip), .early_backend(me_be),
      .own_count(vip_slot.backend_count), .early_own(me_own), .early_in(me_in)
  );

  // ------------------------------------------------------------ key hashes
  // One Toeplitz unit and one lookup index unit, time-multiplexed: the
  // residents' other buckets (2 x WAYS keys, one per clock) and the NAT
  // return key's candidate buckets.
  logic [BBITS*2-1:0] dab;
  assign dab = {db, da};
  /* verilator lint_off UNUSEDSIGNAL */ // the key fields
  lbnic_pkg::ct_way_t rw;
  /* verilator lint_on UNUSEDSIGNAL */
  lbnic_word_sel #(.W(WBITS), .N(N), .IW(NW)) u_rw (.words(dab), .index(rh_in), .word(rw));
  // the way a relocation moves (the first plan's insert way), posted
  logic [WBITS-1:0] mv_way;
  logic [NW-1:0]    mv_i;
  assign mv_i = r2_ins_b ? NW'(WAYS + 32'(r2_ins_way)) : NW'(r2_ins_way);
  lbnic_word_sel #(.W(WBITS), .N(N), .IW(NW)) u_mv (.words(dab), .index(mv_i), .word(mv_way));
  logic            tz_valid, tz_ovalid;
  logic [8*36-1:0] tz_data;
  logic [5:0]      tz_len;
  logic [31:0]     tz_hash;
  always_comb begin
    logic v6;
    v6 = (rw.flags & F_V6) != 0;
    tz_data = key_tz(rw.src, rw.dst, rw.src_port, rw.dst_port, v6);
    tz_len = v6 ? 6'd36 : 6'd12;
  end
  assign tz_valid = st == S_RH;
  lbnic_toeplitz #(.IN_BYTES(36)) u_tz (
      .clk, .rst, .in_valid(tz_valid), .in_data(tz_data), .in_len(tz_len),
      .key(global_cfg.toeplitz_key), .out_valid(tz_ovalid), .out_hash(tz_hash)
  );
  logic          li_valid;
  logic [BW-1:0] li_a, li_b;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [31:0]   li_index;
  /* verilator lint_on UNUSEDSIGNAL */
  lbnic_lookup_index #(.CT_BUCKET_BITS(BUCKET_BITS), .CT_PAGE_BUCKETS(PAGE)) u_li (
      .clk, .rst, .in_valid(tz_ovalid), .in_hash(tz_hash), .in_m(32'h0),
      .out_valid(li_valid), .out_index(li_index), .out_ct_a(li_a), .out_ct_b(li_b)
  );
  // The NAT return key's candidates (spec §12.2 phase 4), hashed by a
  // pipeline of their own as the key takes its value (the backend is
  // chosen), not after the packet's writes: S_NAT_W waited about 7 clocks
  // of every new NAT flow for u_tz and u_li. The key's hash input and the
  // Toeplitz key are registered (nt_*) and hashed every clock; their
  // compare with the clock before's (nt_chg) only counts the clocks since
  // the last change (nt_age), so the candidates out of the pipeline's NTL
  // clocks (nr_a, nr_b, a clock later) are the key's (nr_have) when none
  // changed in that time. (A change entering the pipeline as its valid was
  // 9 LUT levels into the Toeplitz unit's input registers, stop 54.) The
  // backend hashed is CT_REQ's pre-schedule's from the pop to the match's
  // end (nt_pre, below), which a Maglev new flow takes, so its key is
  // hashed during the match; `be` after, where the key is used.
  localparam int unsigned NTL = 7;  // lbnic_toeplitz 3, lbnic_lookup_index 4
  logic [8*36-1:0] nt_d, nt_d2;
  logic            nt_v6, nt_v62, nt_new;
  logic [8*lbnic_pkg::TOEPLITZ_KEY_LEN-1:0] nt_k, nt_k2;
  logic            nt_chg, nr_have;
  logic [2:0]      nt_age;
  logic            nt_pre;
  /* verilator lint_off UNUSEDSIGNAL */ // (its protocol: not in the hash)
  lbnic_pipe_pkg::ct_key_t nt_key;
  /* verilator lint_on UNUSEDSIGNAL */
  logic [31:0]     nt_hash;
  logic [BW-1:0]   nr_a, nr_b, nr_oa, nr_ob;
  /* verilator lint_off UNUSEDSIGNAL */
  logic            nt_ovalid, nr_valid;
  logic [31:0]     nr_index;
  /* verilator lint_on UNUSEDSIGNAL */
  assign nt_chg = nt_new || nt_d != nt_d2 || nt_v6 != nt_v62 || nt_k != nt_k2;
  always_ff @(posedge clk) begin
    nt_d <= key_tz(nt_key.src, nt_key.dst, nt_key.sport, nt_key.dport, nt_key.v6);
    nt_v6 <= nt_key.v6;
    nt_k <= global_cfg.toeplitz_key;
    nt_d2 <= nt_d;
    nt_v62 <= nt_v6;
    nt_k2 <= nt_k;
    nt_new <= rst;
    nt_age <= nt_chg ? 3'd0 : (nt_age == 3'd7) ? nt_age : nt_age + 3'd1;
    nr_a <= nr_oa;
    nr_b <= nr_ob;
    nr_have <= !nt_chg && 32'(nt_age) >= NTL - 1;
    if (rst) begin
      nt_age <= '0;
      nr_have <= 1'b0;
    end
  end
  lbnic_toeplitz #(.IN_BYTES(36)) u_tzn (
      .clk, .rst, .in_valid(1'b1), .in_data(nt_d), .in_len(nt_v6 ? 6'd36 : 6'd12),
      .key(nt_k), .out_valid(nt_ovalid), .out_hash(nt_hash)
  );
  lbnic_lookup_index #(.CT_BUCKET_BITS(BUCKET_BITS), .CT_PAGE_BUCKETS(PAGE)) u_lin (
      .clk, .rst, .in_valid(1'b1), .in_hash(nt_hash), .in_m(32'h0),
      .out_valid(nr_valid), .out_index(nr_index), .out_ct_a(nr_oa), .out_ct_b(nr_ob)
  );
`ifndef SYNTHESIS
  // The key is the one hashed where S_NAT_HASH and S_NAT_W take it: the
  // packet's fields change at the pop, the backend in the scheduling
  // states and by a backend answer the packet waits for there (or one of
  // the same entry, read ahead by the pre-match), none of them in the two
  // clocks before S_NAT_HASH (in S_WR, S_AFTER_PUT) nor in S_NAT_W. And
  // nr_a / nr_b are that key's: its input carried beside the pipeline
  // (nt_sh, NTL clocks, then nr_key with nr_a) checks NTL.
  logic [8*36+1+8*lbnic_pkg::TOEPLITZ_KEY_LEN-1:0] nt_sh[NTL], nr_key;
  always_ff @(posedge clk) begin
    nt_sh[0] <= {nt_d, nt_v6, nt_k};
    for (int k = 1; k < NTL; k++) nt_sh[k] <= nt_sh[k-1];
    nr_key <= nt_sh[NTL-1];
    if (!rst && (st == S_NAT_HASH || st == S_NAT_W)
        && (nt_chg || nt_d != key_tz(nat_key.src, nat_key.dst, nat_key.sport, nat_key.dport, nat_key.v6)
            || nt_v6 != nat_key.v6 || nt_k != global_cfg.toeplitz_key))
      $error("lbnic_ct_engine: the NAT return key changed in the clocks before S_NAT_HASH");
    if (!rst && (st == S_NAT_HASH || st == S_NAT_W) && nr_have && nr_key != {nt_d, nt_v6, nt_k})
      $error("lbnic_ct_engine: the NAT return key's candidates are another key's");
  end
`endif
  // the Maglev entry: lookup_index(hash, lut_size), started as the packet
  // enters CT_EXEC (its hash and its VIP are known then), so a miss finds
  // it ready; lx_q keeps it until S_SCHED. A result is the packet's when it
  // is the last one outstanding (lx_out: issued, not out; one issue a packet)
  // and the packet issued one (lx_iss; a result during S_DISP is older)
  // (lx_out counts the untagged ones, below)
  logic          lx_valid, lx_got, lx_go, lx_mine, lx_iss;
  logic [31:0]   lx_index, lx_q;
  logic [2:0]    lx_out;
  // With the head's pre-match its Maglev index starts too (issue 13), from
  // its slot's entry as the pre-match reads the head (pv_*: where the VIP
  // read is the head's, !m_w), tagged (lx_tag: u_lx's latency in a shift
  // register beside it). Its result is kept for the head (pm_lxg, pm_lxq)
  // or is the packet's that took the pre-match (pk_lxf: still coming);
  // such a packet starts none in S_DISP (pk_lx).
  localparam int unsigned LXL = 4;  // lbnic_lookup_index's latency, 1 + MUL_STAGES
  logic [LXL-1:0] lxs_v, lxs_t;
  logic          lx_tag, lx_pm, pv_ok, pm_lxi, pm_lxg, pk_lx, pk_lxf;
  logic [31:0]   pv_m, pv_base, g_hash, pm_lxq;
  logic          pv_v;  // pv_* are the head's slot's (the VIP read was)
  logic [7:0]    pv_sched;
  // (from the registered fields: the compares behind the VIP read were 11
  // LUT levels)
  assign pv_ok = pv_v && pv_m != 0 && maglev(pv_sched);
  // An RR / WRR head's LUT entry is read ahead the same way (issue 13),
  // its index the slot's pointer (pm_rr: pm_lxq holds that, pm_lxg says it
  // is in). The pointer is read from a copy of u_rr (u_rrh, at the
  // head's slot hd_sl, a register kept as hd moves, so its data is in the
  // clock after pm_rd) once the packet in CT_EXEC can move that slot's
  // pointer no more (ph_fin: x_rrf, its pointer written or its scheduling
  // past, or another slot, or none there), so the head reads the pointer
  // its own S_SCHED will; ph_a: the reads are the head's, with their data
  // (from the clock after pm_rd); ph_done: read.
  // The packet that took it checks it as it reads its pointer (rr_bad:
  // RESET's clear between) and reads its entry again if it differs.
  logic          pv_rr, pm_rr, ph_a, ph_fin, ph_ok, ph_done, x_rrf;
  logic          pk_rr, rr_bad, rr_stale;
  logic [31:0]   rrh_rdata, ph_p, pk_rrp;
  assign pv_rr = pv_v && pv_m != 0 && !maglev(pv_sched);
  assign ph_p = ph_ok ? rrh_rdata : 32'h0;
  // Before that, the pointer the packet in CT_EXEC will leave where its
  // lookup says so (ph_kn): unmoved where it is a hit or its miss would
  // take no pointer, else its own pointer + 1 (ph_nx, ph_np: the one it
  // read ahead, checked, or S_SCHED's), as its S_SCHED writes it. So a
  // head behind a hit, or behind a miss on its own VIP, reads ahead while
  // that packet runs. A guess the packet does not bear out (a stale hit
  // rescheduling) is what the head's check at its pointer read (rr_bad)
  // is there for. (x_kn: the FSM took the packet's result, r_hit.)
  logic          ph_kn, ph_nx, x_kn;
  logic [31:0]   ph_np, ph_pp;
  assign ph_pp = (ph_fin || !ph_nx) ? ph_p : ph_np;
  // And its LUT entry, read as the index is in where the port is free
  // (pm_lui: issued, pm_lug: in, pm_luq), tagged (lut_pv beside lut_v,
  // lut_ptag at the answer: the bank's two clocks in lus); the packet that
  // took it finds its entry in (pk_lug: SP_DONE) or coming (pk_luf).
  logic [1:0]    lus, lvs;
  logic          lut_pv, lut_ptag, pm_lui, pm_lug, pk_lug, pk_luf;
  logic          lu_n;  // a tagged read in flight (one at most: its owner is known)
  logic [15:0]   pm_luq;
  assign lut_ptag = lus[1];
  // a tagged answer that is the head's (the packet's came first)
  logic lu_hd;
  assign lu_hd = lut_rv && lut_ptag && !pk_luf && pm_lui;
  // And its backend entry: a hit's on its own slot (the pre-match's early
  // hit, in range) or a Maglev miss's (its LUT entry read ahead). The
  // request (be_pq, be_pi: a register, the index's add in front of the
  // port's was too deep) goes out in a clock CT_EXEC reads none (bv_set),
  // tagged (be_pv beside be_v, be_ptag at the answer: bes; one in flight,
  // be_n): pm_bei out, pm_beg in (pm_beq); the packet that took it:
  // pk_beg (in `be`), pk_bef (coming), pk_beh (a hit's, else a miss's).
  logic [1:0]    bes, bvs;
  logic          be_pq, be_pv, be_ptag, be_n, pm_bei, pm_beg, pm_beh, pk_beg, pk_bef, pk_beh;
  logic          be_hd, be_mine, be_want;
  logic [BIW-1:0] be_pi, be_wi;
  lbnic_pkg::backend_t pm_beq;
  logic [31:0]   pv_bbase;
  logic [15:0]   pv_bcount;
  assign be_ptag = bes[1];
  assign be_hd = be_rv && be_ptag && !pk_bef && pm_bei;
  // an answer that is the packet's: CT_EXEC's own (untagged), or the one
  // read ahead for it
  assign be_mine = be_rv && (be_ptag ? pk_bef : 1'b1);
  // what the head wants read: its hit's entry, else its miss's
  // (each in a register a clock behind its inputs, pm_ebw / pm_ebx and
  // pm_mw / pm_mx: the compares and the add in front of the port were 8
  // LUT levels; checked against pm still on)
  logic          pm_ebw, pm_mw, pk_ebw;
  logic [BIW-1:0] pk_ebx;
  logic [BIW-1:0] pm_ebx, pm_mx;
  assign be_want = (pm_ebw || pm_mw) && pm != PM_OFF;
  assign be_wi = pm_ebw ? pm_ebx : pm_mx;
  always_ff @(posedge clk) begin
    pm_ebw <= pv_v && pm_e && pme_hit && pme_vip == g_slot && pme_be < pv_bcount && !pop;
    pm_ebx <= BIW'(pv_bbase + 32'(pme_be));
    pm_mw <= pm == PM_HAVE && !pr_hd_hit && pm_lug && !pop;
    pm_mx <= BIW'(pv_bbase + 32'(pm_luq));
  end
  always_ff @(posedge clk) begin
    bes <= {bes[0], be_pv};
    bvs <= {bvs[0], be_v};
    be_n <= (be_n && !(be_rv && be_ptag)) || be_pv;
    if (rst) begin
      bes <= '0;
      bvs <= '0;
      be_n <= 1'b0;
    end
  end
`ifndef SYNTHESIS
  always_ff @(posedge clk)
    if (!rst && be_rv != bvs[1]) $error("lbnic_ct_engine: the BACKEND port's latency apart from bes");
`endif
  always_ff @(posedge clk) begin
    lus <= {lus[0], lut_pv};
    lvs <= {lvs[0], lut_v};
    lu_n <= (lu_n && !(lut_rv && lut_ptag)) || lut_pv;
    if (rst) begin
      lus <= '0;
      lvs <= '0;
      lu_n <= 1'b0;
    end
  end
`ifndef SYNTHESIS
  always_ff @(posedge clk)
    if (!rst && lut_rv != lvs[1]) $error("lbnic_ct_engine: the LUT port's latency apart from lus");
`endif
  // The pre-schedule (issue 13): a Maglev VIP's choice is a function of
  // the flow hash and the bank's tables alone, which do not change while
  // a packet is queued (a commit drains the pipeline), so CT_REQ schedules
  // every such packet as it is taken, one a clock: its Maglev index, its
  // LUT entry and its backend entry, read in clocks CT_EXEC leaves a port
  // free (ps_lgo, ps_bgo; a request waits in a queue of four per port,
  // and one that finds it full is dropped: CT_EXEC schedules that packet
  // as before). A miss with its pre-schedule in (q_ps at its pop) skips
  // S_SCHED and S_BE_W; a hit on its own slot whose way names the same
  // pick skips the usable check's read. Its answers are kept
  // apart from CT_EXEC's (lut_rv, be_rv: the ports' answers that are not
  // the pre-schedule's). q_pg: the entry's generation, so a result for an
  // entry popped and taken again is not the new packet's.
  localparam int unsigned PSL = 4;  // lbnic_lookup_index's latency (u_ps)
  logic [DEPTH-1:0] q_ps, q_pg;
  logic [DEPTH*16-1:0] q_psl;
  logic [DEPTH*lbnic_pkg::BACKEND_BITS-1:0] q_psb;
  logic          ps0_v, ps0_g, ps1_v, ps1_g;
  logic [QB-1:0] ps0_e, ps1_e;
  logic [31:0]   ps0_h, ps1_h, ps1_m, ps1_lb, ps1_bb;
  logic [$clog2(MAX_VIPS)-1:0] ps0_s;
  logic [PSL-1:0] psx_v;
  logic [PSL*(QB+1+64)-1:0] psx_d;  // {entry, generation, LUT base, backend base}
  logic          psi_v;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [31:0]   psi_index;
  logic [BW-1:0] psi_a, psi_b;
  /* verilator lint_on UNUSEDSIGNAL */
  logic          ps_lreq, ps_lgo, ps_breq, ps_bgo, psl_v, psb_v;
  /* verilator lint_off UNUSEDSIGNAL */ // (the testbench counts the drops)
  logic          psl_in, psb_in;
  /* verilator lint_on UNUSEDSIGNAL */
  logic [LIW-1:0] ps_li, psl_i;
  logic [BIW-1:0] ps_bi, psb_i;
  logic [QB:0]   psl_e, psb_e;
  logic [31:0]   psl_b;
  logic [15:0]   psb_l;
  logic [QB:0]   ps_le, ps_be;    // {generation, entry} of the LUT / backend read
  logic [31:0]   ps_lbb;          // the LUT read's backend base
  logic [1:0]    lss, bss;        // the ports' answers that are the pre-schedule's
  logic [2*(QB+1)-1:0] lss_e, bss_e;
  logic [63:0]   lss_b;           // the LUT read's backend base (2 clocks)
  logic [31:0]   bss_l;           // the backend read's LUT entry (2 clocks)
  logic [15:0]   ps_bl;
  logic          lut_rv, be_rv;
  assign lut_rv = lut_rvalid && !lss[1];
  assign be_rv = be_rvalid && !bss[1];
  // (the request queues; a request dropped: ps_lreq && !psl_in)
  /* verilator lint_off UNUSEDSIGNAL */
  logic [1:0] psl_kl, psb_kl;  // (the queues' tkeep and tlast)
  logic psl_u, psb_u;
  /* verilator lint_on UNUSEDSIGNAL */
  assign ps_lgo = psl_v && !lut_v;
  assign ps_bgo = psb_v && !be_v;
  lbnic_axis_fifo #(.DEPTH(4), .DATA_WIDTH(QB + 1 + 32 + LIW), .KEEP_ENABLE(1'b0), .KEEP_WIDTH(1),
                   .LAST_ENABLE(1'b0)) u_psl (
      .clk, .rst,
      .s_axis_tdata({ps_le, ps_lbb, ps_li}), .s_axis_tkeep(1'b1), .s_axis_tvalid(ps_lreq),
      .s_axis_tready(psl_in), .s_axis_tlast(1'b1), .s_axis_tuser(1'b0),
      .m_axis_tdata({psl_e, psl_b, psl_i}), .m_axis_tkeep(psl_kl[0]), .m_axis_tvalid(psl_v),
      .m_axis_tready(ps_lgo), .m_axis_tlast(psl_kl[1]), .m_axis_tuser(psl_u)
  );
  lbnic_axis_fifo #(.DEPTH(4), .DATA_WIDTH(QB + 1 + 16 + BIW), .KEEP_ENABLE(1'b0), .KEEP_WIDTH(1),
                   .LAST_ENABLE(1'b0)) u_psb (
      .clk, .rst,
      .s_axis_tdata({ps_be, ps_bl, ps_bi}), .s_axis_tkeep(1'b1), .s_axis_tvalid(ps_breq),
      .s_axis_tready(psb_in), .s_axis_tlast(1'b1), .s_axis_tuser(1'b0),
      .m_axis_tdata({psb_e, psb_l, psb_i}), .m_axis_tkeep(psb_kl[0]), .m_axis_tvalid(psb_v),
      .m_axis_tready(ps_bgo), .m_axis_tlast(psb_kl[1]), .m_axis_tuser(psb_u)
  );
  lbnic_lookup_index #(.CT_BUCKET_BITS(BUCKET_BITS), .CT_PAGE_BUCKETS(PAGE)) u_ps (
      .clk, .rst, .in_valid(ps1_v), .in_hash(ps1_h), .in_m(ps1_m),
      .out_valid(psi_v), .out_index(psi_index), .out_ct_a(psi_a), .out_ct_b(psi_b)
  );
  // (the slot's VIP entry: a struct of the module's, not of a block, whose
  // fields Yosys 0.23 takes for new wires)
  /* verilator lint_off UNUSEDSIGNAL */ // (the fields scheduling reads)
  lbnic_pkg::vip_t pv;
  /* verilator lint_on UNUSEDSIGNAL */
  assign pv = vips[VB*32'(ps0_s) +: VB];
  always_ff @(posedge clk) begin
    // (the packet taken, a VIP's: its slot's entry read the clock after)
    ps0_v <= in_valid && in_ready && in_need && in_meta.class_kind == lbnic_pipe_pkg::CLASS_VIP;
    ps0_e <= tl;
    ps0_g <= !q_pg[tl];
    ps0_s <= $bits(ps0_s)'(in_meta.slot);
    ps0_h <= in_meta.hash;
    ps1_v <= ps0_v && 32'(ps0_s) < MAX_VIPS && (pv.flags & VF_VALID) != 0
             && pv.lut_size != 0 && maglev(pv.sched);
    ps1_e <= ps0_e;
    ps1_g <= ps0_g;
    ps1_h <= ps0_h;
    ps1_m <= pv.lut_size;
    ps1_lb <= pv.lut_base;
    ps1_bb <= pv.backend_base;
    psx_v <= {psx_v[PSL-2:0], ps1_v};
    psx_d <= {psx_d[(PSL-1)*(QB+1+64)-1:0], {ps1_e, ps1_g, ps1_lb, ps1_bb}};
    // the LUT read: its index, a clock after the lookup index's
    ps_lreq <= psi_v;
    ps_li <= LIW'(psx_d[(PSL-1)*(QB+1+64) + 32 +: 32] + psi_index);
    ps_le <= psx_d[(PSL-1)*(QB+1+64) + 64 +: QB+1];
    ps_lbb <= psx_d[(PSL-1)*(QB+1+64) +: 32];
    lss <= {lss[0], ps_lgo};
    lss_e <= {lss_e[QB:0], psl_e};
    lss_b <= {lss_b[31:0], psl_b};
    // the backend read: its index, a clock after the LUT entry
    ps_breq <= lut_rvalid && lss[1];
    ps_bi <= BIW'(lss_b[63:32] + 32'(lut_rdata));
    ps_bl <= 16'(lut_rdata);
    ps_be <= lss_e[2*(QB+1)-1 -: QB+1];
    bss <= {bss[0], ps_bgo};
    bss_e <= {bss_e[QB:0], psb_e};
    bss_l <= {bss_l[15:0], psb_l};
    if (rst) begin
      ps0_v <= 1'b0;
      ps1_v <= 1'b0;
      psx_v <= '0;
      ps_lreq <= 1'b0;
      ps_breq <= 1'b0;
      lss <= '0;
      bss <= '0;
    end
  end
  // (a result lands in its entry where the entry still holds that packet)
  always_ff @(posedge clk) begin
    logic [QB-1:0] e;
    e = bss_e[QB+2 +: QB];  // ({entry, generation}: the older of the two)
    if (be_rvalid && bss[1] && q_pg[e] == bss_e[QB+1]) begin
      q_ps[e] <= 1'b1;
      q_psl[16*e +: 16] <= bss_l[31:16];
      q_psb[lbnic_pkg::BACKEND_BITS*e +: lbnic_pkg::BACKEND_BITS] <= be_rdata;
    end
    // (after it: a packet taken into the entry in the clock its previous
    // packet's result lands does not take that result; the wait in the
    // request queues is not bounded, so it can)
    if (in_valid && in_ready) begin
      q_ps[tl] <= 1'b0;
      q_pg[tl] <= !q_pg[tl];
    end
    if (rst) begin
      q_ps <= '0;
      q_pg <= '0;
    end
  end
`ifndef SYNTHESIS
  always_ff @(posedge clk)
    if (!rst && psi_v != psx_v[PSL-1]) $error("lbnic_ct_engine: the pre-schedule's index apart from psx_v");
`endif
  // the head's, taken with it (pk_ps: its pre-schedule was in)
  logic hd_ps, pk_ps;
  logic [15:0] hd_psl, pk_psl;
  lbnic_pkg::backend_t hd_psb, pk_psb;
  lbnic_word_sel #(.W(1), .N(DEPTH), .IW(QB)) u_hd_ps (.words(q_ps), .index(hd), .word(hd_ps));
  lbnic_word_sel #(.W(16), .N(DEPTH), .IW(QB)) u_hd_psl (.words(q_psl), .index(hd), .word(hd_psl));
  lbnic_word_sel #(.W(lbnic_pkg::BACKEND_BITS), .N(DEPTH), .IW(QB)) u_hd_psb (
      .words(q_psb), .index(hd), .word(hd_psb)
  );
  // (pk_psu: that backend entry usable, valid and not down)
  logic pk_psu;
  always_ff @(posedge clk)
    if (pop_x) begin
      pk_ps <= hd_ps;
      pk_psl <= hd_psl;
      pk_psb <= hd_psb;
      pk_psu <= (hd_psb.flags & BF_VALID) != 0 && hd_psb.state != BS_DOWN;
    end
  // (the NAT return hash's backend: the pre-schedule's while the packet
  // is in the match, where a miss takes it; a hit or another path leaves
  // `be` apart from it, which the hash sees as a change, above)
  always_ff @(posedge clk) begin
    if (pop_x) nt_pre <= hd_ps;
    else if (st != S_DISP && st != S_M_GO && st != S_M_W) nt_pre <= 1'b0;
    if (rst) nt_pre <= 1'b0;
  end
  assign nt_key = nt_pre ? nat_key_ps : nat_key;
  // (one tagged index in flight: the packet's that took one, or a dropped
  // pre-match's, is not the head's)
  assign lx_pm = pm_iss && pv_ok && lxs_t == '0;
  assign lx_go = st == S_DISP && !pk_lx && vip_slot.lut_size != 0
                 && maglev(vip_slot.sched);
  assign lx_tag = lxs_t[LXL-1];
  /* verilator lint_off UNUSEDSIGNAL */
  logic [BW-1:0] lx_a, lx_b;
  /* verilator lint_on UNUSEDSIGNAL */
  lbnic_lookup_index #(.CT_BUCKET_BITS(BUCKET_BITS), .CT_PAGE_BUCKETS(PAGE)) u_lx (
      .clk, .rst, .in_valid(lx_go || lx_pm), .in_hash(pm_iss ? g_hash : m.hash),
      .in_m(pm_iss ? pv_m : vip_slot.lut_size),
      .out_valid(lx_valid), .out_index(lx_index), .out_ct_a(lx_a), .out_ct_b(lx_b)
  );
  always_ff @(posedge clk) begin
    lxs_v <= {lxs_v[LXL-2:0], lx_go || lx_pm};
    lxs_t <= {lxs_t[LXL-2:0], lx_pm};
    if (rst) begin
      lxs_v <= '0;
      lxs_t <= '0;
    end
  end
`ifndef SYNTHESIS
  always_ff @(posedge clk) begin
    if (!rst && lx_valid != lxs_v[LXL-1]) $error("lbnic_ct_engine: u_lx's latency apart from LXL");
    if (!rst && lx_go && lx_pm) $error("lbnic_ct_engine: two Maglev indexes started at once");
  end
  // the index started ahead is the one S_DISP would start: the packet's
  // hash and its slot's table size
  logic [31:0] pmd_hash;
  always_ff @(posedge clk) begin
    if (lx_pm) pmd_hash <= g_hash;
    if (!rst && st == S_DISP && pk_lx
        && !(vip_slot.lut_size != 0 && pv_m == vip_slot.lut_size && pmd_hash == m.hash
             && maglev(vip_slot.sched)))
      $error("lbnic_ct_engine: a Maglev index started ahead apart from the packet's");
    if (!rst && st == S_DISP && (pk_lug || pk_luf)
        && (!(pk_lx || pk_rr) || g_rev || pv_base != vip_slot.lut_base))
      $error("lbnic_ct_engine: a LUT entry read ahead apart from the packet's");
  end
`endif

  // ------------------------------------------------------------ full hints
  // One bit per bucket (CtTable's hints) in a block RAM: 262144 buckets at
  // the default target are 8 RAMB36, where flip-flops and the 2 x WAYS
  // read multiplexers they need would not fit (spec §13 "Synthesis").
  // Port A writes (a put's bucket, the refresh pass, the clearing sweeps);
  // port B reads the residents' other buckets, one a clock as their hashes
  // come out (res_full, a clock later). A RAM cannot clear in one clock:
  // CT_FLUSH / RESET clear each bucket's hint as the flush writes it, and
  // `rst` starts a sweep (S_HCLR) that packets wait for.
  logic          h_we, h_wdata, h_ren;
  logic [BW-1:0] h_waddr, h_raddr;
  logic          h_rdata;
  /* verilator lint_off UNUSEDSIGNAL */
  logic          h_a_rdata;  // port A only writes
  /* verilator lint_on UNUSEDSIGNAL */
  logic          hc_pend, rf_v;
  logic [BW-1:0] hc_ptr;
  logic [$clog2(N)-1:0] rf_i;
  logic [BW-1:0] rf_a;
  logic [NR-1:0] rf_bz;
  lbnic_ram #(.WIDTH(1), .DEPTH(NB), .AW(BW), .STYLE("block"), .A_READ(1'b0)) u_hints (
      .clk,
      .a_en(h_we), .a_we(1'b1), .a_addr(h_waddr), .a_wdata(h_wdata), .a_rdata(h_a_rdata),
      .b_en(h_ren), .b_addr(h_raddr), .b_rdata(h_rdata)
  );
  always_comb begin
    h_we = 1'b0;
    h_waddr = w_bucket;
    h_wdata = 1'b0;
    // the posted insert's hint, as its write is taken (CT_EXEC's own
    // writes, below, come first; the sweeps wait for the unit)
    if (rm_wr_fire) begin
      h_we = 1'b1;
      h_waddr = rm_wr_bucket;
      h_wdata = rm_wr_full;
    end
    case (st)
      S_WR: begin
        h_we = ct_wr_ready && w_hint;
        h_wdata = !w_free;
      end
      S_HR_W: begin
        h_we = got_a;
        h_waddr = hr_ptr;
        h_wdata = all_valid;
      end
      S_FLUSH: begin
        h_we = ct_wr_ready;
        h_waddr = fl_ptr;
      end
      S_HCLR: begin
        h_we = 1'b1;
        h_waddr = hc_ptr;
      end
      default: ;
    endcase
  end
  // the resident's other bucket, as res_other takes it below
  logic [31:0] li_in_b;
  assign li_in_b = (32'(rh_out) < WAYS) ? ma : mb;
  // S_NAT_HA / S_NAT_HB: the return key's candidates' hints, the bits a
  // clock later (whether a posted insert is sure to find a free way)
  logic nh_rd;
  logic nh_go;  // an idle unit, and neither candidate held by another
  assign nh_go = x_chk && rm_free && !locked(BW'(ma), r_busy, r_la, r_lb)
                 && !locked(BW'(mb), r_busy, r_la, r_lb);
  assign nh_rd = (st == S_NAT_HA && nh_go) || st == S_NAT_HB;
  assign h_ren = li_valid || nh_rd;
  assign h_raddr = nh_rd ? ((st == S_NAT_HB) ? BW'(mb) : BW'(ma))
                 : (32'(li_a) == li_in_b) ? li_b : li_a;

  // ------------------------------------------------------------ ports
  assign in_ready = q_cnt != QC'(DEPTH) && !flush_pend && !clear && !flush_req && !href_pend
                  && !(host_q && !ct_host);
  // an entry ready to leave: full, its wait counted down (the head's is
  // out_valid; ready_n counts them)
  logic [OQ-1:0] o_rd;
  for (genvar i = 0; i < OQ; i++) begin : g_ord
    assign o_rd[i] = o_full[i] && o_wait[8*i +: 8] == '0;
  end
  assign out_valid = o_rd[0];
  assign {out_decision, out_meta, out_parsed, out_vip, out_backend} = o_d[OB-1:0];
  // hand the decision over: in S_OUT (every path ends there) or as soon as
  // it is final where writes follow, when an entry is free or frees now
  logic o_fire, o_room, hand;
  assign o_fire = out_valid && out_ready;
  assign o_room = !o_full[OQ-1] || o_fire;
  // ready_n: the entries ready now less those ready a clock ago that are
  // still in (an entry stays ready until it leaves, and leaves only by
  // o_fire, or all at once by rst)
  localparam int unsigned OQB = $clog2(OQ + 1);
  logic [OQB-1:0] o_rdy, o_kept;
  always_comb begin
    o_rdy = '0;
    for (int unsigned i = 0; i < OQ; i++) o_rdy = o_rdy + OQB'(o_rd[i]);
  end
  always_ff @(posedge clk) o_kept <= rst ? '0 : o_rdy - OQB'(o_fire);
  assign ready_n = 2'(o_rdy - o_kept);
`ifndef SYNTHESIS
  always_ff @(posedge clk)
    if (!rst && (o_rdy < o_kept || o_rdy - o_kept > OQB'(3)))
      $error("lbnic_ct_engine: ready_n out of its range");
`endif
`ifndef SYNTHESIS
  always_ff @(posedge clk)
    if (!rst && (o_full & (o_full + 1'b1)) != '0)
      $error("lbnic_ct_engine: the output queue's full entries not 0 up");
`endif
  assign hand = !handed && (dfin || st == S_OUT) && o_room;
  // (the pre-schedule's reads take a port in a clock CT_EXEC's and the
  // pre-match's leave it free: ps_lgo, ps_bgo)
  assign be_valid = be_v || ps_bgo;
  assign be_index = be_v ? be_b + be_o : psb_i;
  assign lut_valid = lut_v || ps_lgo;
  assign lut_index = lut_v ? lut_i : psl_i;
  // (CT_EXEC's read states as flags of their own, set where the FSM
  // enters them, st_rda: S_RD_A, st_rdx: S_RD_B, S_SC_RD or S_HR_RD: their
  // decode from `st` through the units' read grant into a unit's FSM was
  // 9 LUT levels, issue 13)
  logic ex_rd, st_rda, st_rdx;
  assign ex_rd = (st_rda && rd_go) || st_rdx;
`ifndef SYNTHESIS
  always_ff @(posedge clk)
    if (!rst && (st_rda != (st == S_RD_A) || st_rdx != (st == S_RD_B || st == S_SC_RD || st == S_HR_RD)))
      $error("lbnic_ct_engine: st_rda / st_rdx apart from st");
`endif
  // CT_EXEC's reads first, then the posted insert's, then CT_REQ's
  assign ct_rd_valid = ex_rd || rm_rd_valid || iss_ok;
  assign rm_rd_ready = ct_rd_ready && !ex_rd;
  always_comb begin
    ct_rd_tag = TAG_A;
    ct_rd_bucket = BUCKET_BITS'(ma);
    if (!ex_rd && rm_rd_valid) begin
      ct_rd_tag = rm_rd_tag;
      ct_rd_bucket = BUCKET_BITS'(rm_rd_bucket);
    end else if (!ex_rd) begin
      ct_rd_tag = TAG_Q | TAG_BITS'({iss_i, iss_b});
      ct_rd_bucket = BUCKET_BITS'(iss_bucket);
    end
    case (st)
      S_RD_B: begin
        ct_rd_tag = TAG_B;
        ct_rd_bucket = BUCKET_BITS'(mb);
      end
      S_SC_RD: ct_rd_bucket = BUCKET_BITS'(sc_ptr);
      S_HR_RD: ct_rd_bucket = BUCKET_BITS'(hr_ptr);
      default: ;
    endcase
  end
  // CT_EXEC's writes first, then the posted insert's
  logic ex_wr;
  assign ex_wr = st == S_WR || st == S_FLUSH;
  assign ct_wr_valid = ex_wr || rm_wr_valid;
  assign rm_wr_ready = ct_wr_ready && !ex_wr;
  assign rm_wr_fire = rm_wr_valid && rm_wr_ready;
  assign ct_wr_bucket = BUCKET_BITS'(st == S_FLUSH ? fl_ptr : ex_wr ? w_bucket : rm_wr_bucket);
  assign ct_wr_mask = st == S_FLUSH ? '1 : ex_wr ? w_mask : rm_wr_mask;
  assign ct_wr_data = st == S_FLUSH ? '0 : ex_wr ? w_data : rm_wr_data;
  // the unit's strobes, a clock later where CT_EXEC strobes the same
  // counter (cnt_inc is +1 a bit)
  // (counted: the units write one a clock, so a strobe can meet one kept)
  // (the units' strobes registered first: from the FSM's state through
  // the write port's arbitration to a unit's strobe and on into cnt_inc
  // was 10 LUT levels, issue 13; a counter shows the event a clock later)
  logic [1:0] rp_ins, rp_age, want_ins, want_age;
  logic rm_ins_q, rm_age_q;
  always_ff @(posedge clk) begin
    rm_ins_q <= rm_cnt_ins && !rst;
    rm_age_q <= rm_cnt_age && !rst;
  end
  assign want_ins = rp_ins + 2'(rm_ins_q);
  assign want_age = rp_age + 2'(rm_age_q);
  always_comb begin
    cnt_inc = cnt;
    if (want_ins != 0) cnt_inc[CI_INSERTS] = 1'b1;
    if (want_age != 0) cnt_inc[CI_AGEOUTS] = 1'b1;
  end
  always_ff @(posedge clk) begin
    rp_ins <= (want_ins != 0 && !cnt[CI_INSERTS]) ? want_ins - 1'b1 : want_ins;
    rp_age <= (want_age != 0 && !cnt[CI_AGEOUTS]) ? want_age - 1'b1 : want_age;
    if (rst) begin
      rp_ins <= '0;
      rp_age <= '0;
    end
  end
  // A packet in CT_EXEC: its decision may have left, its frame with it,
  // while it still works (its writes, a relocation's search, a NAT return
  // entry's hash, check and post, or the entry in line, a read latency and
  // more): x_on, from its pop to S_OUT's end. The harness skipped such
  // clocks as idle (spec §12.3 decision 12). CT_HOST's acknowledgement
  // waits for the NAT part only (phase_nat), which outlives the packet's
  // frame and writes conntrack; a packet under CT_HOST touches none.
  logic x_on;
  always_ff @(posedge clk) begin
    if (pop_x) x_on <= 1'b1;
    else if (st == S_OUT && (handed || hand)) x_on <= 1'b0;
    if (rst) x_on <= 1'b0;
  end
  assign busy = x_on;
  assign rmw_busy = rm_busy || rm_ins_q || rm_age_q || rp_ins != 0 || rp_age != 0
                    || (x_on && phase_nat);
  // (CT_EXEC's own accesses take the port before the units' and CT_REQ's)
  assign ct_bg = st == S_SC_RD || st == S_HR_RD || st == S_FLUSH || (st == S_WR && wr_ret == S_SC_CNT);
  assign swept = since == (BUCKET_BITS + 1)'(NB);

  // ------------------------------------------------------------ CT_REQ
  // Phase 2: read-ahead. Packets are queued in order (a ring of DEPTH);
  // each entry's two candidate bucket reads are issued, in order, once the
  // hazard table clears it: no older unfinished packet (queued, or in
  // CT_EXEC until its own buckets' writes were taken) has one of its
  // buckets among its candidates (stall, no forwarding). Every write taken
  // by the memory port (CT_EXEC's, CT_FLUSH's) that names a bucket a queued
  // entry has read or is reading makes that read stale: it is issued again
  // (after the stale response, if one is still in flight). The scrubber's
  // only zeroes ways: its mask is kept with each entry that read (or is
  // reading) the bucket and applied to the data as the entry enters
  // CT_EXEC (forwarding: a packet that comes while the scrubber reclaims
  // its bucket is not a memory latency late, spec §12.3 decision 4).
  // CT_EXEC takes the head once both its buckets are current. Tags:
  // {1, entry, side} for queue reads; CT_EXEC's own (0, 1, 2) have the top
  // bit clear.
  localparam int unsigned QB = (DEPTH > 1) ? $clog2(DEPTH) : 1;
  localparam int unsigned QC = QB + 1;
  localparam int unsigned MB = $bits(m);
  localparam int unsigned PB = $bits(p);
  localparam int unsigned RB = $clog2(MAX_RD + 1);
  localparam logic [1:0] QS_NEED = 2'd0, QS_OUT = 2'd1, QS_STALE = 2'd2, QS_GOT = 2'd3;

  logic [DEPTH*MB-1:0]     q_meta;
  logic [DEPTH*PB-1:0]     q_parsed;
  logic [DEPTH*BW-1:0]     q_a, q_b;
  logic [DEPTH-1:0]        q_need, q_rev, q_vf;  // needs its buckets; a NAT reply; VIP or fragment
  logic [DEPTH-1:0]        q_nrev;               // a NAT reply that needs its buckets
  // queued and needs its buckets (q_need of an entry between hd and tl): a
  // bit per entry, set as the entry is taken and cleared at its pop, where
  // the entry's distance from hd against q_cnt was an add and a compare
  // in front of the enqueue's youngest-source search (issue 13)
  logic [DEPTH-1:0]        q_lv;
  logic [2*DEPTH-1:0]      q_sa, q_sb;
  logic [DEPTH*WAYS-1:0]   q_za, q_zb;    // ways the scrubber zeroed since the read
  // none (q_za / q_zb zero), kept beside them: the head's compare of its
  // masks with zero was four of the eight LUT levels into d_go and pm_keep
  logic [DEPTH-1:0]        q_z0a, q_z0b, q_z0;
  logic [QB-1:0]           hd, tl;
  logic [QC-1:0]           q_cnt, n_clr;  // entries; entries the hazard table cleared (from hd)
  logic [RB-1:0]           rd_out;
  // The per-entry state rotated by hd, so that word k is the k-th oldest
  // entry's (at hd + k): the head's words (word 0) and the simulation-only
  // checks read it; the read issue and the hazard table work in the
  // queue's own order (the hazard table's first uncleared entry kept in
  // ip). DEPTH is a power of two (hd wraps at it).
  logic [2*DEPTH-1:0]  r_sa, r_sb;
  logic [DEPTH*BW-1:0] r_qa, r_qb;
  logic [DEPTH-1:0]    r_need;
  always_comb begin
    r_need = q_need;
    r_sa = q_sa;
    r_sb = q_sb;
    r_qa = q_a;
    r_qb = q_b;
    for (int unsigned d = 0; d < QB; d++) begin
      if (hd[d]) begin
        r_need = (r_need >> (1 << d)) | (r_need << (DEPTH - (1 << d)));
        r_sa = (r_sa >> (2 << d)) | (r_sa << (2 * DEPTH - (2 << d)));
        r_sb = (r_sb >> (2 << d)) | (r_sb << (2 * DEPTH - (2 << d)));
        r_qa = (r_qa >> (BW << d)) | (r_qa << (BW * DEPTH - (BW << d)));
        r_qb = (r_qb >> (BW << d)) | (r_qb << (BW * DEPTH - (BW << d)));
      end
    end
  end
  // the head's wide fields: a mux tree each (lbnic_word_sel)
  lbnic_pipe_pkg::meta_t   hd_meta;
  logic [PB-1:0]           hd_parsed;
  logic [BW-1:0]           hd_a, hd_b;  // registers (below, with hd_lk)
  logic [WAYS-1:0]         hd_za, hd_zb;
  logic                    hd_need;
  // When the cycle model executes an entry that took a side by a slot
  // without a read (fw_nr): q_nr1, it did (so it read one bucket, not two
  // on consecutive clocks: one clock less behind its read's answer); q_nl,
  // that slot's data came last (the model then executes it the clock after
  // the packet before it). q_ul: a unit's write (through the unit slot or
  // a slot sourced from a unit) came after the entry's own read's answer,
  // so the model executes it as the unit's lock clears, whatever it read
  // (q_nr1's clock less does not apply).
  logic [DEPTH-1:0]        q_nr1, q_nl, q_ul;
  logic                    hd_nr1, hd_nl, hd_ul;
  lbnic_word_sel #(.W(MB), .N(DEPTH), .IW(QB)) u_hd_meta (.words(q_meta), .index(hd), .word(hd_meta));
  lbnic_word_sel #(.W(PB), .N(DEPTH), .IW(QB)) u_hd_parsed (
      .words(q_parsed), .index(hd), .word(hd_parsed)
  );
  lbnic_word_sel #(.W(WAYS), .N(DEPTH), .IW(QB)) u_hd_za (.words(q_za), .index(hd), .word(hd_za));
  lbnic_word_sel #(.W(WAYS), .N(DEPTH), .IW(QB)) u_hd_zb (.words(q_zb), .index(hd), .word(hd_zb));
  logic hd_z0;  // the head's masks are zero
  assign q_z0 = q_z0a & q_z0b;
  lbnic_word_sel #(.W(1), .N(DEPTH), .IW(QB)) u_hd_z0 (.words(q_z0), .index(hd), .word(hd_z0));
`ifndef SYNTHESIS
  always_ff @(posedge clk)
    for (int i = 0; i < DEPTH; i++)
      // (for the queued entries: neither is reset)
      if (!rst && 32'(QB'(QB'(i) - hd)) < 32'(q_cnt)
          && (q_z0a[i] != (q_za[WAYS*i +: WAYS] == '0) || q_z0b[i] != (q_zb[WAYS*i +: WAYS] == '0)))
        $error("lbnic_ct_engine: q_z0 of entry %0d apart from its masks", i);
`endif
  lbnic_word_sel #(.W(1), .N(DEPTH), .IW(QB)) u_hd_nr1 (
      .words(q_nr1), .index(hd), .word(hd_nr1)
  );
  lbnic_word_sel #(.W(1), .N(DEPTH), .IW(QB)) u_hd_nl (
      .words(q_nl), .index(hd), .word(hd_nl)
  );
  lbnic_word_sel #(.W(1), .N(DEPTH), .IW(QB)) u_hd_ul (
      .words(q_ul), .index(hd), .word(hd_ul)
  );

  // whether a packet taken now needs its buckets (S_DISP's rule): a VIP
  // packet's slot is valid by FRONT's match (it compares valid slots only,
  // and the bank does not change while a packet is between FRONT and
  // here), so the class alone decides; reading the slot's valid flag here
  // (a 256:1 read by in_meta.slot) was 9 LUT levels into the queue's state
  // (issue 13)
  logic [MAX_VIPS-1:0] vv_all;
  always_comb begin
    for (int unsigned i = 0; i < MAX_VIPS; i++)
      vv_all[i] = (vips[VB*i + 8*lbnic_pkg::VIP_FLAGS_OFF +: 8] & VF_VALID) != 0;
  end
  logic in_need;
  assign in_need = bank_valid && !ct_host
      && (in_meta.class_kind == lbnic_pipe_pkg::CLASS_REVERSE
          || in_meta.class_kind == lbnic_pipe_pkg::CLASS_FRAGMENT
          || in_meta.class_kind == lbnic_pipe_pkg::CLASS_VIP);
`ifndef SYNTHESIS
  always_ff @(posedge clk)
    if (!rst && in_valid && in_ready && bank_valid && in_meta.class_kind == lbnic_pipe_pkg::CLASS_VIP)
      for (int unsigned i = 0; i < MAX_VIPS; i++)
        if (32'(in_meta.slot) == i && !vv_all[i])
          $error("lbnic_ct_engine: a VIP packet of an invalid slot %0d", in_meta.slot);
`endif

  // The head's decision where it needs no conntrack and no scheduling
  // (S_DISP's straight way to S_OUT): no bank, bypass, parse error, no
  // valid VIP, a Reverse while CT_HOST is set.
  // (whether it is direct from the head's class bits, q_vf / q_rev at hd,
  // kept in registers as hd moves, below: the class read out of the head's
  // meta and decoded was 8 levels into pop, the 16:1 read of q_vf / q_rev
  // at hd 8 too; hd_dir_m, the same from the meta, is checked against it)
  logic hd_dir, hd_dir_m, hd_vf, hd_rv, hd_nrev;
  lbnic_pipe_pkg::decision_t hd_ddec;
  assign hd_dir = !(bank_valid && (hd_vf || (hd_rv && !ct_host)));
  always_comb begin
    hd_dir_m = 1'b1;
    hd_ddec = d_novip;
    if (hd_meta.class_kind == lbnic_pipe_pkg::CLASS_BYPASS) hd_ddec = d_pass;
    else if (hd_meta.class_kind == lbnic_pipe_pkg::CLASS_PARSE_ERROR) hd_ddec = d_parse;
    else if (bank_valid) begin
      case (hd_meta.class_kind)
        lbnic_pipe_pkg::CLASS_REVERSE: hd_dir_m = ct_host;
        lbnic_pipe_pkg::CLASS_VIP: hd_dir_m = 1'b0;
        lbnic_pipe_pkg::CLASS_FRAGMENT: begin
          hd_dir_m = 1'b0;
          hd_ddec = d_pass;
        end
        default: ;
      endcase
    end
  end

  // the head can enter CT_EXEC (pop_x); a direct one may leave while the
  // scrubber visits a bucket (pop_dir: the FSM holds no packet then), at
  // the clock it would have left CT_EXEC
  logic pop, pop_x, pop_dir, hd_ok;
  // the FSM is in the scrubber's visit: a register, set as it enters and
  // cleared as it leaves (its decode from st was two LUT levels in front
  // of the hazard table's clear, issue 13)
  logic scrubbing;
  // (a head read before the posted insert's write was taken would compute
  // on the bucket without it: it waits, and takes the write through its
  // side's forwarding slot, or reads again)
  logic hd_locked;
  // forwarding (below, at the hazard table)
  logic exa, exb, qha, qhb, ha, hb, fw_clr, fw_any, fw_ok, lka, lkb, ex_end;
  logic [NRB-1:0] lua, lub;  // the unit that holds ea, eb
  logic [QB-1:0] srca, srcb, ex_id;
  // FWK slots per side (slot s: side s / FWK, 0: a, 1: b)
  logic [FS-1:0] fw_on, fw_pend, fw_got, fw_hit, fw_done, fw_cancel, fw_drop, fw_in;
  // a slot taken from the packet in CT_EXEC in the clock it left (its last
  // write taken in S_WR, ex_end): done the next clock, its read stands
  logic [FS-1:0] fw_lft;
  logic [FS-1:0] fw_u;       // the slot's source is a posted unit (fw_uid), not a packet
  // fw_w: slot s writes its data into its entry now (one a side a clock:
  // fw_wa, fw_wb); fw_full: a side's slots all taken; the free slot the
  // hazard table takes (fw_ck, the lowest) and the unit's arming (fw_uk,
  // the highest), one-hot
  logic [FS-1:0] fw_w, fw_ck, fw_uk;
  logic [1:0] fw_full;
  // The slot's source is a queued packet: the side is not read (fw_nr),
  // its data is the source's bucket as the source leaves CT_EXEC (fw_take:
  // a write kept, else the source's own data of it), as the cycle model's
  // CT_REQ forwards from a predecessor's read in flight (spec §12.3, "the
  // edges"); read after all where that cannot be had (fw_fb: the source
  // left without entering CT_EXEC; a cancel).
  logic [FS-1:0] fw_nr, fw_take, fw_fb;
  logic [1:0] nr_now;
  logic [FS-1:0] fw_redo;  // fw_fb the clock before: the side goes back to NEED
  logic [FS*NRB-1:0] fw_uid;
  logic [FS*QB-1:0] fw_e, fw_src;
  logic [FS*BW-1:0] fw_bk;
  logic [FS*BBITS-1:0] fw_data;
  logic hd_fw;  // the head is in a slot
  // Which slot of side a / b holds entry i (one-hot, FWK bits an entry),
  // kept beside fw_on / fw_e: the unit's arming and every entry's state
  // read it where they compared fw_e with the entry (the arming's compare
  // after its search was 8 LUT levels at 4a5270c; performance.md, "The
  // logic-depth attempt of stop 54").
  logic [DEPTH*FWK-1:0] q_fka, q_fkb;
  // the slot the hazard table's clear takes now (fw_tc), the unit's arming
  // (fw_ua), and the slots let go (fw_rel)
  logic [FS-1:0] fw_tc, fw_ua, fw_rel;
  logic [FS-1:0] fw_us;  // fw_ua without `any` (uf_ok): for uf_set and the slot's fields
  always_comb begin
    // (compared with hd: read out of q_fka / q_fkb at hd it was 10 LUT
    // levels into the FSM's state through pop, stop 54)
    hd_fw = 1'b0;
    for (int t = 0; t < FS; t++) if (fw_on[t] && fw_e[QB*t +: QB] == hd) hd_fw = 1'b1;
    for (int g = 0; g < 2; g++) begin
      fw_full[g] = &fw_on[FWK*g +: FWK];
      for (int k = 0; k < FWK; k++) begin
        fw_ck[FWK*g + k] = !fw_on[FWK*g + k];
        fw_uk[FWK*g + k] = !fw_on[FWK*g + k];
        for (int j = 0; j < k; j++) if (!fw_on[FWK*g + j]) fw_ck[FWK*g + k] = 1'b0;
        for (int j = k + 1; j < FWK; j++) if (!fw_on[FWK*g + j]) fw_uk[FWK*g + k] = 1'b0;
      end
    end
  end
`ifndef SYNTHESIS
  // an entry's side is in one slot at most (its state follows that slot)
  always_ff @(posedge clk)
    for (int t = 0; t < FS; t++)
      for (int o = t + 1; o < FS; o++)
        if (!rst && fw_on[t] && fw_on[o] && t / FWK == o / FWK && fw_e[QB*t +: QB] == fw_e[QB*o +: QB])
          $error("lbnic_ct_engine: entry %0d in two slots of side %0d", fw_e[QB*t +: QB], t / FWK);
  // q_fka / q_fkb say what fw_on / fw_e say
  always_ff @(posedge clk)
    for (int t = 0; t < FS; t++)
      for (int i = 0; i < DEPTH; i++)
        if (!rst && (t / FWK == 1 ? q_fkb[FWK*i + t % FWK] : q_fka[FWK*i + t % FWK])
                    != (fw_on[t] && fw_e[QB*t +: QB] == QB'(i)))
          $error("lbnic_ct_engine: q_fk of entry %0d apart from slot %0d", i, t);
`endif
  // One more slot per side for a posted unit's write only (us_*, armed as
  // uf_arm below is, when the side's slots are all taken): an entry that read
  // the bucket before the unit took it takes the write instead of reading
  // again, as the cycle model's packets do (spec §12.3 decision 11: a head
  // went a memory latency late while a younger entry held its side's
  // slot). The entry's side is OUT meanwhile, as if read again, so the
  // head's readiness needs no term of its own.
  logic [1:0] us_on, us_pend, us_hit, us_cancel, us_w;
  logic [2*QB-1:0] us_e;
  logic [2*BW-1:0] us_bk;
  logic [2*BBITS-1:0] us_data;
  assign hd_ok = !hc_pend && !flush_pend && !href_pend && n_clr != '0
                 && r_sa[1:0] == QS_GOT && r_sb[1:0] == QS_GOT && !hd_locked && !hd_fw;
  // The packet leaves CT_EXEC, and the head may enter, as its decision is
  // handed over or was: in S_OUT, or in S_WR as its last write is taken
  // (the clock S_OUT would have taken: a clock of every hit and insert,
  // issue 13). "Is handed now" is a free output entry (!o_full[OQ-1]) where
  // it was `hand`, whose o_fire is deeper than these registers.
  logic wr_last, wr_pop;
  assign wr_last = st == S_WR && wr_ret == S_OUT && ct_wr_ready;
  // (not the in-line NAT return entry's: its buckets are not the hazard
  // table's, so a queued packet with one learns of the write only as its
  // state goes stale, a clock late for a head taken now)
  assign wr_pop = wr_last && !phase_nat && (handed || (dfin && !o_full[OQ-1]));
  assign pop_x = (st == S_IDLE || (st == S_OUT && (handed || !o_full[OQ-1])) || wr_pop) && hd_ok;
`ifndef SYNTHESIS
  always_ff @(posedge clk)
    if (!rst && scrubbing != (st == S_SC_RD || st == S_SC_W || st == S_SC_CNT
                          || (st == S_WR && wr_ret == S_SC_CNT)))
      $error("lbnic_ct_engine: scrubbing apart from the FSM's scrubber states");
`endif
  assign pop_dir = scrubbing && hd_ok && hd_dir && o_room;
  assign pop = pop_x || pop_dir;
  // q_vf / q_rev / q_nrev at the next clock's hd: the entry after hd's on
  // a pop, else hd's; either the one taken now where it is that entry
  // (each choice made from registers, pop last: a LUT behind pop; the
  // 16:1 read of q_nrev at hd was in front of clr_ok)
  logic in_vf, in_rv, tk0, tk1;
  assign in_vf = in_meta.class_kind == lbnic_pipe_pkg::CLASS_VIP
                 || in_meta.class_kind == lbnic_pipe_pkg::CLASS_FRAGMENT;
  assign in_rv = in_meta.class_kind == lbnic_pipe_pkg::CLASS_REVERSE;
  logic tk2;
  assign tk0 = in_valid && in_ready && tl == hd;
  assign tk1 = in_valid && in_ready && tl == QB'(hd + 1'b1);
  assign tk2 = in_valid && in_ready && tl == QB'(hd + QB'(2));
  always_ff @(posedge clk) begin
    hd_vf <= pop ? (tk1 ? in_vf : q_vf[QB'(hd + 1'b1)]) : (tk0 ? in_vf : hd_vf);
    hd_rv <= pop ? (tk1 ? in_rv : q_rev[QB'(hd + 1'b1)]) : (tk0 ? in_rv : hd_rv);
    hd_nrev <= pop ? (tk1 ? in_need && in_rv : q_nrev[QB'(hd + 1'b1)])
                   : (tk0 ? in_need && in_rv : hd_nrev);
    // (and q_need at hd: its 16:1 read was 8 LUT levels into the
    // pre-match's read and the queue RAMs' read enable, stop 57)
    hd_need <= pop ? (tk1 ? in_need : q_need[QB'(hd + 1'b1)]) : (tk0 ? in_need : hd_need);
  end
`ifndef SYNTHESIS
  always_ff @(posedge clk)
    if (!rst && q_cnt != '0
        && (hd_vf != q_vf[hd] || hd_rv != q_rev[hd] || hd_nrev != q_nrev[hd]
            || hd_need != q_need[hd]))
      $error("lbnic_ct_engine: the head's class bits apart from q_vf / q_rev / q_nrev / q_need at hd");
`endif

  // VIP entries: the packet's slot, a hit's slot (zero past the table),
  // each read into a register as its slot is taken: the packet's at pop
  // (as its meta goes to m), the hit's with ct_match's result (as its slot
  // goes to r_hit_vip). One 256:1 read of 512-bit entries (~45k LUTs at
  // the default target) serves both (pop is in S_IDLE, S_OUT or S_WR, the
  // result in S_M_W), and the read and what is decided from the entry are
  // a clock apart (a combinational read behind the FSM's state was 17 LUT
  // levels). `vips` changes only at a commit, which drains the pipeline
  // first. A hit on the packet's own slot uses vip_slot (the same entry).
  // (st == S_M_W as a register, m_w: the state's decode in front of the
  // index was the read's eighth LUT level; S_M_W is entered from S_M_GO
  // and from S_DISP when the match started there, and left on mo_valid)
  lbnic_pkg::vip_t vip_rd;
  logic [15:0] vip_ix;
  logic m_w;
  assign vip_ix = m_w ? (pk_have ? pm_hit_vip : mo_hit_vip) : hd_meta.slot;
  lbnic_word_sel #(.W(VB), .N(MAX_VIPS), .IW(16)) u_vip (
      .words(vips), .index(vip_ix), .word(vip_rd)
  );
  always_ff @(posedge clk) begin
    m_w <= !rst && ((st == S_M_GO && !pm_go && !pm2_iss) || (st == S_M_W && !x_valid)
                    || (st == S_DISP && !x_dir && (d_go || pk_sel)
                        && !(cls != lbnic_pipe_pkg::CLASS_REVERSE && ct_host)));
    if (pop_x) vip_slot <= vip_rd;
    if (st == S_M_W && x_valid && mstep == MS_1) vip_hit <= vip_rd;
  end
`ifndef SYNTHESIS
  always_ff @(posedge clk)
    if (!rst && m_w != (st == S_M_W)) $error("lbnic_ct_engine: m_w apart from st == S_M_W");
`endif
  assign lx_mine = lx_valid && !pop && (lx_tag ? pk_lxf : lx_out == 3'd1 && lx_iss);

  // the hazard table: the first entry not cleared (ip = hd + n_clr, kept
  // in a register: a pop moves hd and n_clr and not it) against every
  // older entry (the cleared ones, the n_clr from the head: on the rotated
  // state) and the packet in CT_EXEC.
  logic clr_ok;
  logic [QB-1:0] ip;
  logic [BW-1:0] ea, eb;
  lbnic_word_sel #(.W(BW), .N(DEPTH), .IW(QB)) u_ea (.words(q_a), .index(ip), .word(ea));
  lbnic_word_sel #(.W(BW), .N(DEPTH), .IW(QB)) u_eb (.words(q_b), .index(ip), .word(eb));
  // Forwarding (spec §12.2 phase 5), FWK slots per side: an entry whose
  // candidates an older unfinished packet has among its buckets is
  // cleared, and reads them at once (a free slot of side g for side g:
  // fw_on, entry fw_e, bucket fw_bk; a side waits while its slots are all
  // taken). Every whole-bucket write of
  // that bucket taken meanwhile is kept (fw_data; CT_EXEC's, a posted
  // return entry's, CT_FLUSH's zeros) instead of making the read stale,
  // and when the youngest of those older packets (entry fw_src) leaves the
  // hazard table the kept bucket replaces the read's data once it is in
  // (fw_pend until then; the entry waits for it); with none kept the
  // read's data is the bucket.
  // Each entry's candidates against everything the hazard table checks,
  // for every entry at once and chosen by ip after (the 16:1 read of ip's
  // buckets in front of the compares was 9 LUT levels into clr_ok, issue
  // 13):
  // - e_lk*, e_lu* (and against the packet in CT_EXEC, exa_ip / exb_ip,
  //   below): against the units' locks, registers, each from both sides'
  //   next values (a lock changes only as its unit takes a command and
  //   ends as its write is taken, ex_a / ex_b only at pop_x, an entry's
  //   buckets only as it is taken).
  logic [DEPTH-1:0] e_lka, e_lkb;
  // - q_ysa / q_ysb and q_hqa / q_hqb (registered as entry i is taken):
  //   the youngest entry then queued that needs its buckets and has i's
  //   candidate A (B) among them (the nearest below tl: the highest index
  //   under tl, else the highest at or above it), and whether there is
  //   one; q_hq* is cleared when that entry leaves. When the hazard table
  //   reaches i every older entry still queued is cleared, and they leave
  //   in order, so q_hq* is whether a cleared entry has the candidate
  //   (qha) and q_ys* the youngest such (srca): a search of the cleared
  //   entries at ip was 9 LUT levels into fw_src and clr_ok.
  logic [DEPTH*QB-1:0] q_ysa, q_ysb;
  logic [DEPTH-1:0] q_hqa, q_hqb;
  logic in_hqa, in_hqb;
  logic [QB-1:0] in_ysa, in_ysb;
  always_comb begin
    logic [DEPTH-1:0] ya, yb, lt;
    for (int j = 0; j < DEPTH; j++) begin
      ya[j] = q_lv[j] && (BW'(in_meta.bucket_a) == q_a[BW*j +: BW]
                       || BW'(in_meta.bucket_a) == q_b[BW*j +: BW]);
      yb[j] = q_lv[j] && (BW'(in_meta.bucket_b) == q_a[BW*j +: BW]
                       || BW'(in_meta.bucket_b) == q_b[BW*j +: BW]);
      lt[j] = QB'(j) < tl;
    end
    in_ysa = '0;
    in_ysb = '0;
    for (int j = 0; j < DEPTH; j++) begin
      if (ya[j] && !lt[j]) in_ysa = QB'(j);
      if (yb[j] && !lt[j]) in_ysb = QB'(j);
    end
    for (int j = 0; j < DEPTH; j++) begin
      if (ya[j] && lt[j]) in_ysa = QB'(j);
      if (yb[j] && lt[j]) in_ysb = QB'(j);
    end
    in_hqa = |ya;
    in_hqb = |yb;
  end
  lbnic_word_sel #(.W(QB), .N(DEPTH), .IW(QB)) u_ysa (.words(q_ysa), .index(ip), .word(srca));
  lbnic_word_sel #(.W(QB), .N(DEPTH), .IW(QB)) u_ysb (.words(q_ysb), .index(ip), .word(srcb));
  logic [DEPTH*NRB-1:0] e_lua, e_lub;
  logic exa_ip, exb_ip;
  // (both outcomes compared, and the strobes that choose, pop_x, a
  // unit's command, the entry taken, last)
  function automatic logic eq2(input logic [BW-1:0] x, input logic [BW-1:0] y,
                               input logic [BW-1:0] z);
    eq2 = x == z || y == z;
  endfunction
  // (a unit's command locks ca and cb; the unit it goes to was idle, so
  // held nothing: the busy units' locks and the command's are ORed, the
  // command last, where choosing each unit's buckets by its command put
  // the hints RAM's output (S_NAT_HC's rm_cmd_valid) 8 LUT levels in
  // front of every entry's lock bits, issue 13)
  logic rm_post;
  assign rm_post = rm_cmd_valid && rm_free;
`ifndef SYNTHESIS
  always_ff @(posedge clk)
    for (int u = 0; u < NR; u++)
      if (!rst && r_cmd_ready[u] && r_busy[u]) $error("lbnic_ct_engine: unit %0d idle and busy", u);
`endif
  // x_q* at ip read a clock ahead (exa_ip / exb_ip): the next values at
  // ip and at ip + 1, chosen by whether clr_ok moved ip (ip_mv), where
  // their 16:1 read at ip was the eighth LUT level into fw_e, fw_bk and
  // the entries' read state (issue 13)
  logic [DEPTH-1:0] xh_a, xh_b, xe_a, xe_b;  // x_q*'s next value: on pop_x, else
  logic xp0a, xp1a, xp0b, xp1b, ip_mv;
  always_comb begin
    logic [BW-1:0] ia, ib;
    logic tk;
    ia = BW'(in_meta.bucket_a);
    ib = BW'(in_meta.bucket_b);
    for (int i = 0; i < DEPTH; i++) begin
      tk = in_valid && in_ready && tl == QB'(i);
      xh_a[i] = tk ? eq2(hd_a, hd_b, ia) : eq2(hd_a, hd_b, q_a[BW*i +: BW]);
      xe_a[i] = tk ? eq2(ex_a, ex_b, ia) : eq2(ex_a, ex_b, q_a[BW*i +: BW]);
      xh_b[i] = tk ? eq2(hd_a, hd_b, ib) : eq2(hd_a, hd_b, q_b[BW*i +: BW]);
      xe_b[i] = tk ? eq2(ex_a, ex_b, ib) : eq2(ex_a, ex_b, q_b[BW*i +: BW]);
    end
  end
  always_ff @(posedge clk) begin
    xp0a <= pop_x ? xh_a[ip] : xe_a[ip];
    xp1a <= pop_x ? xh_a[QB'(ip + 1'b1)] : xe_a[QB'(ip + 1'b1)];
    xp0b <= pop_x ? xh_b[ip] : xe_b[ip];
    xp1b <= pop_x ? xh_b[QB'(ip + 1'b1)] : xe_b[QB'(ip + 1'b1)];
    ip_mv <= clr_ok && !rst;
  end
  assign exa_ip = ip_mv ? xp1a : xp0a;
  assign exb_ip = ip_mv ? xp1b : xp0b;
  // The lock bits next clock (the lock rule on the units' next locks: the
  // busy ones but a write taken now, and a command posted now) of each
  // entry's buckets without the take (lk_na, lk_nb) and of the incoming
  // packet's (lk_nia, lk_nib): e_lk*'s, and lka / lkb's read ahead (below)
  logic [NR-1:0] lk_bz;
  logic [DEPTH-1:0] lk_na, lk_nb;
  logic lk_nia, lk_nib;
  always_comb begin
    lk_bz = r_busy & ~(r_wr_valid & r_wr_ready);
    lk_nia = (rm_post && eq2(ca, cb, BW'(in_meta.bucket_a)))
             || locked(BW'(in_meta.bucket_a), lk_bz, r_la, r_lb);
    lk_nib = (rm_post && eq2(ca, cb, BW'(in_meta.bucket_b)))
             || locked(BW'(in_meta.bucket_b), lk_bz, r_la, r_lb);
    for (int i = 0; i < DEPTH; i++) begin
      lk_na[i] = (rm_post && eq2(ca, cb, q_a[BW*i +: BW])) || locked(q_a[BW*i +: BW], lk_bz, r_la, r_lb);
      lk_nb[i] = (rm_post && eq2(ca, cb, q_b[BW*i +: BW])) || locked(q_b[BW*i +: BW], lk_bz, r_la, r_lb);
    end
  end
  always_ff @(posedge clk) begin
    logic [BW-1:0] ia, ib;
    logic tk, ka, kb;
    ia = BW'(in_meta.bucket_a);
    ib = BW'(in_meta.bucket_b);
    for (int i = 0; i < DEPTH; i++) begin
      tk = in_valid && in_ready && tl == QB'(i);
      e_lka[i] <= !rst && (tk ? lk_nia : lk_na[i]);
      e_lkb[i] <= !rst && (tk ? lk_nib : lk_nb[i]);
      // (the unit that holds it, where one does)
      e_lua[NRB*i +: NRB] <= '0;
      e_lub[NRB*i +: NRB] <= '0;
      for (int u = 0; u < NR; u++) begin
        ka = tk ? eq2(r_la[BW*u +: BW], r_lb[BW*u +: BW], ia)
                : eq2(r_la[BW*u +: BW], r_lb[BW*u +: BW], q_a[BW*i +: BW]);
        kb = tk ? eq2(r_la[BW*u +: BW], r_lb[BW*u +: BW], ib)
                : eq2(r_la[BW*u +: BW], r_lb[BW*u +: BW], q_b[BW*i +: BW]);
        if (lk_bz[u] && ka) e_lua[NRB*i +: NRB] <= NRB'(u);
        if (lk_bz[u] && kb) e_lub[NRB*i +: NRB] <= NRB'(u);
      end
      ka = tk ? eq2(ca, cb, ia) : eq2(ca, cb, q_a[BW*i +: BW]);
      kb = tk ? eq2(ca, cb, ib) : eq2(ca, cb, q_b[BW*i +: BW]);
      if (rm_post && ka) e_lua[NRB*i +: NRB] <= rm_post_u;
      if (rm_post && kb) e_lub[NRB*i +: NRB] <= rm_post_u;
    end
  end
  // The buckets of the entries at hd and hd + 1 (hd_a / hd_b, h1_a /
  // h1_b) kept in registers the same way, and the head's lock bits (e_lka
  // | e_lkb at hd: hd_lk) from the next head's buckets against the units'
  // next locks, compared for each way the head may move and chosen after,
  // pop last (the 16:1 read of the entries' hold bits at hd was 8 LUT
  // levels into pop, issue 13). An entry's buckets change only as it is
  // taken; a unit's lock as e_lka's (above).
  logic [BW-1:0] h1_a, h1_b;
  logic hd_lk;
  always_ff @(posedge clk) begin
    logic [BW-1:0] ia, ib;
    logic l0, l1;
    ia = BW'(in_meta.bucket_a);
    ib = BW'(in_meta.bucket_b);
    hd_a <= pop ? (tk1 ? ia : h1_a) : (tk0 ? ia : hd_a);
    hd_b <= pop ? (tk1 ? ib : h1_b) : (tk0 ? ib : hd_b);
    // (the entry at hd + 2 from the rotated state, word 2: an index add in
    // front of a read of q_a was 8 LUT levels)
    h1_a <= pop ? (tk2 ? ia : r_qa[BW*(2 % DEPTH) +: BW]) : (tk1 ? ia : h1_a);
    h1_b <= pop ? (tk2 ? ib : r_qb[BW*(2 % DEPTH) +: BW]) : (tk1 ? ib : h1_b);
    l0 = rm_post && (eq2(ca, cb, hd_a) || eq2(ca, cb, hd_b));
    l1 = rm_post && (eq2(ca, cb, h1_a) || eq2(ca, cb, h1_b));
    l0 = l0 || locked(hd_a, lk_bz, r_la, r_lb) || locked(hd_b, lk_bz, r_la, r_lb);
    l1 = l1 || locked(h1_a, lk_bz, r_la, r_lb) || locked(h1_b, lk_bz, r_la, r_lb);
    // (an entry taken now: the incoming packet's, as e_lk*'s)
    hd_lk <= !rst && (pop ? (tk1 ? lk_nia || lk_nib : l1) : (tk0 ? lk_nia || lk_nib : l0));
  end
`ifndef SYNTHESIS
  always_ff @(posedge clk)
    if (!rst && q_cnt != '0
        && (hd_a != q_a[BW*hd +: BW] || hd_b != q_b[BW*hd +: BW]
            || (q_cnt > QC'(1) && (h1_a != q_a[BW*QB'(hd + 1'b1) +: BW]
                                   || h1_b != q_b[BW*QB'(hd + 1'b1) +: BW]))
            || hd_lk != (e_lka[hd] || e_lkb[hd])))
      $error("lbnic_ct_engine: the head's buckets or lock apart from q_a / q_b / e_lk* at hd");
`endif
  // (a locked side of a packet that is not direct: the head waits)
  assign hd_locked = hd_lk && !hd_dir;
`ifndef SYNTHESIS
  always_ff @(posedge clk)
    if (!rst && hd_locked != (!hd_dir && (e_lka[hd] || e_lkb[hd])))
      $error("lbnic_ct_engine: the head's lock apart from hd_dir and its lock bits");
`endif
  // q_hq* at ip read a clock ahead (qha / qhb), as x_q* is (exa_ip): the
  // next values at ip and ip + 1 with the pop's clear applied last (hq0*,
  // hq1*), an entry taken at either in a register of its own (hqn*,
  // chosen by hn0 / hn1), the choice by ip_mv; the 16:1 read at ip was in
  // front of the clear and the slots' take, 9 LUT levels into q_nr1 at
  // e9daa0a (issue 13)
  logic hq0a, hq1a, hq0b, hq1b, hqna, hqnb, hn0, hn1;
  always_ff @(posedge clk) begin
    logic [QB-1:0] i1;
    logic enq;
    i1 = ip + 1'b1;
    enq = in_valid && in_ready;
    hq0a <= q_hqa[ip] && !(pop && hd == srca);
    hq1a <= q_hqa[i1] && !(pop && hd == q_ysa[QB*i1 +: QB]);
    hq0b <= q_hqb[ip] && !(pop && hd == srcb);
    hq1b <= q_hqb[i1] && !(pop && hd == q_ysb[QB*i1 +: QB]);
    hqna <= in_hqa && !(pop && hd == in_ysa);
    hqnb <= in_hqb && !(pop && hd == in_ysb);
    hn0 <= enq && tl == ip;
    hn1 <= enq && tl == i1;
  end
  assign qha = ip_mv ? (hn1 ? hqna : hq1a) : (hn0 ? hqna : hq0a);
  assign qhb = ip_mv ? (hn1 ? hqnb : hq1b) : (hn0 ? hqnb : hq0b);
`ifndef SYNTHESIS
  always_ff @(posedge clk)
    if (!rst && (qha != q_hqa[ip] || qhb != q_hqb[ip]))
      $error("lbnic_ct_engine: qha / qhb apart from q_hqa / q_hqb at ip");
`endif
  // e_lk* at ip read a clock ahead (lka / lkb), as q_hq* is (qha): each
  // entry's next lock bits without the take (the units' next locks, as
  // e_lk*'s), read at ip and ip + 1, an entry taken at either compared
  // in place of its read, the choice by ip_mv; the 16:1 read of e_lk* at
  // ip was in front of the clear and the slots' take, 8 LUT levels into
  // q_fka / q_fkb at the small target (stop 58)
  logic lk0a, lk1a, lk0b, lk1b;
  always_ff @(posedge clk) begin
    logic [QB-1:0] i1;
    logic enq;
    i1 = ip + 1'b1;
    enq = in_valid && in_ready;
    lk0a <= !rst && ((enq && tl == ip) ? lk_nia : lk_na[ip]);
    lk1a <= !rst && ((enq && tl == i1) ? lk_nia : lk_na[i1]);
    lk0b <= !rst && ((enq && tl == ip) ? lk_nib : lk_nb[ip]);
    lk1b <= !rst && ((enq && tl == i1) ? lk_nib : lk_nb[i1]);
  end
  assign lka = ip_mv ? lk1a : lk0a;
  assign lkb = ip_mv ? lk1b : lk0b;
`ifndef SYNTHESIS
  always_ff @(posedge clk)
    if (!rst && (lka != e_lka[ip] || lkb != e_lkb[ip]))
      $error("lbnic_ct_engine: lka / lkb apart from e_lka / e_lkb at ip");
`endif
  lbnic_word_sel #(.W(NRB), .N(DEPTH), .IW(QB)) u_lua (.words(e_lua), .index(ip), .word(lua));
  lbnic_word_sel #(.W(NRB), .N(DEPTH), .IW(QB)) u_lub (.words(e_lub), .index(ip), .word(lub));
  always_comb begin
    // (in S_OUT every write of the packet in CT_EXEC was taken, and in
    // S_NAT_HASH every write of its own buckets: it leaves the table there)
    exa = ex_busy && st != S_OUT && st != S_NAT_HASH && exa_ip;
    exb = ex_busy && st != S_OUT && st != S_NAT_HASH && exb_ip;
    // (whether a cleared entry has either candidate, qha / qhb, and the
    // youngest such, srca / srcb, as the entry was taken: q_hq*, q_ys*)
    ha = exa || qha;
    hb = exb || qhb;
    // (not as a source may leave by pop_dir: its slot would miss it; a
    // source needs its buckets, and the head that does and leaves by
    // pop_dir is a NAT reply taken before CT_HOST: that, from registers,
    // where pop_dir itself put hd_ok's 8 LUT levels in front of clr_ok)
    // A side a posted unit holds (locked) is forwarded from the unit's
    // write (its source the unit), unless an older packet has it too (then
    // the entry waits); not in a clock a unit's write is taken (the lock
    // then ends unseen; the next clock it is gone).
    // (each written from the terms, not from one another: clr_ok after
    // fw_clr and nr_now after both were LUT levels in series into every
    // entry's read state, issue 13)
    fw_any = ha || hb || lka || lkb;
    fw_ok = !(ha && lka) && !(hb && lkb)
            && !((ha || lka) && fw_full[0]) && !((hb || lkb) && fw_full[1])
            && !(scrubbing && ct_host && hd_nrev) && !((lka || lkb) && rm_wr_fire);
    fw_clr = q_need[ip] && fw_any && fw_ok;
    clr_ok = n_clr != q_cnt && (!q_need[ip] || !fw_any || fw_ok);
    nr_now = {n_clr != q_cnt && q_need[ip] && qhb && fw_ok,
              n_clr != q_cnt && q_need[ip] && qha && fw_ok};
  end
`ifndef SYNTHESIS
  always_ff @(posedge clk)
    if (!rst && (clr_ok != (n_clr != q_cnt && (!q_need[ip] || !fw_any || fw_clr))
                 || nr_now != {clr_ok && fw_clr && qhb, clr_ok && fw_clr && qha}))
      $error("lbnic_ct_engine: the hazard table's clear apart from its serial form");
`endif
`ifndef SYNTHESIS
  // the per-entry form against the compares of ip's buckets it replaced
  // (on the rotated state)
  always_ff @(posedge clk) begin
    logic oqa, oqb;
    logic [QB-1:0] osa, osb;
    oqa = 1'b0;
    oqb = 1'b0;
    osa = '0;
    osb = '0;
    for (int k = 0; k < DEPTH; k++) begin
      if (QC'(k) < n_clr && r_need[k]) begin
        if (r_qa[BW*k +: BW] == ea || r_qb[BW*k +: BW] == ea) begin
          oqa = 1'b1;
          osa = hd + QB'(k);
        end
        if (r_qa[BW*k +: BW] == eb || r_qb[BW*k +: BW] == eb) begin
          oqb = 1'b1;
          osb = hd + QB'(k);
        end
      end
      if (!rst && (e_lka[k] != locked(q_a[BW*k +: BW], r_busy, r_la, r_lb)
                   || e_lkb[k] != locked(q_b[BW*k +: BW], r_busy, r_la, r_lb)))
        $error("lbnic_ct_engine: an entry's lock bits apart from its buckets");
    end
    if (!rst && n_clr != q_cnt
        && (oqa != qha || oqb != qhb || (oqa && osa != srca) || (oqb && osb != srcb)
            || exa_ip != (ex_a == ea || ex_b == ea) || exb_ip != (ex_a == eb || ex_b == eb)
            || lka != locked(ea, r_busy, r_la, r_lb) || lkb != locked(eb, r_busy, r_la, r_lb)
            || lua != locker(ea, r_busy, r_la, r_lb) || lub != locker(eb, r_busy, r_la, r_lb)))
      $error("lbnic_ct_engine: the hazard table's rows apart from its compares");
    if (!rst && q_cnt != '0 && hd_dir != hd_dir_m)
      $error("lbnic_ct_engine: hd_dir apart from the head's class");
    // a head that needs its buckets leaves by pop_dir only as fw_clr's
    // stand-in for pop_dir says
    if (!rst && pop_dir && q_need[hd] && !(ct_host && hd_nrev))
      $error("lbnic_ct_engine: pop_dir of a head with buckets not a NAT reply under CT_HOST");
  end
`endif

  // the read to issue: the oldest cleared entry with a bucket to (re)read,
  // found on the queue's own order: the first such entry at or above hd
  // (q_ge), else the first below it. A rotation of the entries' state by
  // hd in front of the search and the found one-hot rotated back were four
  // of the eight LUT levels from an entry's read state into every entry's
  // next one and into ct_rd_* (issue 13). q_cl: the entry is cleared (one
  // of the n_clr from hd; set as the hazard table clears it, cleared at
  // its pop); q_ge: its index is at or above hd (set again as hd moves).
  // The entry's side is its own (B once A is read), so an entry's state
  // takes the issue by its bit of the one-hot (iss_oh) alone.
  logic [DEPTH-1:0] q_cl, q_ge;
  logic iss_ok, iss_b;
  logic [QB-1:0] iss_i;
  logic [DEPTH-1:0] iss_oh;
  logic [BW-1:0] iss_bucket;
  always_comb begin
    logic [DEPTH-1:0] c, h, ph, pc;
    logic [BW-1:0] bh, bl;
    logic [QB-1:0] ih, il;
    logic anyh, anyc, bbh, bbl;
    for (int i = 0; i < DEPTH; i++) begin
      c[i] = q_cl[i] && (q_sa[2*i +: 2] == QS_NEED || q_sb[2*i +: 2] == QS_NEED);
      h[i] = c[i] && q_ge[i];
    end
    // (an entry is first when none below it is a candidate: prefix ORs)
    anyh = 1'b0;
    anyc = 1'b0;
    for (int i = 0; i < DEPTH; i++) begin
      ph[i] = anyh;
      pc[i] = anyc;
      anyh = anyh || h[i];
      anyc = anyc || c[i];
    end
    // each search's entry, side and bucket by an AND-OR of its one-hot,
    // chosen after by anyh
    bh = '0;
    bl = '0;
    ih = '0;
    il = '0;
    bbh = 1'b0;
    bbl = 1'b0;
    for (int i = 0; i < DEPTH; i++) begin
      logic oh, ol, sb;
      logic [BW-1:0] cand;
      oh = h[i] && !ph[i];
      ol = c[i] && !pc[i];
      sb = q_sa[2*i +: 2] != QS_NEED;
      cand = sb ? q_b[BW*i +: BW] : q_a[BW*i +: BW];
      iss_oh[i] = anyh ? oh : ol;
      bh = bh | ({BW{oh}} & cand);
      bl = bl | ({BW{ol}} & cand);
      ih = ih | ({QB{oh}} & QB'(i));
      il = il | ({QB{ol}} & QB'(i));
      bbh = bbh || (oh && sb);
      bbl = bbl || (ol && sb);
    end
    iss_bucket = anyh ? bh : bl;
    iss_i = anyh ? ih : il;
    iss_b = anyh ? bbh : bbl;
    iss_ok = anyc && rd_out != RB'(MAX_RD);
  end
  always_ff @(posedge clk) begin
    for (int i = 0; i < DEPTH; i++) begin
      if (pop) q_ge[i] <= QB'(i) >= QB'(hd + 1'b1);
      if (clr_ok && ip == QB'(i)) q_cl[i] <= 1'b1;
      if (pop && hd == QB'(i)) q_cl[i] <= 1'b0;
      if (in_valid && in_ready && tl == QB'(i)) q_lv[i] <= in_need;
      if (pop && hd == QB'(i)) q_lv[i] <= 1'b0;
    end
    if (rst) begin
      q_ge <= '1;
      q_cl <= '0;
      q_lv <= '0;
    end
  end
`ifndef SYNTHESIS
  // against the search on the state rotated by hd that it replaced
  always_ff @(posedge clk) begin
    logic found, ob;
    logic [QB-1:0] oi;
    logic [BW-1:0] obk;
    found = 1'b0;
    ob = 1'b0;
    oi = '0;
    obk = '0;
    for (int k = 0; k < DEPTH; k++) begin
      if (!found && QC'(k) < n_clr
          && (r_sa[2*k +: 2] == QS_NEED || r_sb[2*k +: 2] == QS_NEED)) begin
        found = 1'b1;
        ob = r_sa[2*k +: 2] != QS_NEED;
        oi = hd + QB'(k);
        obk = ob ? r_qb[BW*k +: BW] : r_qa[BW*k +: BW];
      end
    end
    for (int i = 0; i < DEPTH; i++)
      if (!rst && (q_cl[i] != (QC'(QB'(QB'(i) - hd)) < n_clr) || q_ge[i] != (QB'(i) >= hd)))
        $error("lbnic_ct_engine: entry %0d's cleared or at-or-above-hd bit apart from hd, n_clr", i);
    for (int i = 0; i < DEPTH; i++)
      if (!rst && q_lv[i] != (QC'(QB'(QB'(i) - hd)) < q_cnt && q_need[i]))
        $error("lbnic_ct_engine: entry %0d's queued-and-needs bit apart from hd, q_cnt", i);
    if (!rst && (found != |iss_oh || iss_ok != (found && rd_out != RB'(MAX_RD))
                 || (found && (oi != iss_i || ob != iss_b || obk != iss_bucket
                               || iss_oh != (DEPTH'(1) << oi)))))
      $error("lbnic_ct_engine: the read issue apart from the rotated search");
  end
`endif

  logic iss_fire, rsp_q, wr_fire, sc_wr;
  assign iss_fire = iss_ok && !ex_rd && !rm_rd_valid && ct_rd_ready;
  assign rsp_q = ct_rsp_valid && (ct_rsp_tag & TAG_Q) != '0;
  assign wr_fire = ct_wr_valid && ct_wr_ready;
  assign sc_wr = wr_fire && st == S_WR && wr_ret == S_SC_CNT;
  // Each queued entry's buckets against each unit's locks, registered
  // (q_eaa: side a against lock a; q_eab: side a against lock b; q_eba,
  // q_ebb): a unit writes one of its locks, and its locks and an entry's
  // buckets stand still for clocks before any write (a unit takes its
  // command at least four clocks before `soon`), so the compare is made a
  // clock ahead, an entry enqueued now compared with its incoming buckets.
  // From a unit's state through the port's grant and a compare with its
  // bucket into the entries' states was 8 LUT levels on all 40 of the
  // deepest paths with four units (issue 13).
  logic [DEPTH*NR-1:0] q_eaa, q_eab, q_eba, q_ebb;
  always_ff @(posedge clk)
    for (int i = 0; i < DEPTH; i++) begin
      logic [BW-1:0] na, nb;
      na = (in_valid && in_ready && tl == QB'(i)) ? BW'(in_meta.bucket_a) : q_a[BW*i +: BW];
      nb = (in_valid && in_ready && tl == QB'(i)) ? BW'(in_meta.bucket_b) : q_b[BW*i +: BW];
      for (int u = 0; u < NR; u++) begin
        q_eaa[NR*i + u] <= na == r_la[BW*u +: BW];
        q_eab[NR*i + u] <= na == r_lb[BW*u +: BW];
        q_eba[NR*i + u] <= nb == r_la[BW*u +: BW];
        q_ebb[NR*i + u] <= nb == r_lb[BW*u +: BW];
      end
    end
`ifndef SYNTHESIS
  // (used only while a unit is about to write or writing: then exact)
  always_ff @(posedge clk)
    for (int i = 0; i < DEPTH; i++)
      for (int u = 0; u < NR; u++)
        if (!rst && (r_soon[u] || r_wr_valid[u])
            && (q_eaa[NR*i + u] != (q_a[BW*i +: BW] == r_la[BW*u +: BW])
                || q_eab[NR*i + u] != (q_a[BW*i +: BW] == r_lb[BW*u +: BW])
                || q_eba[NR*i + u] != (q_b[BW*i +: BW] == r_la[BW*u +: BW])
                || q_ebb[NR*i + u] != (q_b[BW*i +: BW] == r_lb[BW*u +: BW])))
          $error("lbnic_ct_engine: a registered lock compare apart from the locks");
`endif
  // Whether the write on the port now is of bucket x (port_wr_is), for
  // each queued entry's sides (q_wh_a, q_wh_b) and the forwarding slots
  // (g_fw): a unit's part (h) is each unit's compare chosen by the port's
  // one-hot grant; the choice of unit in front of one compare with the
  // port's bucket was 9 LUT levels into the entries' states with four
  // units (issue 13).
  // (A scrubber write, sc_wr, is CT_EXEC's own: w_bucket, w_mask.)
  function automatic logic port_wr_is(input logic [BW-1:0] x, input logic flush,
                                      input logic [BW-1:0] fl, input logic ex,
                                      input logic [BW-1:0] wb, input logic h);
    port_wr_is = flush ? fl == x : ex ? wb == x : h;
  endfunction
  // a unit's write (granted) of its lock a or b, from the compares with each
  function automatic logic unit_wr_is(input logic [NR-1:0] gnt, input logic [NR-1:0] wb,
                                      input logic [NR-1:0] la, input logic [NR-1:0] lb);
    unit_wr_is = |(gnt & ((wb & lb) | (~wb & la)));
  endfunction
  logic [DEPTH-1:0] q_wh_a, q_wh_b;
  for (genvar i = 0; i < DEPTH; i++) begin : g_wh
    assign q_wh_a[i] = port_wr_is(q_a[BW*i +: BW], st == S_FLUSH, fl_ptr, ex_wr, w_bucket,
                                  unit_wr_is(r_wr_gnt, r_wr_b, q_eaa[NR*i +: NR], q_eab[NR*i +: NR]));
    assign q_wh_b[i] = port_wr_is(q_b[BW*i +: BW], st == S_FLUSH, fl_ptr, ex_wr, w_bucket,
                                  unit_wr_is(r_wr_gnt, r_wr_b, q_eba[NR*i +: NR], q_ebb[NR*i +: NR]));
  end
`ifndef SYNTHESIS
  always_ff @(posedge clk)
    for (int i = 0; i < DEPTH; i++)
      if (!rst && wr_fire && (q_wh_a[i] != (q_a[BW*i +: BW] == BW'(ct_wr_bucket))
                              || q_wh_b[i] != (q_b[BW*i +: BW] == BW'(ct_wr_bucket))))
        $error("lbnic_ct_engine: q_wh apart from ct_wr_bucket's compare");
`endif
`ifndef SYNTHESIS
  // a head taken never has a bucket written in that clock (its data would
  // predate the write)
  always_ff @(posedge clk)
    if (!rst && pop_x && hd_need && wr_fire && ex_wr
        && (BW'(w_bucket) == hd_a || BW'(w_bucket) == hd_b))
      $error("lbnic_ct_engine: the head taken as one of its buckets is written");
`endif

  // The queued packets' bucket data: a RAM per side, written by the read
  // responses ({1, entry, side}), read at the head when it enters CT_EXEC
  // (pop), the data in S_DISP. In flip-flops, 2 x DEPTH buckets (131072 at
  // the default target) and their head multiplexer were most of the
  // engine's synthesis time and area.
  /* verilator lint_off UNUSEDSIGNAL */
  logic [BBITS-1:0] q_ra, q_rb;  // port A only writes
  /* verilator lint_on UNUSEDSIGNAL */
  logic rsp_qa, rsp_qb, fw_wa, fw_wb;
  assign rsp_qa = rsp_q && !ct_rsp_tag[0];
  assign rsp_qb = rsp_q && ct_rsp_tag[0];
  // fw_in: the forwarded side's read is in (its entry's side GOT), a
  // register per slot kept by the slot's events, where the 16:1 read of
  // the entries' states at fw_e was the deepest path into every entry's
  // state and the queue RAMs (9 LUT levels, stop 56). While a slot is on,
  // its entry's side only goes to GOT: by its read's response (fw_rf); a
  // write of the bucket keeps the side (the slot keeps the write), and a
  // cancel, a drop or the host's release let the slot go. Taken by the
  // hazard table's clear, the entry has issued no read (NEED, or OUT for a
  // side not read); armed for a unit's write, it is one that read the
  // bucket (GOT). Simulation checks it against the read.
`ifndef SYNTHESIS
  logic [DEPTH-1:0] e_gota, e_gotb;
  logic [FS-1:0] fw_in_rd;
  always_comb begin
    for (int i = 0; i < DEPTH; i++) begin
      e_gota[i] = q_sa[2*i +: 2] == QS_GOT;
      e_gotb[i] = q_sb[2*i +: 2] == QS_GOT;
    end
  end
  for (genvar t = 0; t < FS; t++) begin : g_fw_in
    lbnic_word_sel #(.W(1), .N(DEPTH), .IW(QB)) u_fw_in (
        .words(t / FWK == 1 ? e_gotb : e_gota), .index(fw_e[QB*t +: QB]), .word(fw_in_rd[t])
    );
  end
  always_ff @(posedge clk)
    for (int t = 0; t < FS; t++)
      if (!rst && fw_on[t] && fw_in[t] != fw_in_rd[t])
        $error("lbnic_ct_engine: slot %0d's fw_in apart from its entry's state", t);
`endif
  // the kept bucket into the entry's data, over its read's (not in a clock
  // that takes another write of the bucket: that one is kept, and goes in
  // the next), a slot a side a clock, the lowest; in the clock its entry's
  // read returns, in place of the read's data (fw_rf): a port the response
  // took was a clock of the entry's, where the cycle model's CT_EXEC reads
  // the bucket as its data is in (a packet read under a posted unit's lock,
  // nat-maglev-2M)
  logic [2*QB-1:0] fw_we;  // the entry and data of the side's write
  logic [2*BBITS-1:0] fw_wd;
  logic [FS-1:0] fw_rf;
  // The RAMs' write enables from the slots' terms (fw_pe: any slot's), not
  // through fw_w's order and response choice (with a response the port
  // writes anyway; without one a slot's write, else the unit slot's):
  // fw_in through fw_w was 9 LUT levels into the enable with fw_rf (stop 56)
  logic [1:0] fw_pe;
  for (genvar t = 0; t < FS; t++) begin : g_fw_rf
    assign fw_rf[t] = !fw_nr[t] && (t / FWK == 1 ? rsp_qb : rsp_qa)
                      && ct_rsp_tag[QB:1] == fw_e[QB*t +: QB];
  end
  always_comb begin
    for (int g = 0; g < 2; g++) begin
      logic any, ok;
      any = 1'b0;
      fw_we[QB*g +: QB] = '0;
      fw_wd[BBITS*g +: BBITS] = '0;
      for (int k = 0; k < FWK; k++) begin
        int t;
        t = FWK * g + k;
        // (with a response on the side's port only its entry's slot, at
        // most one, chosen last: inside each slot's term it was a ninth
        // LUT level from fw_in into the entries' state, stop 56)
        ok = fw_pend[t] && !fw_hit[t] && (fw_in[t] || fw_nr[t]);
        fw_w[t] = (g == 1 ? rsp_qb : rsp_qa) ? fw_pend[t] && !fw_hit[t] && fw_rf[t] : ok && !any;
        any = any || ok;
        // (one-hot: ORed)
        if (fw_w[t]) begin
          fw_we[QB*g +: QB] = fw_we[QB*g +: QB] | fw_e[QB*t +: QB];
          fw_wd[BBITS*g +: BBITS] = fw_wd[BBITS*g +: BBITS] | fw_data[BBITS*t +: BBITS];
        end
      end
      fw_pe[g] = any;
    end
  end
  assign fw_wa = |fw_w[FWK-1:0];
  assign fw_wb = |fw_w[FS-1:FWK];
`ifndef SYNTHESIS
  always_ff @(posedge clk)
    if (!rst && ((rsp_qa || fw_wa || us_w[0]) != (rsp_qa || us_pend[0] || fw_pe[0])
                 || (rsp_qb || fw_wb || us_w[1]) != (rsp_qb || us_pend[1] || fw_pe[1])))
      $error("lbnic_ct_engine: the queue RAMs' write enables apart from their writes");
`endif
  // (the unit slot's write after both: its entry waits for it)
  assign us_w[0] = us_pend[0] && !rsp_qa && !fw_wa;
  assign us_w[1] = us_pend[1] && !rsp_qb && !fw_wb;
  logic [QB-1:0] qa_wad, qb_wad;
  logic [BBITS-1:0] qa_wd, qb_wd;
  assign qa_wad = fw_wa ? fw_we[QB-1:0] : us_w[0] ? us_e[QB-1:0] : ct_rsp_tag[QB:1];
  assign qb_wad = fw_wb ? fw_we[2*QB-1:QB] : us_w[1] ? us_e[2*QB-1:QB] : ct_rsp_tag[QB:1];
  assign qa_wd = fw_wa ? fw_wd[BBITS-1:0] : us_w[0] ? us_data[BBITS-1:0] : ct_rsp_data;
  assign qb_wd = fw_wb ? fw_wd[2*BBITS-1:BBITS] : us_w[1] ? us_data[2*BBITS-1:BBITS] : ct_rsp_data;
  lbnic_ram #(.WIDTH(BBITS), .DEPTH(DEPTH), .AW(QB), .A_READ(1'b0)) u_qa (
      .clk,
      .a_en(rsp_qa || us_pend[0] || fw_pe[0]), .a_we(1'b1), .a_addr(qa_wad),
      .a_wdata(qa_wd), .a_rdata(q_ra),
      .b_en(pop || pm_rd || pm2_rd), .b_addr(pm2_rd ? QB'(hd + 1'b1) : hd), .b_rdata(hd_da)
  );
  lbnic_ram #(.WIDTH(BBITS), .DEPTH(DEPTH), .AW(QB), .A_READ(1'b0)) u_qb (
      .clk,
      .a_en(rsp_qb || us_pend[1] || fw_pe[1]), .a_we(1'b1), .a_addr(qb_wad),
      .a_wdata(qb_wd), .a_rdata(q_rb),
      .b_en(pop || pm_rd || pm2_rd), .b_addr(pm2_rd ? QB'(hd + 1'b1) : hd), .b_rdata(hd_db)
  );
  // a whole-bucket write of the forwarded bucket (not the scrubber's), the
  // source packet leaving the hazard table, the host's release
  // (as its last write is taken, which a pop from S_WR needs; then again
  // in S_OUT without one, which no slot waits for by then)
  assign ex_end = ex_busy && ((st == S_OUT && (handed || hand)) || st == S_NAT_HASH || wr_last);
  for (genvar t = 0; t < FS; t++) begin : g_fw
    // (ct_wr_bucket's sources each compared, chosen after: the port's
    // choice of unit in front of the compare was 8 levels into the queue
    // RAM's write)
    logic hs;
    logic [NR-1:0] fu;
    for (genvar u = 0; u < NR; u++) begin : g_u
      assign fu[u] = fw_bk[BW*t +: BW] == r_wr_bucket[BW*u +: BW];
    end
    assign hs = port_wr_is(fw_bk[BW*t +: BW], st == S_FLUSH, fl_ptr, ex_wr, w_bucket,
                           |(r_wr_gnt & fu));
    assign fw_hit[t] = fw_on[t] && wr_fire && !sc_wr && hs;
`ifndef SYNTHESIS
    always_ff @(posedge clk)
      if (!rst && wr_fire && hs != (BW'(ct_wr_bucket) == fw_bk[BW*t +: BW]))
        $error("lbnic_ct_engine: fw_hit's compare apart from ct_wr_bucket's");
`endif
    // (a source that left without entering CT_EXEC touched nothing)
    assign fw_done[t] = fw_on[t] && !fw_pend[t]
                        && (fw_u[t] ? r_wr_valid[fw_uid[NRB*t +: NRB]] && r_wr_ready[fw_uid[NRB*t +: NRB]]
                            : ((ex_end && ex_id == fw_src[QB*t +: QB])
                               || (pop_dir && hd == fw_src[QB*t +: QB]) || fw_lft[t]));
    // done with nothing kept: the read's data stands; the host's release
    // or a scrubber write (it zeroes ways): the side is read again, as any
    // side would be
    assign fw_drop[t] = fw_done[t] && !fw_got[t] && !fw_hit[t] && !fw_nr[t];
    // (fw_take spelled out rather than from fw_done, whose pop_dir term
    // was a ninth LUT level into fw_data's enable; fw_fb acts a clock
    // later, fw_redo, for the same reason into the entry's state)
    assign fw_take[t] = fw_on[t] && !fw_pend[t] && fw_nr[t] && !fw_redo[t] && !fw_u[t]
                        && !fw_got[t] && !fw_hit[t] && ex_end && ex_id == fw_src[QB*t +: QB];
    assign fw_fb[t] = fw_done[t] && !fw_got[t] && !fw_hit[t] && fw_nr[t] && !fw_redo[t] && !fw_take[t];
    assign fw_cancel[t] = fw_on[t] && ((host_q && !ct_host)
                                       || (sc_wr && BW'(ct_wr_bucket) == fw_bk[BW*t +: BW]));
  end
  for (genvar g = 0; g < 2; g++) begin : g_us
    // the unit slot: the unit's write is the bucket's (nothing else writes
    // a locked bucket), kept until the entry's data can be replaced
    logic [NR-1:0] ufu;
    for (genvar u = 0; u < NR; u++) begin : g_uu
      assign ufu[u] = us_bk[BW*g +: BW] == r_wr_bucket[BW*u +: BW];
    end
    assign us_hit[g] = us_on[g] && !us_pend[g] && wr_fire && !sc_wr
                       && port_wr_is(us_bk[BW*g +: BW], st == S_FLUSH, fl_ptr, ex_wr, w_bucket,
                                     |(r_wr_gnt & ufu));
    assign us_cancel[g] = us_on[g] && ((host_q && !ct_host)
                                       || (sc_wr && BW'(ct_wr_bucket) == us_bk[BW*g +: BW]));
  end
  // Forwarding from the posted units (spec §12.3 decision 5): a unit's
  // write is the whole bucket as it then is (the unit read it after taking
  // its lock, and nothing else writes a locked bucket). A queued entry
  // whose side a unit holds as the hazard table reaches it is cleared with
  // that side's slot sourced from the unit (above: fw_u). One that read
  // the bucket before the unit took it (GOT) gets the same slot the clock
  // before the unit's write can be taken (uf_arm: as its way is decided,
  // `soon`, or while it waits for the port), and takes the write instead
  // of reading again: a NAT flow's reply, queued while the flow's return
  // entry was being posted, went a memory latency late. One entry per side
  // (the first in the queue's RAM order, not one a slot of the side
  // holds), in the side's highest free slot unless the hazard table takes
  // that one in the clock; when every slot of the side is taken, in the
  // unit slot (us_arm, us_*); another such entry reads again as before.
  logic [1:0] uf_arm, us_arm;
  logic [1:0] ix_go;  // CT_EXEC's in-line write into the unit slot (below)
  logic [2*QB-1:0] uf_e;
  // The entry q_fka / q_fkb take at the arming (one-hot: the chosen unit
  // and lock side's first entry, not in a slot), with the arming's terms
  // but `any` (fw_us): uf_e's encode compared per entry, behind `any`, was
  // 8 LUT levels from a unit's match into those registers (stop 57)
  logic [2*DEPTH-1:0] uf_set;
  logic [1:0] uf_ok;  // the arming's terms but `any` (uf_arm, fw_us)
  logic uf_on;
  logic [NRB-1:0] uf_u;
  logic [BW-1:0] uf_bk;
  always_comb begin
    // the unit: the first whose write comes next clock (soon), or that
    // waits to write and is not taken now
    // (each entry is compared with every unit's two locks, a clock ahead:
    // q_eaa..q_ebb; the side and the unit are chosen after the first entry
    // is found: the bucket a unit writes is one of its locks; a compare
    // with the chosen bucket was 9 LUT levels, issue 13)
    logic [NR-1:0] uf_sel, uf_bside;
    uf_on = 1'b0;
    uf_u = '0;
    uf_bk = '0;
    uf_sel = '0;
    for (int u = NR - 1; u >= 0; u--) begin
      uf_bside[u] = r_soon[u] ? r_soon_b[u] : r_wr_b[u];
      if (r_soon[u] || (r_wr_valid[u] && !r_wr_ready[u])) begin
        uf_on = 1'b1;
        uf_u = NRB'(u);
        uf_bk = uf_bside[u] ? r_lb[BW*u +: BW] : r_la[BW*u +: BW];
        uf_sel = NR'(1) << u;
      end
    end
    // the first entry for every unit and lock side, chosen after by the
    // unit and its side (they come from the match's outcome)
    uf_e = '0;
    uf_set = '0;
    for (int g = 0; g < 2; g++) begin
      logic any;
      any = 1'b0;
      for (int u = 0; u < NR; u++) begin
        for (int l = 0; l < 2; l++) begin
          logic f, fin;
          logic [QB-1:0] fe;
          logic [DEPTH-1:0] foh;
          f = 1'b0;
          fin = 1'b0;
          fe = '0;
          foh = '0;
          for (int i = 0; i < DEPTH; i++) begin
            logic [1:0] sv;
            sv = g == 1 ? q_sb[2*i +: 2] : q_sa[2*i +: 2];
            if (!f && q_lv[i] && sv == QS_GOT
                && (g == 1 ? (l == 1 ? q_ebb[NR*i + u] : q_eba[NR*i + u])
                           : (l == 1 ? q_eab[NR*i + u] : q_eaa[NR*i + u]))) begin
              f = 1'b1;
              fe = QB'(i);
              foh[i] = 1'b1;
              fin = g == 1 ? |q_fkb[FWK*i +: FWK] : |q_fka[FWK*i +: FWK];
            end
          end
          // (not an entry a slot of the side holds: that slot keeps the
          // write; found with the entry, where a compare of the chosen entry
          // with every slot's was the engine's eighth LUT level, stop 53)
          if (uf_sel[u] && uf_bside[u] == (l == 1)) begin
            any = f && !fin;
            uf_e[QB*g +: QB] = fe;
            if (!fin) uf_set[DEPTH*g +: DEPTH] = foh;
          end
        end
      end
      uf_ok[g] = uf_on && !fw_full[g] && !(host_q && !ct_host);
      uf_arm[g] = any && uf_ok[g];
      us_arm[g] = any && uf_on && fw_full[g] && !us_on[g] && !(host_q && !ct_host) && !ix_go[g];
    end
  end
  // CT_EXEC's own writes of a NAT return entry inserted in line (spec §12.3
  // decision 13): its candidates are not the hazard table's, so an entry
  // may have read one (GOT). The first such entry a side, not in a slot,
  // takes the write through the side's unit slot, armed with the write's
  // data as it is taken (ix_go; the entry OUT until the slot writes it),
  // instead of reading the bucket again a memory latency later, as the
  // cycle model's packet takes a posted update's write. With the unit slot
  // taken, or another such entry, it reads again as before.
  logic [2*DEPTH-1:0] ix_set;
  logic [2*QB-1:0] ix_e;
  always_comb begin
    for (int g = 0; g < 2; g++) begin
      logic any, ok;
      ok = wr_fire && st == S_WR && phase_nat && !us_on[g] && !(host_q && !ct_host);
      any = 1'b0;
      ix_e[QB*g +: QB] = '0;
      ix_set[DEPTH*g +: DEPTH] = '0;
      for (int i = 0; i < DEPTH; i++) begin
        if (!any && q_lv[i] && (g == 1 ? q_sb[2*i +: 2] : q_sa[2*i +: 2]) == QS_GOT
            && (g == 1 ? q_wh_b[i] && q_fkb[FWK*i +: FWK] == '0
                       : q_wh_a[i] && q_fka[FWK*i +: FWK] == '0)) begin
          any = 1'b1;
          ix_e[QB*g +: QB] = QB'(i);
          ix_set[DEPTH*g + i] = ok;
        end
      end
      ix_go[g] = any && ok;
    end
  end
`ifndef SYNTHESIS
  always_ff @(posedge clk)
    for (int t = 0; t < FS; t++)
      for (int i = 0; i < DEPTH; i++)
        if (!rst && (fw_us[t] && uf_set[DEPTH*(t/FWK) + i])
                    != (fw_ua[t] && uf_e[QB*(t/FWK) +: QB] == QB'(i)))
          $error("lbnic_ct_engine: the arming's entry in q_fk apart from fw_ua / uf_e");
`endif
  // the hazard table's clear takes the side's lowest free slot; the unit's
  // arming its highest, unless that is the same one
  always_comb
    for (int t = 0; t < FS; t++) begin
      fw_tc[t] = clr_ok && fw_clr && (t / FWK == 1 ? hb || lkb : ha || lka) && fw_ck[t];
      fw_ua[t] = !fw_tc[t] && uf_arm[t/FWK] && fw_uk[t];
      fw_us[t] = !fw_tc[t] && uf_ok[t/FWK] && fw_uk[t];
      fw_rel[t] = fw_w[t] || fw_cancel[t] || fw_drop[t] || fw_redo[t];
    end

  always_ff @(posedge clk) begin
    logic enq;
    enq = in_valid && in_ready;
    if (enq) tl <= tl + 1'b1;
    for (int i = 0; i < DEPTH; i++) begin
      // the youngest older entry with a candidate leaving (above)
      if (pop && hd == q_ysa[QB*i +: QB]) q_hqa[i] <= 1'b0;
      if (pop && hd == q_ysb[QB*i +: QB]) q_hqb[i] <= 1'b0;
      if (enq && tl == QB'(i)) begin
        q_meta[MB*i +: MB] <= in_meta;
        q_parsed[PB*i +: PB] <= in_parsed;
        q_a[BW*i +: BW] <= BW'(in_meta.bucket_a);
        q_b[BW*i +: BW] <= BW'(in_meta.bucket_b);
        q_need[i] <= in_need;
        q_rev[i] <= in_rv;
        q_nrev[i] <= in_need && in_rv;
        q_vf[i] <= in_vf;
        q_ysa[QB*i +: QB] <= in_ysa;
        q_ysb[QB*i +: QB] <= in_ysb;
        q_hqa[i] <= in_hqa && !(pop && hd == in_ysa);
        q_hqb[i] <= in_hqb && !(pop && hd == in_ysb);
      end
    end
    for (int i = 0; i < DEPTH; i++) begin
      if (clr_ok && QB'(i) == ip) q_nr1[i] <= |nr_now;
      if ((rsp_q && ct_rsp_tag[QB:1] == QB'(i)) || (enq && QB'(i) == tl)) begin
        q_nl[i] <= 1'b0;
        q_ul[i] <= 1'b0;
      end
      for (int sd = 0; sd < 2; sd++) begin
        logic [1:0] s;
        logic wh;
        logic [WAYS-1:0] z;
        logic z0;  // z is zero (q_z0a / q_z0b)
        logic iss_now;
        logic fws;  // the side a slot of its side forwards
        logic fnr, fwr, frd, fcn, fun;  // that slot's fw_nr, fw_w, fw_redo, fw_cancel, fw_u
        logic usd;  // the side the unit slot stands in for
        logic fwd;  // either
        s = sd == 1 ? q_sb[2*i +: 2] : q_sa[2*i +: 2];
        wh = sd == 1 ? q_wh_b[i] : q_wh_a[i];
        z = sd == 1 ? q_zb[WAYS*i +: WAYS] : q_za[WAYS*i +: WAYS];
        z0 = sd == 1 ? q_z0b[i] : q_z0a[i];
        iss_now = iss_fire && iss_oh[i] && (q_sa[2*i +: 2] != QS_NEED) == (sd == 1);
        fws = 1'b0;
        fnr = 1'b0;
        fwr = 1'b0;
        frd = 1'b0;
        fcn = 1'b0;
        fun = 1'b0;
        for (int k = 0; k < FWK; k++)
          if (sd == 1 ? q_fkb[FWK*i + k] : q_fka[FWK*i + k]) begin
            fws = 1'b1;
            fnr = fw_nr[FWK*sd + k];
            fwr = fw_w[FWK*sd + k];
            frd = fw_redo[FWK*sd + k];
            fcn = fw_cancel[FWK*sd + k];
            fun = fw_u[FWK*sd + k];
          end
        usd = us_on[sd] && us_e[QB*sd +: QB] == QB'(i);
        fwd = fws || usd;
        if (enq && QB'(i) == tl) s = in_need ? QS_NEED : QS_GOT;
        if (iss_now) s = QS_OUT;
        if (rsp_q && ct_rsp_tag[QB:1] == QB'(i) && ct_rsp_tag[0] == (sd == 1))
          s = (s == QS_STALE) ? QS_NEED : QS_GOT;
        // the scrubber's write zeroes ways: they are kept for what the entry
        // read (or is reading) before it, and zeroed in the data as it enters
        // CT_EXEC; a read issued later sees them in memory, a fresh entry has
        // read nothing (zeroing a way twice changes nothing)
        if (iss_now) z = '0;
        if (iss_now) z0 = 1'b1;
        // (a forwarded bucket replacing the data is the bucket as it now
        // is, the scrubber's zeroes in it: a unit's forward can reach an
        // entry read during a scrubber visit)
        if (fwr) z = '0;
        if (usd && us_w[sd]) z = '0;
        if ((usd && us_w[sd]) || (fwr && fun)) q_ul[i] <= 1'b1;
        if (fwr || (usd && us_w[sd])) z0 = 1'b1;
        if (sc_wr && wh && (s == QS_OUT || s == QS_GOT)) z = z | w_mask;
        if (sc_wr && wh && (s == QS_OUT || s == QS_GOT) && w_mask != '0) z0 = 1'b0;
        if (enq && QB'(i) == tl) z = '0;
        if (enq && QB'(i) == tl) z0 = 1'b1;
        // any other write taken now is applied before any read taken later:
        // what was read (or is being read) of its bucket is old
        // (and CT_HOST's release: the host may have written the table)
        // (a forwarded side keeps the write instead; read again when that
        // is cancelled)
        if (((wr_fire && !sc_wr && wh && !fwd) || (host_q && !ct_host)
             || (fws && fcn))
            && !(enq && QB'(i) == tl))
          s = (s == QS_GOT) ? QS_NEED : (s == QS_OUT) ? QS_STALE : s;
        // (or takes CT_EXEC's in-line write through the unit slot: OUT)
        if (ix_set[DEPTH*sd + i]) s = QS_OUT;
        // a side forwarded without a read: OUT while its slot stands in
        // for the read, GOT as the slot writes its data, NEED (read it)
        // when the slot cannot give it
        if (fws && fnr) begin
          if (fwr) begin
            s = QS_GOT;
            q_nl[i] <= 1'b1;
          end
          if (frd || fcn) begin
            s = QS_NEED;
            q_nr1[i] <= 1'b0;
          end
        end
        // the unit slot: OUT from the clock after its arming (from the
        // slot's registers: the arming's search in front of every entry's
        // state put 39 of the engine's 40 deepest endpoints at 8 LUT
        // levels; the entry, GOT until then, cannot be taken, its bucket
        // locked until the clock after the unit's write), GOT as the slot
        // writes the unit's data, NEED when cancelled
        if (usd) s = us_cancel[sd] ? QS_NEED : us_w[sd] ? QS_GOT : QS_OUT;
        // (last: nothing above applies to the entry being cleared, and
        // clr_ok is deep)
        if (nr_now[sd] && QB'(i) == ip) s = QS_OUT;
        if (sd == 1) begin
          q_sb[2*i +: 2] <= s;
          q_zb[WAYS*i +: WAYS] <= z;
          q_z0b[i] <= z0;
        end else begin
          q_sa[2*i +: 2] <= s;
          q_za[WAYS*i +: WAYS] <= z;
          q_z0a[i] <= z0;
        end
      end
    end
    for (int t = 0; t < FS; t++) begin
      logic g, tc;
      g = t / FWK == 1;
      tc = fw_tc[t];
      for (int i = 0; i < DEPTH; i++) begin
        logic b;
        b = g ? q_fkb[FWK*i + t % FWK] : q_fka[FWK*i + t % FWK];
        if ((tc && ip == QB'(i)) || (fw_us[t] && uf_set[DEPTH*g + i])) b = 1'b1;
        if (fw_rel[t]) b = 1'b0;
        if (g) q_fkb[FWK*i + t % FWK] <= b;
        else q_fka[FWK*i + t % FWK] <= b;
      end
      if (tc) begin
        fw_on[t] <= 1'b1;
        fw_got[t] <= 1'b0;
        fw_nr[t] <= nr_now[g];
        fw_e[QB*t +: QB] <= ip;
        fw_bk[BW*t +: BW] <= g ? eb : ea;
        // the youngest older packet with the bucket: a queued one, else
        // the one in CT_EXEC
        fw_src[QB*t +: QB] <= g ? (qhb ? srcb : ex_id) : (qha ? srca : ex_id);
        fw_u[t] <= g ? lkb : lka;
        fw_uid[NRB*t +: NRB] <= g ? lub : lua;
      end else if (fw_us[t]) begin
        // (the entry, bucket and unit also where `any` is false: the slot
        // stays off then, and an off slot's are read by none; `any` in
        // their enable was 8 LUT levels from a unit's match, stop 57)
        fw_e[QB*t +: QB] <= uf_e[QB*g +: QB];
        fw_bk[BW*t +: BW] <= uf_bk;
        fw_uid[NRB*t +: NRB] <= uf_u;
        if (fw_ua[t]) begin
          fw_on[t] <= 1'b1;
          fw_got[t] <= 1'b0;
          fw_u[t] <= 1'b1;
          fw_nr[t] <= 1'b0;
        end
      end
      if (tc) fw_in[t] <= 1'b0;
      else if (fw_ua[t] || fw_rf[t]) fw_in[t] <= 1'b1;
      if (fw_hit[t]) begin
        fw_got[t] <= 1'b1;
        fw_data[BBITS*t +: BBITS] <= ct_wr_data;
      end
      if (fw_done[t] && (fw_got[t] || fw_hit[t]) && !(host_q && !ct_host)) fw_pend[t] <= 1'b1;
      // the source's own data of the bucket (it wrote none of it)
      if (fw_take[t] && !(host_q && !ct_host)) begin
        fw_pend[t] <= 1'b1;
        fw_data[BBITS*t +: BBITS] <= (fw_bk[BW*t +: BW] == ex_a) ? da : db;
      end
      fw_redo[t] <= fw_fb[t];
      fw_lft[t] <= tc && ex_end && (g ? exb && !qhb && !lkb : exa && !qha && !lka);
      if (fw_rel[t]) begin
        fw_on[t] <= 1'b0;
        fw_pend[t] <= 1'b0;
        fw_redo[t] <= 1'b0;
      end
    end
    for (int g = 0; g < 2; g++) begin
      if (us_arm[g]) begin
        us_on[g] <= 1'b1;
        us_e[QB*g +: QB] <= uf_e[QB*g +: QB];
        us_bk[BW*g +: BW] <= uf_bk;
      end
      if (ix_go[g]) begin
        us_on[g] <= 1'b1;
        us_pend[g] <= 1'b1;
        us_e[QB*g +: QB] <= ix_e[QB*g +: QB];
        us_bk[BW*g +: BW] <= BW'(w_bucket);
        us_data[BBITS*g +: BBITS] <= ct_wr_data;
      end
      if (us_hit[g] && !(host_q && !ct_host)) begin
        us_pend[g] <= 1'b1;
        us_data[BBITS*g +: BBITS] <= ct_wr_data;
      end
      if (us_w[g] || us_cancel[g]) begin
        us_on[g] <= 1'b0;
        us_pend[g] <= 1'b0;
      end
    end
    if (pop_x) ex_id <= hd;
    if (pop) hd <= hd + 1'b1;
    if (clr_ok) ip <= ip + 1'b1;
    // (each count's three next values chosen by the strobes, late ones
    // last, where the add of clr_ok and pop was a carry chain behind them)
    q_cnt <= (enq == pop) ? q_cnt : enq ? q_cnt + 1'b1 : q_cnt - 1'b1;
    n_clr <= (clr_ok == pop) ? n_clr : clr_ok ? n_clr + 1'b1 : n_clr - 1'b1;
    rd_out <= rd_out + RB'(iss_fire) - RB'(rsp_q);
    if (rst) begin
      hd <= '0;
      tl <= '0;
      q_cnt <= '0;
      n_clr <= '0;
      ip <= '0;
      rd_out <= '0;
      fw_on <= '0;
      fw_pend <= '0;
      q_fka <= '0;
      q_fkb <= '0;
      us_on <= '0;
      us_pend <= '0;
      fw_lft <= '0;
      fw_redo <= '0;
    end
  end

`ifndef SYNTHESIS
  // the unit slot's entry is OUT from the clock after its arming until
  // the slot writes its data (its lock keeps it from being taken before)
  logic [1:0] us_on_q;
  always_ff @(posedge clk) begin
    us_on_q <= us_on & ~(us_w | us_cancel);
    for (int g = 0; g < 2; g++)
      if (!rst && us_on[g] && us_on_q[g]
          && (g == 1 ? q_sb[2*us_e[QB*g +: QB] +: 2] : q_sa[2*us_e[QB*g +: QB] +: 2]) != QS_OUT)
        $error("lbnic_ct_engine: the unit slot's entry is not OUT");
  end
`endif

  // ------------------------------------------------------------ pre-match
  // The head's pre-match (pm, above). It starts where the head could enter
  // CT_EXEC but the packet there has not left (hd_ok, not pop), and needs
  // its buckets (as d_go would, without zeroes from the scrubber): its data
  // is what the pop would read, as long as the head stays ready (pm_keep: a
  // write of one of its buckets makes it stale a clock later, and no head
  // is taken in the clock a write of its bucket is, a check above; a
  // posted unit's lock, a forwarding slot, a scrubber's zeroes and CT_HOST
  // make it not ready). Issued the clock after its read (pm_iss, a
  // register: it chooses u_match's inputs); S_M_GO waits that clock, and
  // d_go cannot come then (it follows a pop).
  assign pm_keep = hd_ok && !ct_host && hd_z0;
  // (a head with zeroes is dropped the clock after: their read in front of
  // the queue RAM's enable was 8 LUT levels)
  // (a tag for a new pre-match: not in flight, not the other's)
  always_comb begin
    pm_nok = 1'b0;
    pm_nid = 2'd1;
    pm2_nok = 1'b0;
    pm2_nid = 2'd1;
    for (int k = 3; k >= 1; k--) begin
      if (!pm_fl[k] && !(pm2 != PM_OFF && pm2_id == 2'(k))) begin
        pm_nok = 1'b1;
        pm_nid = 2'(k);
      end
      if (!pm_fl[k] && !(pm != PM_OFF && pm_id == 2'(k))) begin
        pm2_nok = 1'b1;
        pm2_nid = 2'(k);
      end
    end
  end
  assign pm_rd = pm == PM_OFF && (pm2_adopt || pm_nok) && !pm_iss && !pop && hd_ok && !ct_host
                 && hd_need && !hd_dir;
  // the next head's (pm2): ready as the head would be (hazard table
  // cleared, both sides read, not locked, in no forwarding slot, no
  // scrubber zeroes), needing its buckets, in a clock the queue RAM's read
  // port is free (no pop, no head's pre-match read)
  logic [PQB-1:0] h1;
  logic h1_fw, h1_lk;
  assign h1 = QB'(hd + 1'b1);
  always_comb begin
    h1_fw = 1'b0;
    for (int t = 0; t < FS; t++) if (fw_on[t] && fw_e[QB*t +: QB] == h1) h1_fw = 1'b1;
  end
  assign h1_lk = e_lka[h1] || e_lkb[h1];
  assign h1_ok = !hc_pend && !flush_pend && !href_pend && n_clr >= QC'(2)
                 && r_sa[3:2] == QS_GOT && r_sb[3:2] == QS_GOT && !h1_lk && !h1_fw
                 && q_need[h1] && bank_valid && (q_vf[h1] || (q_rev[h1] && !ct_host)) && q_z0[h1];
  assign pm2_rd = pm2 == PM_OFF && pm2_nok && !pm2_iss && !pop && !pm_rd && h1_ok && !ct_host
                  && !clear;
  // (a queue RAM write of pm2_e's entry: its data is not what was
  // matched. None comes while the entry is ready, so none in the clock
  // of its read or of the head's pm_rd: checks below; pm2_dirty takes
  // it a clock later.)
  assign pm2_wr = ((rsp_qa || us_pend[0] || fw_pe[0]) && qa_wad == pm2_e)
                  || ((rsp_qb || us_pend[1] || fw_pe[1]) && qb_wad == pm2_e);
  assign pm2_adopt = pm2 != PM_OFF && pm2_e == hd && !pm2_dirty && hd_z0;
  // (the head's match issued: not where its pm_rd took over pm2's)
  assign pm_go = pm_iss && !pm_ad;
`ifndef SYNTHESIS
  always_ff @(posedge clk) begin
    if (!rst && pm2_rd && (((rsp_qa || us_pend[0] || fw_pe[0]) && qa_wad == h1)
                           || ((rsp_qb || us_pend[1] || fw_pe[1]) && qb_wad == h1)))
      $error("lbnic_ct_engine: the next head's pre-match read in a write of its entry");
    if (!rst && pm_rd && pm2_adopt && pm2_wr)
      $error("lbnic_ct_engine: a pre-match taken over in a write of its entry");
  end
`endif
  // the next head's key and the rest, as g_* are the head's
  /* verilator lint_off UNUSEDSIGNAL */  // (the fields the match takes)
  lbnic_pipe_pkg::meta_t h1_meta;
  /* verilator lint_on UNUSEDSIGNAL */
  lbnic_word_sel #(.W(MB), .N(DEPTH), .IW(QB)) u_h1_meta (.words(q_meta), .index(h1), .word(h1_meta));
  /* verilator lint_off UNUSEDSIGNAL */  // (its TCP flags only)
  lbnic_pipe_pkg::parsed_t h1p;
  /* verilator lint_on UNUSEDSIGNAL */
  lbnic_word_sel #(.W(PB), .N(DEPTH), .IW(QB)) u_h1_parsed (.words(q_parsed), .index(h1), .word(h1p));
  // (the head's slot as hd_vf is kept: the entry after hd's on a pop,
  // else hd's; either the one taken now where it is that entry)
  always_ff @(posedge clk)
    hd_sl <= pop ? (tk1 ? in_meta.slot : h1_meta.slot) : (tk0 ? in_meta.slot : hd_sl);
`ifndef SYNTHESIS
  always_ff @(posedge clk)
    if (!rst && q_cnt != '0 && hd_sl != hd_meta.slot)
      $error("lbnic_ct_engine: hd_sl apart from the head's slot");
`endif
  // The match's results by tag (pr1..pr3; early hits pe1..pe3, pe_have):
  // a pre-match's result waits there for its packet, which copies it into
  // pm_* as it enters CT_EXEC (pm_use) or as it comes (pk_fly).
  localparam int unsigned PRW = 6 + 2 * WB + 2 * 16 + 2 * WBITS + 2;
  logic [PRW-1:0] mo_pack, pr1, pr2, pr3, pr_hd;
  logic [32:0] pe1, pe2, pe3;
  logic [3:1] pe_have;
  assign mo_pack = {mo_hit, mo_hit_b, mo_hit_way, mo_hit_vip, mo_own, mo_hin, mo_hit_be, mo_touched,
                    mo_kind, mo_ins_b, mo_ins_way, mo_aged, mo_new};
  assign pr_hd = (pm_id == 2'd1) ? pr1 : (pm_id == 2'd2) ? pr2 : pr3;
  assign pr_hd_hit = pr_hd[PRW-1];
  assign pm_e = pm != PM_OFF && pm_id != 2'd0 && pe_have[pm_id];
  assign {pme_hit, pme_vip, pme_be} = (pm_id == 2'd1) ? pe1 : (pm_id == 2'd2) ? pe2 : pe3;
  always_ff @(posedge clk) begin
    if (mo_valid && mo_tag == 2'd1) pr1 <= mo_pack;
    if (mo_valid && mo_tag == 2'd2) pr2 <= mo_pack;
    if (mo_valid && mo_tag == 2'd3) pr3 <= mo_pack;
    if (me_valid && me_tag == 2'd1) pe1 <= {me_hit, me_vip, me_be};
    if (me_valid && me_tag == 2'd2) pe2 <= {me_hit, me_vip, me_be};
    if (me_valid && me_tag == 2'd3) pe3 <= {me_hit, me_vip, me_be};
    for (int unsigned k = 1; k <= 3; k++) begin
      if ((pm_rd && !pm2_adopt && pm_nid == 2'(k)) || (pm2_rd && pm2_nid == 2'(k)))
        pe_have[k] <= 1'b0;
      if (me_valid && me_tag == 2'(k)) pe_have[k] <= 1'b1;
    end
    if (pm2_rd) begin
      g2_key <= h1_meta.key;
      g2_rev <= h1_meta.class_kind == lbnic_pipe_pkg::CLASS_REVERSE;
      g2_flags <= (h1_meta.class_kind == lbnic_pipe_pkg::CLASS_REVERSE) ? h1p.tcp_flags
                                                                        : h1_meta.tcp_flags;
      g2_slot <= h1_meta.slot;
      g2_now <= h1_meta.now;
      g2_len <= h1_meta.len;
      g2_a <= h1_meta.bucket_a;
      g2_b <= h1_meta.bucket_b;
      pm2_id <= pm2_nid;
      pm2_e <= h1;
    end
    pm2_iss <= pm2_rd && !rst;
    pm2_dirty <= !pm2_rd && (pm2_dirty || pm2_wr || !q_z0[pm2_e]);
    if (pm2_rd) pm2 <= PM_FLY;
    else if ((pm_rd && pm2_adopt) || (pop && hd == pm2_e) || pm2_dirty || clear || flush_pend
             || hc_pend || href_pend)
      pm2 <= PM_OFF;
    else if (pm2 == PM_FLY && mo_valid && mo_tag == pm2_id) pm2 <= PM_HAVE;
    if (rst) begin
      pm2 <= PM_OFF;
      pm2_id <= 2'd1;
      pm2_iss <= 1'b0;
      pe_have <= '0;
    end
  end
  assign pm_use = pop_x && (pm == PM_FLY || pm == PM_HAVE) && pm_keep;
  // the pre-match ends (taken, or the head no longer ready: pm_drop), or
  // a new one starts (pm_end): what was read ahead for it is let go
  assign pm_drop = pop || (pm != PM_OFF && !pm_keep);
  assign pm_end = pm_drop || pm_rd;
  assign pk_sel = pk_have || pk_fly;
  // the packet's lookup: the pre-match's result (kept, or coming now
  // tagged), else CT_EXEC's own (untagged)
  assign pk_fly = pk_tag != 2'd0;
  assign x_valid = pk_have || (mo_valid && mo_tag == pk_tag);
  assign xe_valid = me_valid && me_tag == pk_tag;
  assign x_hit = pk_have ? pm_hit : mo_hit;
  assign x_hit_b = pk_have ? pm_hit_b : mo_hit_b;
  assign x_hit_way = pk_have ? pm_hit_way : mo_hit_way;
  assign x_hit_vip = pk_have ? pm_hit_vip : mo_hit_vip;
  assign x_hit_own = pk_have ? pm_hit_own : mo_own;
  assign x_hit_in = pk_have ? pm_hit_in : mo_hin;
`ifndef SYNTHESIS
  always_ff @(posedge clk)
    if (!rst && st == S_M_W && mstep == MS_1 && !phase_nat && x_valid && x_hit
        && x_hit_own != (x_hit_vip == m.slot))
      $error("lbnic_ct_engine: the hit's own-slot bit apart from its VIP and the packet's slot");
  always_ff @(posedge clk)
    if (!rst && st == S_M_W && mstep == MS_1 && !phase_nat && xe_valid
        && (me_own != (me_hit && me_vip == m.slot)
            || me_in != (me_hit && me_be < vip_slot.backend_count)))
      $error("lbnic_ct_engine: the early hit's own-slot or in-range bit apart from its compare");
  always_ff @(posedge clk)
    if (!rst && st == S_M_W && mstep == MS_1 && x_valid
        && x_hit_in != (x_hit_be < vip_slot.backend_count))
      $error("lbnic_ct_engine: the hit's in-range bit apart from its backend and the slot's count");
`endif
  assign x_hit_be = pk_have ? pm_hit_be : mo_hit_be;
  assign x_touched = pk_have ? pm_touched : mo_touched;
  assign x_kind = pk_have ? pm_kind : mo_kind;
  assign x_ins_b = pk_have ? pm_ins_b : mo_ins_b;
  assign x_ins_way = pk_have ? pm_ins_way : mo_ins_way;
  assign x_aged = pk_have ? pm_aged : mo_aged;
  assign x_new = pk_have ? pm_new : mo_new;
  // (the head's parse as a struct of the module's: see pv)
  /* verilator lint_off UNUSEDSIGNAL */  // (its TCP flags only)
  lbnic_pipe_pkg::parsed_t hp;
  /* verilator lint_on UNUSEDSIGNAL */
  assign hp = hd_parsed;
  always_ff @(posedge clk) begin
    if (pop || pm_rd) begin
      g_key <= hd_meta.key;
      g_rev <= hd_meta.class_kind == lbnic_pipe_pkg::CLASS_REVERSE;
      g_flags <= (hd_meta.class_kind == lbnic_pipe_pkg::CLASS_REVERSE) ? hp.tcp_flags
                                                                       : hd_meta.tcp_flags;
      g_slot <= hd_meta.slot;
      g_now <= hd_meta.now;
      g_len <= hd_meta.len;
      g_a <= hd_meta.bucket_a;
      g_b <= hd_meta.bucket_b;
      g_hash <= hd_meta.hash;
    end
    // (the VIP read is the head's slot's where the FSM is not in S_M_W)
    if (pm_rd) begin
      pv_v <= !m_w;
      pv_sched <= vip_rd.sched;
      pv_m <= vip_rd.lut_size;
      pv_base <= vip_rd.lut_base;
      pv_bbase <= vip_rd.backend_base;
      pv_bcount <= vip_rd.backend_count;
    end
    if (pm_end) begin
      pm_lxi <= 1'b0;
      pm_lxg <= 1'b0;
      pm_rr <= 1'b0;
      ph_done <= 1'b0;
      ph_a <= pm_rd;
    end else begin
      if (lx_pm) pm_lxi <= 1'b1;
      if (lx_valid && lx_tag && pm_lxi) begin
        pm_lxg <= 1'b1;
        pm_lxq <= lx_index;
      end
      // (the head's RR / WRR pointer, read where it was final; a pointer
      // kept from a larger table is left to the packet's S_MOD)
      if (ph_a && (ph_fin || ph_kn) && !ph_done) begin
        ph_done <= 1'b1;
        if (pv_rr && ph_pp < pv_m) begin
          pm_rr <= 1'b1;
          pm_lxg <= 1'b1;
          pm_lxq <= ph_pp;
        end
      end
    end
    ph_fin <= x_rrf || m.slot != hd_sl;
    // (the packet's result in, pk_have, or taken, x_kn; its own pointer
    // checked: rr_ra past 2, not rr_bad; S_SCHED's rr_p, but not one
    // S_MOD wraps; each pointer's successor made on its own and the
    // state's choice last: the state through the choice, the add and the
    // compare into ph_np was 9 LUT levels)
    begin
      logic kh, km;
      logic [31:0] np_s, np_k;
      kh = (pk_have && pm_hit) || (x_kn && r_hit);
      km = rr_ra != 2'd2 && ((pk_rr && !rr_bad && ((pk_have && !pm_hit) || (x_kn && !r_hit)))
                             || (st == S_SCHED && !hashed && rr_p < vip_slot.lut_size));
      np_s = (rr_p + 32'd1 == vip_slot.lut_size) ? 32'h0 : rr_p + 32'd1;
      np_k = (pk_rrp + 32'd1 == vip_slot.lut_size) ? 32'h0 : pk_rrp + 32'd1;
      ph_kn <= m.slot == hd_sl && (!rr_ahead || (kh && st != S_SCHED) || km);
      ph_nx <= rr_ahead && (st == S_SCHED || !kh);
      ph_np <= (st == S_SCHED) ? np_s : np_k;
    end
    ph_ok <= 32'(hd_sl) < MAX_VIPS && rr_ok[SB'(hd_sl)] && !clear;
    // the packet's result (pm_*, x_* with pk_have): its pre-match's as
    // it enters CT_EXEC, else as it comes under its tag
    if (pm_use)
      {pm_hit, pm_hit_b, pm_hit_way, pm_hit_vip, pm_hit_own, pm_hit_in, pm_hit_be, pm_touched,
       pm_kind, pm_ins_b, pm_ins_way, pm_aged, pm_new} <= (mo_valid && mo_tag == pm_id) ? mo_pack : pr_hd;
    else if (mo_valid && pk_fly && mo_tag == pk_tag)
      {pm_hit, pm_hit_b, pm_hit_way, pm_hit_vip, pm_hit_own, pm_hit_in, pm_hit_be, pm_touched,
       pm_kind, pm_ins_b, pm_ins_way, pm_aged, pm_new} <= mo_pack;
    // (S_DISP is the clock after the pop, which set vip_slot: a result
    // that came up to then was compared with the packet before's count;
    // one that comes later, with this packet's)
    if (st == S_DISP)
      pm_hit_in <= ((mo_valid && pk_fly && mo_tag == pk_tag) ? mo_hit_be : pm_hit_be)
                   < vip_slot.backend_count;
    for (int unsigned k = 1; k <= 3; k++)
      pm_fl[k] <= (pm_fl[k] && !(mo_valid && mo_tag == 2'(k)))
                  || (pm_go && pm_id == 2'(k)) || (pm2_iss && pm2_id == 2'(k));
    pm_iss <= pm_rd && !rst;
    pm_ad <= pm_rd && pm2_adopt && !rst;
    if (pm_rd) pm_id <= pm2_adopt ? pm2_id : pm_nid;
    if (pm_drop) pm <= PM_OFF;
    else if (pm_rd)
      pm <= (pm2_adopt && (pm2 == PM_HAVE || (mo_valid && mo_tag == pm2_id))) ? PM_HAVE : PM_FLY;
    else if (pm == PM_FLY && mo_valid && mo_tag == pm_id) pm <= PM_HAVE;
    if (rst) begin
      pm <= PM_OFF;
      pm_id <= 2'd1;
      pm_fl <= '0;
      pm_ad <= 1'b0;
      pm_lxi <= 1'b0;
      pm_lxg <= 1'b0;
      pm_rr <= 1'b0;
      ph_a <= 1'b0;
      ph_done <= 1'b0;
    end
  end
`ifndef SYNTHESIS
  // The pre-match computed on what the pop read: the same buckets and key
  // (a write of the head's buckets not seen by pm_keep would show here).
  logic [BBITS-1:0] pmd_a, pmd_b, pmd2_a, pmd2_b;
  lbnic_pipe_pkg::ct_key_t pmd_key, pmd2_key;
  always_ff @(posedge clk) begin
    if (pm_go) begin
      pmd_a <= hd_da;
      pmd_b <= hd_db;
      pmd_key <= g_key;
    end
    if (pm2_iss) begin
      pmd2_a <= hd_da;
      pmd2_b <= hd_db;
      pmd2_key <= g2_key;
    end
    if (pm_rd && pm2_adopt) begin
      pmd_a <= pmd2_a;
      pmd_b <= pmd2_b;
      pmd_key <= pmd2_key;
    end
    if (!rst && st == S_DISP && pk_sel && (pmd_a != hd_da || pmd_b != hd_db || pmd_key != m.key))
      $error("lbnic_ct_engine: a pre-match on other data than the head's as it entered");
    if (!rst && mo_valid && pk_have && mo_tag == pk_tag)
      $error("lbnic_ct_engine: a result of the packet's tag after it took its own");
    if (!rst && pm_go && pm_fl[pm_id]) $error("lbnic_ct_engine: a pre-match's tag reused in flight");
    if (!rst && pm2_iss && (pm_fl[pm2_id] || pm_go || d_go))
      $error("lbnic_ct_engine: the next head's pre-match issued over another");
    if (!rst && pm == PM_FLY && !pm_go && !pm_fl[pm_id])
      $error("lbnic_ct_engine: a pre-match in flight without its tag");
    if (!rst && pm_go && d_go) $error("lbnic_ct_engine: a pre-match issued with a head's lookup");
    if (!rst && st == S_DISP && pk_sel && (x_za != '0 || x_zb != '0))
      $error("lbnic_ct_engine: a pre-match of a head with the scrubber's zeroes");
  end
`endif

  // How long each entry has been ready, saturating (q_rc): cleared by the
  // hazard table, unlocked, and each side read (GOT) or forwarded from a
  // packet before it (a slot with fw_nr: the model has that data the
  // clock after that packet, at the latest as the one before this entry
  // executes). A head that then waited for CT_EXEC was executed by the
  // model as it was ready or the clock after the packet before it,
  // whichever came later (issue 13): its age by readiness at the pop,
  // hd_xr, is taken a clock ahead (hd_rq: it was ready then).
  logic [8*DEPTH-1:0] q_rc;
  logic [DEPTH-1:0] q_rdy;
  logic [7:0] hd_rc, hd_xr;
  logic hd_rq;
  always_comb
    for (int i = 0; i < DEPTH; i++) begin
      logic fa, fb;
      fa = 1'b0;
      fb = 1'b0;
      for (int k = 0; k < FWK; k++) begin
        fa = fa || (q_fka[FWK*i + k] && fw_nr[k]);
        fb = fb || (q_fkb[FWK*i + k] && fw_nr[FWK + k]);
      end
      q_rdy[i] = q_cl[i] && !e_lka[i] && !e_lkb[i]
                 && (q_sa[2*i +: 2] == QS_GOT || (q_sa[2*i +: 2] == QS_OUT && fa))
                 && (q_sb[2*i +: 2] == QS_GOT || (q_sb[2*i +: 2] == QS_OUT && fb));
    end
  lbnic_word_sel #(.W(8), .N(DEPTH), .IW(QB)) u_hd_rc (.words(q_rc), .index(hd), .word(hd_rc));
  always_ff @(posedge clk) begin
    logic [8:0] xs;
    for (int i = 0; i < DEPTH; i++)
      q_rc[8*i +: 8] <= q_rdy[i] ? ((q_rc[8*i +: 8] != 8'hff) ? q_rc[8*i +: 8] + 1'b1 : 8'hff)
                                 : 8'h0;
    xs = 9'(hd_rc) + 9'((hd_nr1 && !hd_ul) ? X_LAG : 1 + X_LAG) + 9'd1;
    hd_xr <= xs[8] ? 8'hff : xs[7:0];
    hd_rq <= q_rdy[hd] && !pop && !rst;
  end

  // ------------------------------------------------------------ FSM
  // A backend entry's answer usable (valid, not down): the one S_M_W or
  // S_US_W takes (`be` where it came before, else the bank's now)
  /* verilator lint_off UNUSEDSIGNAL */  // (its flags and state)
  lbnic_pkg::backend_t be_x;
  /* verilator lint_on UNUSEDSIGNAL */
  logic bx_up;
  assign be_x = eb_got ? be : be_rdata;
  assign bx_up = (be_x.flags & BF_VALID) != 0 && be_x.state != BS_DOWN;
  // The lookup's hit decided: usable (t_use: the VIP entry valid, the
  // backend in its range and its entry usable) or not, its way written
  // back (t_tch) either way. S_US_DONE's work, or S_M_W's as the match's
  // result comes with the backend entry read early (it answers in that
  // clock: a clock of every such hit, issue 13). t_own: t_vip is the
  // packet's slot (S_M_W's from the match's register: the compare behind
  // the match's hit_vip was 8 LUT levels into `stale`). (No member of an
  // argument is read: Yosys 0.23 cannot size a task or function that
  // does.)
  task automatic us_done(input logic t_use, input lbnic_pkg::vip_t t_v, input logic t_b,
                         input logic [WB-1:0] t_w, input lbnic_pkg::ct_way_t t_tch,
                         input logic [15:0] t_vip, input logic t_own, input logic [15:0] t_bi);
    logic usable, fits;
    usable = t_use;
    fits = (cls == lbnic_pipe_pkg::CLASS_FRAGMENT && !m.slot_valid) || t_own;
    if (cls == lbnic_pipe_pkg::CLASS_REVERSE) fits = 1'b1;
    w_bucket <= BW'(t_b ? mb : ma);
    w_data <= put_way(t_b ? db : da, t_w, t_tch);
    w_mask <= WAYS'(1) << t_w;
    w_hint <= 1'b0;
    wr_ret <= S_OUT;
    // (stale, 0 since S_DISP, written whatever the outcome: as a set
    // under the outcome, the backend's answer through bx_up into its
    // enable was 8 LUT levels, issue 13; read only after S_POSTLOOK)
`ifndef SYNTHESIS
    if (stale) $error("lbnic_ct_engine: a packet's hit decided with stale set");
`endif
    stale <= !(usable && fits) && cls != lbnic_pipe_pkg::CLASS_REVERSE;
    stale_b <= t_b;
    stale_way <= t_w;
    if (usable && fits) begin
      cnt[CI_HITS] <= 1'b1;
      v <= t_v;
      dec <= '0;
      dec.slot <= t_vip;
      dec.local_index <= t_bi;
      if (cls == lbnic_pipe_pkg::CLASS_REVERSE) begin
        dec.kind <= lbnic_pipe_pkg::DECISION_REVERSE_NAT;
      end else begin
        dec.kind <= lbnic_pipe_pkg::DECISION_FORWARD;
        dec.hash <= m.hash;
      end
      // ICMP errors never touch an entry
      st <= is_icmp ? S_OUT : S_WR;
      dfin <= 1'b1;
    end else if (cls == lbnic_pipe_pkg::CLASS_REVERSE) begin
      dec <= d_novip;
      st <= S_OUT;
    end else begin
      cnt[CI_MISSES] <= 1'b1;
      st <= S_POSTLOOK;
    end
  endtask
  // (the scheduled packet puts no entry: the host owns conntrack, or a
  // stateless VIP's or a RST's)
  logic no_put;
  assign no_put = ct_host || (cls == lbnic_pipe_pkg::CLASS_VIP
                              && (m.stateless || (m.tcp_flags & RST_FLAG) != 0));
  // The new entry put (t_new): in place, in a free way, or a relocation
  // (S_RH); S_PUT's work, or S_POSTSCHED's where it has the new entry
  // (a clock of every insert, issue 13). Where a relocation waits for the
  // posted unit, st is left as it was.
  task automatic put(input lbnic_pkg::ct_way_t t_new);
    put_at(t_new, r_kind, r_ins_b, r_ins_way, r_aged);
  endtask
  // (t_kind, t_b, t_w, t_aged: the match's insert plan, r_* or S_M_W's x_*)
  task automatic put_at(input lbnic_pkg::ct_way_t t_new, input logic [1:0] t_kind,
                        input logic t_b, input logic [WB-1:0] t_w, input logic t_aged);
    logic inb;
    logic [WB-1:0] inw;
    logic inplace;
    inplace = phase_nat ? r_hit : stale;
    inb = phase_nat ? r_hit_b : stale_b;
    inw = phase_nat ? r_hit_way : stale_way;
    if (!inplace) begin
      inb = t_b;
      inw = t_w;
    end
    w_bucket <= BW'(inb ? mb : ma);
    w_data <= put_way(inb ? db : da, inw, t_new);
    w_mask <= WAYS'(1) << inw;
    w_hint <= 1'b1;
    wr_ret <= S_AFTER_PUT;
    ins_ok <= 1'b1;
    if (inplace || t_kind == INS_FREE) begin
      cnt[CI_INSERTS] <= 1'b1;
      cnt[CI_AGEOUTS] <= !inplace && t_aged;
      // (inserted: S_AFTER_PUT's choice, made now)
      wr_ret <= nat_next ? S_NAT_HASH : S_OUT;
      st <= S_WR;
    end else if (!rh_wait || !rm_busy) begin
      // (a relocation reads hints: none of a bucket a unit holds, rh_conf)
      rh_in <= '0;
      rh_out <= '0;
      rh_conf <= 1'b0;
      st <= S_RH;
    end
  endtask
  // post_now's new entries, as nw: S_M_W's from the match's result, on
  // CT_REQ's pre-schedule (nw_xp) or on the entries read ahead (nw_xs);
  // S_SCHED's (nw_rs)
  lbnic_pkg::ct_way_t nw_xp, nw_xs, nw_rs;
  always_comb begin
    nw_xp = x_new;
    nw_xp.vip = s_slot;
    nw_xp.backend = pk_psl;
    nw_xs = x_new;
    nw_xs.vip = s_slot;
    nw_xs.backend = sp_local;
    nw_rs = r_new;
    nw_rs.vip = s_slot;
    nw_rs.backend = sp_local;
  end
  task automatic post_dec(input logic [15:0] t_local, input lbnic_pkg::ct_way_t t_new);
    dec <= '0;
    dec.kind <= lbnic_pipe_pkg::DECISION_FORWARD;
    dec.slot <= s_slot;
    dec.local_index <= t_local;
    dec.hash <= m.hash;
    r_new <= t_new;
    dfin <= 1'b1;
  endtask
  // A miss scheduled with its backend entry in (t_local: its backend)
  // whose entry goes into a free way: S_POSTSCHED's work and put's in that
  // clock (a clock of each such miss, issue 13); any other goes on to
  // S_POSTSCHED as before. (A stale hit's miss puts in place there.)
  task automatic post_now(input logic [15:0] t_local, input lbnic_pkg::ct_way_t t_new,
                          input logic [1:0] t_kind, input logic t_b, input logic [WB-1:0] t_w,
                          input logic t_aged);
    if (no_put) begin
      post_dec(t_local, t_new);
      st <= S_OUT;
    end else if (t_kind == INS_FREE) begin
      post_dec(t_local, t_new);
      put_at(t_new, t_kind, t_b, t_w, t_aged);
    end
  endtask
  // the clock after a Maglev miss (ev_ps) or a hit (ev_psh) was decided
  // in S_M_W on CT_REQ's pre-schedule: for a testbench to count, so that
  // it does not restate the branches (no logic behind them)
  /* verilator lint_off UNUSEDSIGNAL */
  logic ev_ps, ev_psh;
  /* verilator lint_on UNUSEDSIGNAL */
  always_ff @(posedge clk) begin
    logic bv_set;  // CT_EXEC reads BACKEND this clock, or may (the head's read waits)
    bv_set = 1'b0;
    cnt <= '0;
    ev_ps <= 1'b0;
    ev_psh <= 1'b0;
    rr_wb <= 1'b0;
    be_v <= 1'b0;
    be_pv <= 1'b0;
    lut_v <= 1'b0;
    flush_done <= 1'b0;
    d_go <= 1'b0;
    // the pre-match the packet took, coming in
    if (mo_valid && pk_fly && mo_tag == pk_tag) begin
      pk_have <= 1'b1;
      pk_tag <= 2'd0;
    end

    // conntrack responses, by tag
    if (ct_rsp_valid) begin
      if (ct_rsp_tag == TAG_A) begin
        da <= ct_rsp_data;
        got_a <= 1'b1;
      end
      if (ct_rsp_tag == TAG_B) begin
        db <= ct_rsp_data;
        got_b <= 1'b1;
      end
    end

    // key hashes out of the lookup index unit
    if (li_valid) begin
      res_placed[$clog2(N)'(rh_out)] <= 32'(li_a) == li_in_b || 32'(li_b) == li_in_b;
      res_other[32*32'(rh_out) +: 32] <= 32'(h_raddr);
      rh_out <= rh_out + 1'b1;
    end
    // the NAT return key's candidates (S_NAT_HASH, S_NAT_W)
    if ((st == S_NAT_HASH || st == S_NAT_W) && nr_have) begin
      ma <= 32'(nr_a);
      mb <= 32'(nr_b);
      ca <= nr_a;
      cb <= nr_b;
    end
    // its hint, read from the RAM in the same clock (nothing writes hints
    // while the residents are hashed)
    rf_v <= h_ren && !nh_rd;
    rf_i <= $clog2(N)'(rh_out);
    if (rf_v) res_full[rf_i] <= h_rdata;
    // (the bucket, and the units busy, as the hint was read: a unit whose
    // write was taken in that clock still holds it; none is posted now)
    rf_a <= h_raddr;
    rf_bz <= r_busy;
    if (rf_v && locked(rf_a, rf_bz, r_la, r_lb)) rh_conf <= 1'b1;

    // (before the FSM: S_DISP starts it, a hit in S_M_W cancels it)
    // (and the head's, where its index ran ahead and the port is free:
    // not the packet's read, nor S_LUT_GO's; its answer is tagged)
    begin
      logic sp_iss, sp_rsp, lu_pre, rr_iss;
      rr_iss = (sp == SP_IDX || rr_bad) && sp_rr && rr_ra == 2'd1 && rr_ilt
               && (st == S_M_W || st == S_POSTLOOK || st == S_SCHED);
      sp_iss = (sp == SP_IDX && !sp_rr && (lx_got || lx_mine)) || rr_iss;
      sp_rsp = lut_rv && !lut_ptag && sp_out != '0;
      lu_pre = pm_lxg && !pm_lui && !lu_n && !lut_pv && (pv_ok || pm_rr) && !g_rev && !sp_iss
               && !(st == S_LUT_GO && sp_out == '0);
      lut_pv <= 1'b0;
      if (rr_ra == 2'd2) begin
        rr_ii <= LIW'(v.lut_base + rr_p);
        rr_ilt <= rr_p < v.lut_size;
        rr_bad <= rr_moved;
      end
      rr_ra <= (rr_ra == 2'd2) ? 2'd1 : 2'd0;
      // (not issued: S_SCHED schedules it as before)
      if (rr_ra == 2'd1 && sp_rr && (sp == SP_IDX || rr_bad) && !rr_iss) sp <= SP_OFF;
      if (sp_iss) begin
        lut_v <= 1'b1;
        lut_i <= rr_iss ? rr_ii : LIW'(v.lut_base + (lx_got ? lx_q : lx_index));
        sp <= SP_LUT;
      end
      if (lu_pre) begin
        lut_v <= 1'b1;
        lut_pv <= 1'b1;
        lut_i <= LIW'(pv_base + pm_lxq);
        pm_lui <= 1'b1;
      end
      if (sp_rsp && sp_out == 2'd1 && sp == SP_LUT && !pk_luf) begin
        sp_local <= 16'(lut_rdata);
        sp <= SP_DONE;
      end
      // (answers in order: the packet's first, where it still waits)
      if (lut_rv && lut_ptag) begin
        if (pk_luf) begin
          sp_local <= 16'(lut_rdata);
          if (sp == SP_LUT && !rr_bad) sp <= SP_DONE;
        end else if (pm_lui) begin
          pm_lug <= 1'b1;
          pm_luq <= 16'(lut_rdata);
        end
        pk_luf <= 1'b0;
      end
      if (pm_end) begin
        pm_lui <= 1'b0;
        pm_lug <= 1'b0;
      end
      sp_out <= sp_out + 2'(sp_iss) - 2'(sp_rsp);
    end
    // the head's backend entry (be_want), one request at a time: its index
    // into be_pi, issued after the FSM's case in a clock it reads none
    if (be_want && !be_pq && !pm_bei && !be_n) begin
      be_pq <= 1'b1;
      be_pi <= be_wi;
      pm_beh <= pm_ebw;
    end
    // (the packet's answer, where it waits for one: into `be`, wherever
    // CT_EXEC is)
    if (be_rv && be_ptag) begin
      if (!pk_bef && pm_bei) begin
        pm_beg <= 1'b1;
        pm_beq <= be_rdata;
      end
      if (pk_bef) begin
        pk_beg <= 1'b1;
        be <= be_rdata;
      end
      pk_bef <= 1'b0;
    end
    // (an RR / WRR entry read ahead found stale, rr_bad: its backend entry
    // too; the answer still coming is dropped, as no head's)
    if (rr_ra == 2'd2 && rr_moved) begin
      pk_beg <= 1'b0;
      pk_bef <= 1'b0;
    end
    // (be_pq and pm_bei are let go after the FSM's case, below)
    if (pm_end) pm_beg <= 1'b0;

    // (staying in a read state; entering one sets its flag below)
    st_rda <= st_rda && !(ct_rd_ready && rd_go);
    st_rdx <= st_rdx && !ct_rd_ready;
    case (st)
      S_IDLE: begin
        if (hc_pend) begin
          hc_ptr <= '0;
          st <= S_HCLR;
        end else if (flush_pend) begin
          // (after the posted insert: it came before the request)
          if (!rm_busy) begin
            fl_ptr <= '0;
            st <= S_FLUSH;
          end
        end else if (href_pend) begin
          if (!rm_busy) begin
            hr_ptr <= '0;
            st <= S_HR_RD;
            st_rdx <= 1'b1;
          end
        end else if (pop_x) begin
          // (taken below the FSM: a pop in S_OUT too)
        end else if (q_cnt == '0 && !in_valid && !clear && !flush_req && !(host_q && !ct_host)
                     && !rm_busy) begin
          // the scrubber only with CT_REQ's queue empty (a packet taken
          // during its visit takes its write from it: see q_z* below)
          st <= S_SC_RD;
          st_rdx <= 1'b1;
          scrubbing <= 1'b1;
        end
      end

      S_DISP: begin
        for (int i = 0; i < WAYS; i++) begin
          da[WBITS*i +: WBITS] <= x_za[i] ? '0 : hd_da[WBITS*i +: WBITS];
          db[WBITS*i +: WBITS] <= x_zb[i] ? '0 : hd_db[WBITS*i +: WBITS];
        end
        s_slot <= m.slot;
        v <= vip_slot;
        fm_v <= pl_sched && vip_slot.lut_size != 0
                && maglev(vip_slot.sched);
        sp_rr <= 1'b0;
        rr_bad <= 1'b0;
        eb_iss <= 1'b0;
        eb_got <= 1'b0;
        // (its backend entry read ahead, in pm_beq since the pop)
        if (pk_beg) be <= pm_beq;
        rr_okq <= 32'(m.slot) < MAX_VIPS && rr_ok[SB'(m.slot)] && !clear;
        stale <= 1'b0;
        phase_nat <= 1'b0;
        mkey <= m.key;
        mrev <= cls == lbnic_pipe_pkg::CLASS_REVERSE;
        mflags <= (cls == lbnic_pipe_pkg::CLASS_REVERSE) ? p.tcp_flags : m.tcp_flags;
        ma <= m.bucket_a;
        mb <= m.bucket_b;
        dec <= x_ddec;
        st <= S_OUT;
        sp <= SP_OFF;
        if (x_dir || (cls != lbnic_pipe_pkg::CLASS_REVERSE && ct_host)) begin
          pk_have <= 1'b0;
          pk_tag <= 2'd0;
        end
        if (!x_dir) begin
          // a Reverse (CT_HOST clear), a valid VIP's packet or a fragment
          if (cls != lbnic_pipe_pkg::CLASS_REVERSE && ct_host) begin
            st <= S_POSTLOOK;
          end else if (d_go || pk_sel) begin
            // (the match was started in this clock, see u_match, or ran
            // ahead: pk_*)
            mstep <= MS_1;
            st <= S_M_W;
            // (its LUT entry read ahead: in, in now, or coming)
            if (!g_rev && (lx_go || pk_lx))
              sp <= (pk_lug || (pk_luf && lut_rv && lut_ptag)) ? SP_DONE
                  : pk_luf ? SP_LUT : SP_IDX;
            // (an RR / WRR VIP's: from its pointer, two clocks on)
            // (or read ahead with the pre-match: pk_rr)
            if (rr_ahead) begin
              sp <= (pk_rr && (pk_lug || (pk_luf && lut_rv && lut_ptag))) ? SP_DONE
                  : (pk_rr && pk_luf) ? SP_LUT : SP_IDX;
              sp_rr <= 1'b1;
              rr_ra <= 2'd2;
            end
            // a pre-matched hit on the packet's slot: the usable check's
            // read now (its early hit was kept)
            // (or read ahead with the pre-match: in `be`, or coming)
            // (pk_ebw, pk_ebx: the head's own-slot hit and its entry's
            // index, registered before the pop: pm_ebw)
            if (pk_ebw && slot_ok) begin
              if (pk_beh && (pk_beg || pk_bef)) begin
                eb_got <= pk_beg || (pk_bef && be_rv && be_ptag);
              end else begin
                be_v <= 1'b1;
                bv_set = 1'b1;
                be_b <= pk_ebx;
                be_o <= '0;
              end
              eb_iss <= 1'b1;
            end
          end else begin
            st <= pre ? S_RD_W : S_RD_A;
            st_rda <= !pre;
          end
        end
      end

      // ---- the two candidate buckets (or the NAT return key's)
      S_RD_A: if (ct_rd_ready && rd_go) begin
        got_a <= 1'b0;
        got_b <= 1'b0;
        st <= S_RD_B;
        st_rdx <= 1'b1;
      end
      S_RD_B: if (ct_rd_ready) st <= S_RD_W;
      S_RD_W: if (got_a && got_b) begin
        mstep <= MS_1;
        st <= S_M_GO;
      end
      S_M_GO: if (!pm_go && !pm2_iss) st <= S_M_W;  // (u_match takes a pre-match)
      S_M_W: begin
        if (mstep == MS_1 && !phase_nat && xe_valid && me_own && !eb_iss && slot_ok && me_in) begin
          be_v <= 1'b1;
          bv_set = 1'b1;
          be_b <= BIW'(vip_slot.backend_base);
          be_o <= BIW'(me_be);
          eb_iss <= 1'b1;
        end
        if (eb_iss && be_mine) begin
          be <= be_rdata;
          eb_got <= 1'b1;
        end
        if (x_valid) begin
          case (mstep)
            MS_1: begin
              pk_have <= 1'b0;
              pk_tag <= 2'd0;
              x_kn <= !phase_nat;
              r_hit <= x_hit;
              r_hit_b <= x_hit_b;
              r_hit_way <= x_hit_way;
              r_hit_vip <= x_hit_vip;
              r_hit_be <= x_hit_be;
              // (hit_ok where the hit is on the packet's slot, whose
              // entry vip_hit takes now: S_LOOKED sets it otherwise)
              hit_okq <= slot_ok && x_hit_in;
              r_touched <= x_touched;
              r_kind <= x_kind;
              r_ins_b <= x_ins_b;
              r_ins_way <= x_ins_way;
              r_aged <= x_aged;
              r_new <= x_new;
              if (x_hit) sp <= SP_OFF;
              if (phase_nat) begin
                st <= S_PUT;
              end else if (!x_hit) begin
                if (cls == lbnic_pipe_pkg::CLASS_REVERSE) begin
                  dec <= d_novip;
                  st <= S_OUT;
                end else begin
                  cnt[CI_MISSES] <= 1'b1;
                  st <= pl_sched ? S_SCHED : S_POSTLOOK;
                  // a Maglev miss with its LUT and backend entries read
                  // ahead: S_SCHED's work here (a clock of such a miss)
                  if (fm_v && sp == SP_DONE && !pk_beh && pk_beg) begin
                    rr_upd <= 1'b0;
                    idx <= lx_q;
                    s_local <= sp_local;
                    st <= S_POSTSCHED;
                    post_now(sp_local, nw_xs, x_kind, x_ins_b, x_ins_way, x_aged);
                  end else if (fm_v && pk_ps && !pk_bef && !eb_iss) begin
                    // (or with its pre-schedule, CT_REQ's: the same
                    // entries; what was read for it here is dropped, as
                    // a hit drops it)
                    rr_upd <= 1'b0;
                    s_local <= pk_psl;
                    be <= pk_psb;
                    sp <= SP_OFF;
                    st <= S_POSTSCHED;
                    ev_ps <= 1'b1;
                    post_now(pk_psl, nw_xp, x_kind, x_ins_b, x_ins_way, x_aged);
                  end
                end
              end else if (x_hit_own) begin
                // the hit's VIP is the packet's slot's: its entry is
                // vip_slot, so S_LOOKED's usable check starts now
                if (eb_iss && (eb_got || be_mine)) begin
                  // its read went out early and is in, or comes now (be_rdata
                  // is the bank's register): decided now; the early hit's
                  // backend was in range, or eb_iss would not be set (the
                  // same hit: a check below)
                  us_done(bx_up, vip_slot, x_hit_b, x_hit_way, x_touched, x_hit_vip, x_hit_own,
                          x_hit_be);
                end else if (pk_ps && x_hit_be == pk_psl && !pk_bef) begin
                  // its backend is the one CT_REQ's pre-schedule read (a
                  // Maglev flow on its own pick): decided now, without
                  // the usable check's read
                  be <= pk_psb;
                  ev_psh <= 1'b1;
                  us_done(slot_ok && x_hit_in && pk_psu, vip_slot, x_hit_b,
                          x_hit_way, x_touched, x_hit_vip, x_hit_own, x_hit_be);
                end else if (eb_iss) begin
                  st <= S_US_W;  // (its answer comes later)
                end else begin
                  // (the index, and the head's read held off, whether or
                  // not the backend is in range: the range compare in front
                  // of them was 8 LUT levels, issue 13; S_US_DONE clears
                  // `be`)
                  bv_set = 1'b1;
                  be_b <= BIW'(vip_slot.backend_base);
                  be_o <= BIW'(x_hit_be);
                  if (slot_ok && x_hit_in) begin
                    be_v <= 1'b1;
                    st <= S_US_W;
                  end else begin
                    st <= S_US_DONE;
                  end
                end
              end else begin
                st <= S_LOOKED;
              end
            end
            MS_2: begin
              r2_ins_b <= mo_ins_b;
              r2_ins_way <= mo_ins_way;
              if (mo_kind == INS_RELOCATE) begin
                // the target is the unit's to read and write (S_RPOST)
                ca <= BW'(mo_reloc);
                cb <= BW'(mo_reloc);
                st <= S_RPOST;
                rpost <= 1'b1;
              end else begin
                st <= S_FALLBACK;
              end
            end
            default: ;
          endcase
        end
      end

      // ---- the lookup's outcome (the packet's own buckets)
      // (a hit on another slot's entry: vip_hit was read with the result)
      S_LOOKED: begin
        hit_okq <= hit_ok;
        if (hit_ok) begin
          // usable: the backend entry valid and not down
          be_v <= 1'b1;
          bv_set = 1'b1;
          be_b <= BIW'(vip_hit.backend_base);
          be_o <= BIW'(r_hit_be);
          st <= S_US_W;
        end else begin
          st <= S_US_DONE;
        end
      end
      // (decided as the answer comes, S_US_DONE's work here: a clock of
      // every hit that waits for its backend's answer, issue 13)
      S_US_W: if (be_mine) begin
        be <= be_rdata;
        us_done(hit_okq && bx_up, vip_hit, r_hit_b, r_hit_way, r_touched, r_hit_vip,
                r_hit_vip == m.slot, r_hit_be);
      end
      // (a hit found not usable before its backend was read: hit_okq is 0)
      S_US_DONE: begin
        be <= '0;
        us_done(1'b0, vip_hit, r_hit_b, r_hit_way, r_touched, r_hit_vip, r_hit_vip == m.slot,
                r_hit_be);
      end

      // ---- a miss: checks, then scheduling
      S_POSTLOOK: begin
        v <= vip_slot;
        s_slot <= m.slot;
        rr_okq <= 32'(m.slot) < MAX_VIPS && rr_ok[SB'(m.slot)] && !clear;
        st <= S_SCHED;
        if (!pl_sched) begin
          dec <= pl_dec;
          st <= S_OUT;
        end
      end
      S_SCHED: begin
        logic be_go;  // the miss's LUT entry is in (sp_local)
        be_go = 1'b0;
        rr_upd <= 1'b0;
        dec <= '0;
        dec.kind <= lbnic_pipe_pkg::DECISION_DROP;
        if (v.lut_size == 0) begin
          dec.drop_counter <= DC_NO_BACKEND;
          st <= S_OUT;
        end else if (hashed) begin
          idx <= lx_q;
          // (the entry was read during the match: below)
          if (sp == SP_DONE) begin
            be_go = 1'b1;
          end else if (sp == SP_OFF) begin
            st <= lx_got ? S_LUT_GO : S_HASHIDX;
          end
          // (else that read is under way: wait for it)
        end else if (cls == lbnic_pipe_pkg::CLASS_VIP && m.stateless) begin
          dec.drop_counter <= DC_UNROUTABLE;
          st <= S_OUT;
        end else if (sp == SP_DONE && !rr_stale) begin
          // its entry was read during the match (sp_rr) or with the
          // pre-match (pk_rr): below
          rr_upd <= 1'b1;
          rr_wb <= 1'b1;
          idx <= rr_p;
          be_go = 1'b1;
        end else if (sp == SP_OFF) begin
          rr_upd <= 1'b1;
          if (rr_p >= v.lut_size) begin
            // a pointer kept from a larger table: wrapped (Device::activate)
            md_p <= rr_p;
            md_rem <= '0;
            md_i <= 5'd31;
            st <= S_MOD;
          end else begin
            idx <= rr_p;
            st <= S_LUT_GO;
          end
        end
        // its backend entry: read ahead with the pre-match (in `be`, or
        // coming), else read now
        if (be_go) begin
          s_local <= sp_local;
          if (!pk_beh && pk_beg) begin
            st <= S_POSTSCHED;
            if (!stale) post_now(sp_local, nw_rs, r_kind, r_ins_b, r_ins_way, r_aged);
          end else begin
            if (!(!pk_beh && pk_bef)) begin
              be_v <= 1'b1;
              bv_set = 1'b1;
              be_b <= BIW'(v.backend_base);
              be_o <= BIW'(sp_local);
            end
            st <= S_BE_W;
          end
        end
      end
      // (the index came in S_SCHED's clock, or comes now)
      S_HASHIDX: if (lx_got || lx_mine) begin
        idx <= lx_got ? lx_q : lx_index;
        st <= S_LUT_GO;
      end
      S_MOD: begin
        logic [32:0] r2;
        /* verilator lint_off UNUSEDSIGNAL */  // (df[32]: r2 < 2 x lut_size)
        logic [33:0] df;
        /* verilator lint_on UNUSEDSIGNAL */
        logic [31:0] rem;
        // (md_p shifts up a bit a step: bit md_i of the pointer is its top
        // bit, where a 32:1 read of it by md_i was in front of the subtract)
        r2 = {md_rem, md_p[31]};
        // (the subtract's borrow is the compare: one carry chain, where
        // a compare and then the subtract were two in series, 9 levels)
        df = {1'b0, r2} - {2'd0, v.lut_size};
        rem = df[33] ? r2[31:0] : df[31:0];
        md_rem <= rem;
        md_p <= md_p << 1;
        md_i <= md_i - 1'b1;
        if (md_i == 0) begin
          idx <= rem;
          st <= S_LUT_GO;
        end
      end
      S_LUT_GO: if (sp_out == '0) begin
        lut_v <= 1'b1;
        lut_i <= LIW'(v.lut_base + idx);
        st <= S_LUT_W;
      end
      S_LUT_W: if (lut_rv && !lut_ptag) begin
        s_local <= 16'(lut_rdata);
        st <= S_BE_GO;
      end
      S_BE_GO: begin
        be_v <= 1'b1;
        bv_set = 1'b1;
        be_b <= BIW'(v.backend_base);
        be_o <= BIW'(s_local);
        st <= S_BE_W;
      end
      // (or the miss's entry read ahead came in before: pk_beg, in `be`)
      S_BE_W: if (be_mine || (!pk_beh && pk_beg)) begin
        if (be_mine) be <= be_rdata;
        st <= S_POSTSCHED;
      end
      S_POSTSCHED: begin
        post_dec(s_local, nw);
        if (no_put) begin
          st <= S_OUT;
        end else begin
          st <= S_PUT;
          put(nw);
        end
      end

      // ---- put: in place, free way, relocation, eviction or refusal
      S_PUT: put(r_new);
      S_RH: begin
        rh_in <= rh_in + 1'b1;
        if (32'(rh_in) == N - 1) st <= S_RH_W;
      end
      S_RH_W: if (32'(rh_out) == N && !rf_v) begin
        if (rh_conf) begin
          rh_wait <= 1'b1;
          st <= S_PUT;
        end else begin
          rh_wait <= 1'b0;
          mstep <= MS_2;
          st <= S_M_GO;
        end
      end
      // The relocation posted: the resident (mv_way) to the target, by an
      // idle unit (none holds it: rh_conf), which reads it, takes its
      // lowest free way (a clear hint promised one) and counts an age-out
      // there; the new entry into the resident's way meanwhile, as the
      // model applies both at execute time (spec §12.2)
      S_RPOST: if (rm_free) begin
        rpost <= 1'b0;
        cnt[CI_INSERTS] <= 1'b1;
        cnt[CI_RELOC] <= 1'b1;
        w_bucket <= BW'(r2_ins_b ? mb : ma);
        w_data <= put_way(r2_ins_b ? db : da, r2_ins_way, r_new);
        w_mask <= WAYS'(1) << r2_ins_way;
        w_hint <= 1'b1;
        wr_ret <= S_AFTER_PUT;
        st <= S_WR;
      end
      S_FALLBACK: begin
        // no relocation: the eviction victim, or refusal (the first plan)
        if (r_kind == INS_EVICT) begin
          cnt[CI_INSERTS] <= 1'b1;
          cnt[CI_EVICTIONS] <= 1'b1;
          st <= S_WR;
        end else begin
          cnt[CI_REFUSED] <= 1'b1;
          ins_ok <= 1'b0;
          st <= S_AFTER_PUT;
        end
      end
      S_WR: if (ct_wr_ready) st <= wr_ret;
      S_AFTER_PUT: st <= (ins_ok && nat_next) ? S_NAT_HASH : S_OUT;
      S_NAT_HASH: begin
        // its own buckets' writes were taken: they leave the hazard table
        // (the return entry's writes, like any, make a queued read of
        // their bucket stale), so the next packet of a bucket it shares
        // waits for those writes only, not for the return entry
        ex_busy <= 1'b0;
        mkey <= nat_key;
        mrev <= 1'b1;
        mflags <= (cls == lbnic_pipe_pkg::CLASS_VIP) ? m.tcp_flags : p.tcp_flags;
        phase_nat <= 1'b1;
        // (ma, mb taken above as the candidates are the key's)
        st <= nr_have ? S_NAT_HA : S_NAT_W;
      end
      S_NAT_W: if (nr_have) st <= S_NAT_HA;
      // the candidates' full hints (not while a unit holds one: its write
      // may change the hint)
      S_NAT_HA: if (nh_go) st <= S_NAT_HB;
      S_NAT_HB: begin
        nh_a <= h_rdata;
        st <= S_NAT_HC;
        in_hc <= 1'b1;
      end
      // a clear hint: posted to an idle unit (one was in S_NAT_HA, and only
      // this state posts); both full: in line, as it may relocate or evict
      S_NAT_HC: begin
        in_hc <= 1'b0;
        st <= rm_cmd_valid ? S_OUT : S_RD_A;
        st_rda <= !rm_cmd_valid;
      end

      // every write of the packet was taken; its decision is (being) handed
      S_OUT: if (handed || hand) begin
        ex_busy <= 1'b0;
        st <= S_IDLE;
      end

      // ---- scrubber: one bucket per visit of S_IDLE without a packet
      S_SC_RD: if (ct_rd_ready) begin
        got_a <= 1'b0;
        st <= S_SC_W;
      end
      S_SC_W: if (got_a) begin
        sc_left <= sc_mask;
        w_bucket <= sc_ptr;
        w_data <= '0;
        w_mask <= sc_mask;
        w_hint <= 1'b0;
        wr_ret <= S_SC_CNT;
        st <= (sc_mask != 0) ? S_WR : S_SC_CNT;
      end
      // an age-out a clock per reclaimed way (the mask's lowest bit
      // cleared; a population count in S_SC_W was 12 LUT levels)
      S_SC_CNT: begin
        if (sc_left != '0) begin
          // not after a RESET / CT_FLUSH arrived: the table is being cleared
          cnt[CI_AGEOUTS] <= !flush_pend;
          sc_left <= sc_left & (sc_left - 1'b1);
        end else begin
          sc_ptr <= sc_ptr + 1'b1;
          if (since != (BUCKET_BITS + 1)'(NB)) since <= since + 1'b1;
          st <= S_IDLE;
          scrubbing <= 1'b0;
        end
      end

      S_HCLR: begin
        hc_ptr <= hc_ptr + 1'b1;
        if (32'(hc_ptr) == NB - 1) begin
          hc_pend <= 1'b0;
          st <= S_IDLE;
        end
      end

      S_FLUSH: if (ct_wr_ready) begin
        fl_ptr <= fl_ptr + 1'b1;
        if (32'(fl_ptr) == NB - 1) begin
          flush_pend <= 1'b0;
          flush_done <= 1'b1;
          st <= S_IDLE;
        end
      end
      S_HR_RD: if (ct_rd_ready) begin
        got_a <= 1'b0;
        st <= S_HR_W;
      end
      S_HR_W: if (got_a) begin
        hr_ptr <= hr_ptr + 1'b1;
        st <= S_HR_RD;
        st_rdx <= 1'b1;
        if (32'(hr_ptr) == NB - 1) begin
          href_pend <= 1'b0;
          st <= S_IDLE;
          st_rdx <= 1'b0;
        end
      end
      default: st <= S_IDLE;
    endcase

    // (the head's backend read, where CT_EXEC reads none; dropped with the
    // pre-match, below)
    if (be_pq && !bv_set) begin
      be_v <= 1'b1;
      be_b <= be_pi;
      be_o <= '0;
      be_pv <= 1'b1;
      be_pq <= 1'b0;
      pm_bei <= 1'b1;
    end
    if (pm_end) begin
      be_pq <= 1'b0;
      pm_bei <= 1'b0;
    end

    // the packet in CT_EXEC moves no RR / WRR pointer from the next clock
    // on (ph_fin): its own written, or past the states that schedule
    // (a stale hit's S_US_W / S_US_DONE may still schedule)
    if (rr_we || st == S_LUT_W || st == S_BE_GO || st == S_BE_W || st == S_POSTSCHED
        || st == S_PUT || st == S_RH || st == S_RH_W || st == S_RPOST || st == S_FALLBACK
        || st == S_WR || st == S_AFTER_PUT || st == S_NAT_HASH || st == S_NAT_W
        || st == S_NAT_HA || st == S_NAT_HB || st == S_NAT_HC || st == S_OUT)
      x_rrf <= 1'b1;
    if (pop_x) x_rrf <= 1'b0;

    // the head enters CT_EXEC: from S_IDLE, or as the packet there leaves
    // (its decision handed over, its writes taken: S_OUT, or S_WR as the
    // last write is taken; pop_x)
    if (pop_x) begin
      // (its lookup ran ahead, pm_use: taken, not started again)
      d_go <= hd_need && !hd_dir && hd_z0 && !pm_use;
      pk_have <= pm_use && (pm == PM_HAVE || (mo_valid && mo_tag == pm_id));
      pk_tag <= (pm_use && pm == PM_FLY && !(mo_valid && mo_tag == pm_id)) ? pm_id : 2'd0;
      // (its Maglev index: kept, coming now, or still coming)
      pk_lx <= pm_use && pm_lxi;
      pk_lxf <= pm_use && pm_lxi && !pm_lxg && !(lx_valid && lx_tag);
      pk_lug <= pm_use && (pm_lug || lu_hd);
      pk_beg <= pm_use && (pm_beg || be_hd);
      pk_bef <= pm_use && pm_bei && !pm_beg && !be_hd;
      pk_beh <= pm_beh;
      pk_ebw <= pm_use && pm_ebw;
      pk_ebx <= pm_ebx;
      pk_luf <= pm_use && pm_lui && !pm_lug && !lu_hd;
      // (whether or not the pre-match is taken, pm_use: a packet that did
      // not take it reads its own entry into sp_local before SP_DONE; the
      // head's zeroes in pm_use's pm_keep were 8 LUT levels into sp_local)
      if (pm_lug || pm_lui) sp_local <= pm_lug ? pm_luq : 16'(lut_rdata);
      m <= hd_meta;
      p <= hd_parsed;
      got_a <= 1'b1;
      got_b <= 1'b1;
      pre <= hd_need;
      ex_busy <= hd_need;
      ex_a <= hd_a;
      ex_b <= hd_b;
      horizon <= hd_meta.now;
      since <= '0;
      x_dir <= hd_dir;
      x_ddec <= hd_ddec;
      x_za <= hd_za;
      x_zb <= hd_zb;
      dfin <= 1'b0;
      handed <= 1'b0;
      lx_got <= pm_use && !pm_rr && (pm_lxg || (pm_lxi && lx_valid && lx_tag));
      pk_rr <= pm_use && pm_rr;
      x_kn <= 1'b0;
      pk_rrp <= pm_lxq;
      lx_q <= pm_lxg ? pm_lxq : lx_index;
      lx_iss <= 1'b0;
      st <= S_DISP;
    end

    // The head's age at its pop. Behind a packet the model executes in
    // one clock (not a new NAT flow: x_one), a head whose last data is not
    // a unit's write (q_ul): the later of the clock after that packet
    // (x_age) and its readiness (q_rc, above; spec §12.3 decision 17).
    // Else q_nl: its slot's data came last, the clock after the packet
    // before it; q_nr1: one read, a clock less behind its answer than two
    // (X_LAG), unless a unit's write came after it.
    // (each candidate compared with the ages on its own and the result
    // chosen as the age is: the head's word selects through the choice
    // into x_due's compare were 11 LUT levels)
    begin
      logic [7:0] xi;
      logic b3, lt, k1, kA, kR, kB, kI;
      b3 = hd_nr1 && !hd_ul;  // xb is X_LAG, else X_LAG + 1
      xi = (x_age != 8'hff) ? x_age + 1'b1 : x_age;
      lt = hd_rq ? x_age < hd_xr : b3 ? x_age < 8'(X_LAG) : x_age < 8'(1 + X_LAG);
      // the candidate taken: 1, x_age, hd_xr, xb or xi
      k1 = pop_x && !hd_need;
      kA = pop_x && hd_need && ((x_one && !hd_ul) ? lt : hd_nl);
      kR = pop_x && hd_need && x_one && !hd_ul && !lt && hd_rq;
      kB = pop_x && hd_need && ((x_one && !hd_ul) ? !lt && !hd_rq : !hd_nl);
      kI = !pop_x;
      x_age <= ({8{k1}} & 8'd1) | ({8{kA}} & x_age) | ({8{kR}} & hd_xr)
               | ({8{kB}} & (b3 ? 8'(X_LAG) : 8'(1 + X_LAG))) | ({8{kI}} & xi);
      if (st == S_NAT_HASH) x_one <= 1'b0;
      if (pop_x || rst) x_one <= 1'b1;
      // (nat_age as x_srch stands: set in S_RH, tens of clocks before S_RD_A)
      x_due <= (k1 && 8'd1 >= nat_age) || (kA && x_age >= nat_age) || (kR && hd_xr >= nat_age)
               || (kB && (b3 ? 8'(X_LAG) >= nat_age : 8'(1 + X_LAG) >= nat_age))
               || (kI && xi >= nat_age);
      x_chk <= (k1 && 8'd1 >= chk_age) || (kA && x_age >= chk_age) || (kR && hd_xr >= chk_age)
               || (kB && (b3 ? 8'(X_LAG) >= chk_age : 8'(1 + X_LAG) >= chk_age))
               || (kI && xi >= chk_age);
      if (st == S_RH && !phase_nat) x_srch <= 1'b1;
      if (pop_x || rst) x_srch <= 1'b0;
    end
    lx_out <= lx_out + 3'(lx_go) - 3'(lx_valid && !lx_tag);
    if (lx_go) lx_iss <= 1'b1;
    if (lx_mine) begin
      lx_q <= lx_index;
      lx_got <= 1'b1;
    end
    if (lx_valid && lx_tag && !pop_x) pk_lxf <= 1'b0;
    // the output queue: counts down, shifts on a fire, takes a decision
    // handed over (or a direct one) into the first free entry after that
    begin
      logic [OQ-1:0] f;
      logic [8*OQ-1:0] w;
      logic [7:0] wn;
      logic [OB-1:0] dn;
      for (int unsigned i = 0; i < OQ; i++)
        w[8*i +: 8] = (o_wait[8*i +: 8] != '0) ? o_wait[8*i +: 8] - 1'b1 : o_wait[8*i +: 8];
      f = o_full;
      if (o_fire) begin
        f = {1'b0, o_full[OQ-1:1]};
        for (int unsigned i = 0; i + 1 < OQ; i++) begin
          w[8*i +: 8] = w[8*(i+1) +: 8];
          o_d[OB*i +: OB] <= o_d[OB*(i+1) +: OB];
        end
      end
      // out at X_LAT after it executed: an entry shows a clock after this one
      wn = (32'(x_age) + 1 >= X_LAT) ? 8'h0 : 8'(X_LAT - 1 - 32'(x_age));
      dn = {dec, m, p, v, be};
      if (pop_dir) begin
        wn = 8'(X_LAT - 1);
        dn = {hd_ddec, hd_meta, hd_parsed, {$bits(v){1'b0}}, {$bits(be){1'b0}}};
        horizon <= hd_meta.now;
        since <= '0;
      end
      // (into the first free entry: the full ones are 0 up)
      if (hand || pop_dir) begin
        for (int unsigned i = 0; i < OQ; i++) begin
          if (!f[i] && (i == 0 || f[(i == 0) ? 0 : i - 1])) begin
            o_d[OB*i +: OB] <= dn;
            w[8*i +: 8] = wn;
          end
        end
        f = {f[OQ-2:0], 1'b1};
      end
      // (a pop in this clock starts the next packet's: handed and dfin
      // cleared above)
      if (hand && !pop_x) begin
        handed <= 1'b1;
        dfin <= 1'b0;
      end
      o_full <= f;
      o_wait <= w;
    end

    host_q <= ct_host;
    if (host_q && !ct_host) href_pend <= 1'b1;

    // (the flush clears the hints as it writes each bucket)
    if (flush_req || clear) flush_pend <= 1'b1;
    // bank_swap two clocks ago: `vips` shows the new bank by now, and no
    // packet can have reached the engine since the drain
    swap_q <= {swap_q[0], bank_swap};
    if (swap_q[1]) begin
      for (int sv = 0; sv < MAX_VIPS; sv++) begin
        if (vv_all[sv] && vips[sv*lbnic_pkg::VIP_BITS + lbnic_pkg::VIP_LUT_SIZE_OFF*8 +: 32] == 32'h0)
          rr_ok[sv] <= 1'b0;
      end
    end
    if (rr_we) rr_ok[SB'(s_slot)] <= 1'b1;
    if (clear) rr_ok <= '0;
    if (clear) rr_okq <= 1'b0;  // (taken from S_DISP on)
    if (rst) begin
      swap_q <= '0;
      st <= S_IDLE;
      st_rda <= 1'b0;
      st_rdx <= 1'b0;
      scrubbing <= 1'b0;
      rr_ok <= '0;
      hc_pend <= 1'b1;
      rf_v <= 1'b0;
      flush_pend <= 1'b0;
      href_pend <= 1'b0;
      host_q <= 1'b0;
      sc_ptr <= '0;
      since <= '0;
      horizon <= '0;
      got_a <= 1'b0;
      got_b <= 1'b0;
      rh_out <= '0;
      rh_wait <= 1'b0;
      in_hc <= 1'b0;
      rpost <= 1'b0;
      ex_busy <= 1'b0;
      pre <= 1'b0;
      dfin <= 1'b0;
      handed <= 1'b0;
      lx_out <= '0;
      lx_got <= 1'b0;
      lx_iss <= 1'b0;
      d_go <= 1'b0;
      pk_lx <= 1'b0;
      pk_lxf <= 1'b0;
      pk_lug <= 1'b0;
      pk_luf <= 1'b0;
      pk_beg <= 1'b0;
      pk_bef <= 1'b0;
      be_pq <= 1'b0;
      pm_bei <= 1'b0;
      pm_beg <= 1'b0;
      pm_lui <= 1'b0;
      pm_lug <= 1'b0;
      lut_pv <= 1'b0;
      be_pv <= 1'b0;
      pk_have <= 1'b0;
      pk_tag <= 2'd0;
      sp <= SP_OFF;
      sp_out <= '0;
      sp_rr <= 1'b0;
      rr_ra <= '0;
      rr_bad <= 1'b0;
      pk_rr <= 1'b0;
      x_rrf <= 1'b1;
      x_kn <= 1'b0;
      eb_iss <= 1'b0;
      eb_got <= 1'b0;
      o_full <= '0;
      o_wait <= '0;
      cnt <= '0;
      be_v <= 1'b0;
      lut_v <= 1'b0;
      flush_done <= 1'b0;
    end
  end
endmodule
