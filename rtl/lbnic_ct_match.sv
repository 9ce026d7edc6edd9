// CT_EXEC's way logic (docs/spec.md §6 "Conntrack semantics", §12.1 point
// 2): everything conntrack decides from a packet's two candidate buckets as
// it received them (§12.2 "CT_EXEC executes on the data the packet
// received"), for one key, in one clock:
//
//  * lookup (hw_model::ct::CtTable::find): per way, the key compare
//    (bytes 0..38: addresses, ports, protocol, and the flags byte equal to
//    VALID | V6 | REVERSE | FRAG as wanted) and the expiry
//    (now - last_seen > the timeout of its protocol / TCP state; a
//    fragment entry the SYN timeout; 32-bit wrapping); the hit is the
//    first live match, bucket a's ways before b's; its VIP, backend and
//    state, and the way as `touch` rewrites it (last_seen, packets + 1,
//    bytes + len, the TCP state machine `next_state`);
//  * insert (CtTable::insert): free ways (invalid or expired) counted per
//    bucket; the candidate with more free ways (a on a tie), its lowest
//    free way (`ins_aged`: it held an expired entry); with none free, a
//    relocation (below) if one is possible, else the eviction victim:
//    lowest class (fragment or SYN seen 0, closing/closed 1, the rest 2),
//    then the longest idle, then the first (a's ways, then b's); refused
//    when the victim is class 2 and the new entry is a SYN (state SYN
//    seen); and the new way
//    (`overwrite`: key, flags, initial state, VIP, backend, last_seen =
//    created = now, packets 1, bytes len);
//  * relocation (CtTable::relocation), with no free way: the first resident
//    (a's ways, then b's) that is no fragment entry and whose other
//    candidate bucket (given per way by a hash stage in front: the
//    resident's flow hash) is not one of ours and not marked full; the new
//    entry takes its way, the resident goes to `reloc_bucket` by a posted
//    read-modify-write, which finds the free way there (§12.2).
//
// NOT here (see rtl/README.md): that hash stage, the usable-backend check,
// scheduling, the NAT return entry, the posted RMW unit, counters.
//
// valid/ready, one packet per clock, in stages (latency LATENCY = 3 +
// clog2(2 * WAYS): 7 at 8 ways; a full pipeline stalls as a whole while
// out_ready is low), so that no register-to-register path is more than a
// few LUT levels (spec §13 "Synthesis"): M0 per way (key compare, idle
// time, its timeout, eviction class), M1 per way (expired: free and live
// ways), M2 across the ways (the first live match and its way, the free
// ways per bucket, the first movable resident, the eviction tournament's
// first round), one stage per further round, then the insert plan and
// the touched way into the output register.
// The victim is chosen by a tournament (a pair keeps its left way unless
// the right one is strictly better: lower class, or equal class and longer
// idle), which picks what the model's linear scan picks: the first of the
// best.
module lbnic_ct_match #(
    parameter int unsigned WAYS = lbnic_pkg::TARGET_CT_WAYS,
    // the tag's width (the engine's: its own lookups 0, its heads'
    // pre-matches 1..3)
    parameter int unsigned TW = 1,
    localparam int unsigned WB = (WAYS > 1) ? $clog2(WAYS) : 1,
    localparam int unsigned BBITS = WAYS * lbnic_pkg::CT_WAY_BITS
) (
    input  logic clk,
    input  logic rst,

    input  logic                   in_valid,
    output logic                   in_ready,
    // carried beside the packet to early_tag and out_tag (the engine tells
    // its head's pre-match from its own lookups by it)
    input  logic [TW-1:0]          in_tag,
    input  lbnic_pipe_pkg::ct_key_t key,
    input  logic                   reverse,      // look for / make a NAT return entry
    input  logic [31:0]            now,          // ticks at ingress
    input  logic [15:0]            len,          // frame length
    input  logic [7:0]             tcp_flags,    // the packet's (0 for fragments)
    input  logic [15:0]            new_vip,      // the new entry's VIP slot
    input  logic [15:0]            new_backend,  // and VIP-local backend
    input  logic [31:0]            to_syn,       // GLOBAL timeouts, ticks
    input  logic [31:0]            to_est,
    input  logic [31:0]            to_fin,
    input  logic [31:0]            to_udp,
    input  logic [BBITS-1:0]       bucket_a,     // way w on bits [512w+511:512w]
    input  logic [BBITS-1:0]       bucket_b,
    input  logic [31:0]            a,            // the candidate bucket numbers
    input  logic [31:0]            b,
    // Per resident (way i: a's ways, then b's): its other candidate bucket,
    // whether its candidates include the bucket it is in, and that other
    // bucket's full hint (from a hash stage in front, and the hint bits).
    input  logic [32*2*WAYS-1:0]   res_other,    // way i on [32i+31:32i]
    input  logic [2*WAYS-1:0]      res_placed,
    input  logic [2*WAYS-1:0]      res_full,

    output logic                   out_valid,
    input  logic                   out_ready,
    output logic [TW-1:0]          out_tag,
    // lookup
    output logic                   hit,
    output logic                   hit_b,        // in bucket b
    output logic [WB-1:0]          hit_way,
    output logic [15:0]            hit_vip,
    output logic [15:0]            hit_backend,
    output lbnic_pkg::ct_way_t     touched,      // the hit way after the touch
    // The lookup's hit as the stage after M2 holds it, NQ + 1 clocks
    // before the outputs (early_valid: that stage holds a packet): what
    // hit, hit_vip and hit_backend will say, so that the engine can start
    // the usable check's read before the insert plan is done.
    output logic                   early_valid,
    output logic [TW-1:0]          early_tag,
    output logic                   early_hit,
    output logic [15:0]            early_vip,
    output logic [15:0]            early_backend,
    // and, registered with them, the early hit's VIP is new_vip
    // (early_own) and its backend is below own_count (early_in), 0
    // without a hit: the engine's compares behind early_vip and
    // early_backend were 8 LUT levels into the usable check's read (issue
    // 13). own_count is taken as the early stage fills, the clock before
    // early_valid (the engine's packet has its VIP entry by then), and
    // again as the output register does (hit_in).
    input  logic [15:0]            own_count,
    output logic                   early_own,
    output logic                   early_in,
    // insert
    output logic [1:0]             ins_kind,     // INS_FREE / INS_RELOCATE / INS_EVICT / INS_REFUSED
    output logic                   ins_b,        // where the new entry goes (the victim if refused)
    output logic [WB-1:0]          ins_way,
    output logic                   ins_aged,     // INS_FREE: the free way held an expired entry
    output lbnic_pkg::ct_way_t     new_way,
    // INS_RELOCATE: the resident in (ins_b, ins_way) moves to this bucket
    // (a posted read-modify-write: lowest free way there, §12.2).
    output logic [31:0]            reloc_bucket,
    // Registered beside the rest, for a posted unit (lbnic_ct_rmw), whose
    // side and full hint would otherwise be a choice behind these outputs
    // (its side was the first LUT level of 8 into the engine's forwarding,
    // issue 13): the bucket the write goes to (hit_b on a hit, else
    // ins_b), and whether that bucket is full once the hit way is touched
    // (hit_full) or the new entry takes its free way (ins_full; 1 for the
    // other kinds, which leave no free way in either bucket).
    output logic                   way_b,
    output logic                   hit_full,
    output logic                   ins_full,
    // the hit's VIP is new_vip (the engine's own lookups give the packet's
    // slot there): its compare behind hit_vip was 8 LUT levels into the
    // engine's decision (issue 13)
    output logic                   hit_own,
    // hit_backend is below own_count as the output register fills (the
    // clock before out_valid), as early_in is at the early stage: the
    // engine's range compare behind hit_backend (issue 13)
    output logic                   hit_in
);
  localparam logic [1:0] INS_FREE = 2'd0;
  localparam logic [1:0] INS_RELOCATE = 2'd1;
  localparam logic [1:0] INS_EVICT = 2'd2;
  localparam logic [1:0] INS_REFUSED = 2'd3;
  localparam int unsigned N = 2 * WAYS;
  localparam logic [7:0] TCP = 8'd6;
  localparam logic [7:0] ST_NONE = 8'(lbnic_pkg::TCP_STATE_NONE);
  localparam logic [7:0] ST_SYN = 8'(lbnic_pkg::TCP_STATE_SYN_SEEN);
  localparam logic [7:0] ST_EST = 8'(lbnic_pkg::TCP_STATE_ESTABLISHED);
  localparam logic [7:0] ST_CLOSING = 8'(lbnic_pkg::TCP_STATE_CLOSING);
  localparam logic [7:0] ST_CLOSED = 8'(lbnic_pkg::TCP_STATE_CLOSED);
  localparam logic [7:0] F_VALID = 8'(lbnic_pkg::CT_WAY_FLAG_VALID);
  localparam logic [7:0] F_V6 = 8'(lbnic_pkg::CT_WAY_FLAG_V6);
  localparam logic [7:0] F_REVERSE = 8'(lbnic_pkg::CT_WAY_FLAG_REVERSE);
  localparam logic [7:0] F_FRAG = 8'(lbnic_pkg::CT_WAY_FLAG_FRAG);
  localparam logic [7:0] FIN = 8'h01, SYN = 8'h02, RST = 8'h04, ACK = 8'h10;

  /* verilator lint_off UNUSEDPARAM */
  localparam int unsigned IB = $clog2(N);
  // M0, M1, M2, a stage per further tournament round, the output register
  localparam int unsigned LATENCY = 4 + ((IB > 1) ? IB - 1 : 0);  // documentation; the engine waits for out_valid
  /* verilator lint_on UNUSEDPARAM */

  // The flags byte a matching (and a new) entry has.
  logic [7:0] want_flags;
  assign want_flags = F_VALID | (key.v6 ? F_V6 : 8'd0) | (reverse ? F_REVERSE : 8'd0)
                    | (key.frag ? F_FRAG : 8'd0);

  // A known TCP state code, else "none" (TcpState::from_code).
  function automatic logic [7:0] known(input logic [7:0] s);
    known = (s <= ST_CLOSED) ? s : ST_NONE;
  endfunction

  // ---- per way: expiry, free, match, eviction class ----
  // Ways 0..WAYS-1 are bucket a's, WAYS..2*WAYS-1 bucket b's. (Per-way
  // results in packed vectors: Yosys 0.23 mis-reads unpacked arrays of
  // structs written in always_comb.)
  localparam int unsigned WBITS = lbnic_pkg::CT_WAY_BITS;
  logic [2*BBITS-1:0] all_ways;
  assign all_ways = {bucket_b, bucket_a};
  logic [N-1:0]    key_eq, valid_w, movable;
  logic [2*N-1:0]  cls;    // way i: [2i+1:2i]
  logic [32*N-1:0] idle, limit;   // way i: [32i+31:32i]
  // Fields of a flat way by the package's byte offsets (Yosys 0.23 takes no
  // struct-typed nets inside a generate block).
  `define LBNIC_CT_FIELD(v, F) v[8 * lbnic_pkg::CT_WAY_``F``_OFF +: 8 * lbnic_pkg::CT_WAY_``F``_LEN]
  for (genvar i = 0; i < N; i++) begin : g_way
    /* verilator lint_off UNUSEDSIGNAL */ // counters, VIP, backend: not per way
    logic [WBITS-1:0] wi;
    /* verilator lint_on UNUSEDSIGNAL */
    logic [7:0]  st, fl, pr;
    assign wi = all_ways[i * WBITS +: WBITS];
    assign st = known(`LBNIC_CT_FIELD(wi, TCP_STATE));
    assign fl = `LBNIC_CT_FIELD(wi, FLAGS);
    assign pr = `LBNIC_CT_FIELD(wi, PROTO);
    assign limit[32 * i +: 32] = ((fl & F_FRAG) != 0) ? to_syn
                               : (pr != TCP) ? to_udp
                               : (st == ST_SYN) ? to_syn
                               : (st == ST_CLOSING || st == ST_CLOSED) ? to_fin
                               : to_est;
    assign idle[32 * i +: 32] = now - `LBNIC_CT_FIELD(wi, LAST_SEEN);
    assign valid_w[i] = (fl & F_VALID) != 0;
    // A relocation candidate (CtTable::relocation): not a fragment entry,
    // placed by this table's hash, its other bucket not one of ours and
    // not marked full.
    assign movable[i] = (fl & F_FRAG) == 0 && res_placed[i] && !res_full[i]
                      && res_other[32 * i +: 32] != a && res_other[32 * i +: 32] != b;
    assign key_eq[i] = `LBNIC_CT_FIELD(wi, SRC) == key.src && `LBNIC_CT_FIELD(wi, DST) == key.dst
                         && `LBNIC_CT_FIELD(wi, SRC_PORT) == key.sport
                         && `LBNIC_CT_FIELD(wi, DST_PORT) == key.dport
                         && pr == key.proto && fl == want_flags;
    assign cls[2 * i +: 2] = ((fl & F_FRAG) != 0) ? 2'd0
                           : (pr != TCP) ? 2'd2
                           : (st == ST_SYN) ? 2'd0
                           : (st == ST_CLOSING || st == ST_CLOSED) ? 2'd1
                           : 2'd2;
  end
  `undef LBNIC_CT_FIELD

  // The new entry (CtTable::insert's overwrite), from the inputs alone.
  logic [7:0] new_state;
  always_comb begin
    if (key.frag || key.proto != TCP) new_state = ST_NONE;
    else if ((tcp_flags & SYN) != 0 && (tcp_flags & ACK) == 0) new_state = ST_SYN;
    else new_state = ST_EST;
  end
  lbnic_pkg::ct_way_t c_new;
  always_comb begin
    c_new = '0;
    c_new.src = key.src;
    c_new.dst = key.dst;
    c_new.src_port = key.sport;
    c_new.dst_port = key.dport;
    c_new.proto = key.proto;
    c_new.flags = want_flags;
    c_new.tcp_state = new_state;
    c_new.backend = new_backend;
    c_new.vip = new_vip;
    c_new.last_seen = now;
    c_new.created = now;
    c_new.packets = 32'd1;
    c_new.bytes = {48'd0, len};
  end

  // ---- pipeline control ----
  logic adv, v0, v1;
  logic [TW-1:0] g0, g1;
  assign adv = !out_valid || out_ready;
  assign in_ready = adv;
  always_ff @(posedge clk) begin
    if (rst) begin
      v0 <= 1'b0;
      v1 <= 1'b0;
    end else if (adv) begin
      v0 <= in_valid;
      v1 <= v0;
    end
    if (adv) begin
      g0 <= in_tag;
      g1 <= g0;
    end
  end

  // ---- M0: per way, the fields compared and the idle time, registered ----
  logic [N-1:0]       m0_eq, m0_valid, m0_mov;
  logic [2*N-1:0]     m0_cls;
  logic [32*N-1:0]    m0_idle, m0_limit, m0_other;
  logic [2*BBITS-1:0] m0_ways;
  logic [31:0]        m0_now;
  logic [15:0]        m0_len;
  logic [7:0]         m0_flags;
  logic               m0_syn;
  lbnic_pkg::ct_way_t m0_new;
  always_ff @(posedge clk) begin
    if (adv) begin
      m0_eq <= key_eq;
      m0_valid <= valid_w;
      m0_mov <= movable;
      m0_cls <= cls;
      m0_idle <= idle;
      m0_limit <= limit;
      m0_other <= res_other;
      m0_ways <= all_ways;
      m0_now <= now;
      m0_len <= len;
      m0_flags <= tcp_flags;
      m0_syn <= new_state == ST_SYN;
      m0_new <= c_new;
    end
  end

  // ---- M1: per way, expiry: free and live ways, registered ----
  logic [N-1:0] free_w, live_match;
  always_comb begin
    for (int i = 0; i < N; i++) begin
      logic expired;
      expired = m0_idle[32 * i +: 32] > m0_limit[32 * i +: 32];
      free_w[i] = !m0_valid[i] || expired;
      live_match[i] = !expired && m0_eq[i];
    end
  end
  logic [N-1:0]       m1_free, m1_live, m1_valid, m1_mov;
  logic [2*N-1:0]     m1_cls;
  logic [32*N-1:0]    m1_idle, m1_other;
  logic [2*BBITS-1:0] m1_ways;
  logic [31:0]        m1_now;
  logic [15:0]        m1_len;
  logic [7:0]         m1_flags;
  logic               m1_syn;
  lbnic_pkg::ct_way_t m1_new;
  always_ff @(posedge clk) begin
    if (adv) begin
      m1_free <= free_w;
      m1_live <= live_match;
      m1_valid <= m0_valid;
      m1_mov <= m0_mov;
      m1_cls <= m0_cls;
      m1_idle <= m0_idle;
      m1_other <= m0_other;
      m1_ways <= m0_ways;
      m1_now <= m0_now;
      m1_len <= m0_len;
      m1_flags <= m0_flags;
      m1_syn <= m0_syn;
      m1_new <= m0_new;
    end
  end

  // One round of the eviction tournament: pairs (2k, 2k+1) of K candidates
  // (index, class, idle) -> K/2; the left stays unless the right is
  // strictly better.
  // (A lone last candidate goes on as it is.)
  localparam int unsigned CB = IB + 34;  // {index, class, idle}
  function automatic logic [CB*N-1:0] round(input logic [CB*N-1:0] c, input int unsigned k);
    round = '0;
    for (int j = 0; j < N; j++) begin
      if (2 * j + 1 < k) begin
        logic [CB-1:0] l, r;
        l = c[CB*(2*j) +: CB];
        r = c[CB*(2*j+1) +: CB];
        if (r[33:32] < l[33:32] || (r[33:32] == l[33:32] && r[31:0] > l[31:0]))
          round[CB*j +: CB] = r;
        else
          round[CB*j +: CB] = l;
      end else if (2 * j < k) begin
        round[CB*j +: CB] = c[CB*(2*j) +: CB];
      end
    end
  endfunction
  // Rounds of the tournament: R = clog2(N). M2 plays the first; each of the
  // NQ = R - 1 stages after it (Q1..QNQ) one more; the output stage
  // takes the winner. K[r]: candidates left after r rounds.
  localparam int unsigned R = IB;
  localparam int unsigned NQ = (R > 1) ? R - 1 : 0;
  function automatic int unsigned left_after(input int unsigned r);
    left_after = N;
    for (int unsigned k = 0; k < r; k++) left_after = (left_after + 1) / 2;
  endfunction

  // ---- M2: across the ways ----
  logic          c_hit;
  logic [IB-1:0] c_hit_i;
  logic [N-1:0]  c_hit_1h;  // the first live match, one-hot
  logic [WB:0]   nfree_a, nfree_b;
  logic [WB-1:0] first_a, first_b;
  logic [IB-1:0] mv_i;
  logic [CB*N-1:0] t0, t1;
  logic [WBITS-1:0] c_hw;   // the hit way (AND-OR over the one-hot match)
  logic          c_eown, c_ein;
  // a way's VIP and backend (the package's byte offsets)
  localparam int unsigned VO = 8 * lbnic_pkg::CT_WAY_VIP_OFF, VL = 8 * lbnic_pkg::CT_WAY_VIP_LEN;
  localparam int unsigned BO = 8 * lbnic_pkg::CT_WAY_BACKEND_OFF;
  localparam int unsigned BL = 8 * lbnic_pkg::CT_WAY_BACKEND_LEN;
  always_comb begin
    c_hit = 1'b0;
    c_hit_i = '0;
    mv_i = '0;
    for (int i = N - 1; i >= 0; i--) begin
      if (m1_live[i]) begin
        c_hit = 1'b1;
        c_hit_i = IB'(i);
      end
      if (m1_mov[i]) mv_i = IB'(i);
    end
    c_hit_1h = m1_live & (~m1_live + N'(1));
    c_hw = '0;
    for (int i = 0; i < N; i++)
      c_hw = c_hw | (m1_ways[i * WBITS +: WBITS] & {WBITS{c_hit_1h[i]}});
    // (each way's compares beside the one-hot, then chosen by it)
    c_eown = 1'b0;
    c_ein = 1'b0;
    for (int i = 0; i < N; i++) begin
      c_eown = c_eown | (c_hit_1h[i] && m1_ways[i * WBITS + VO +: VL] == m1_new.vip);
      c_ein = c_ein | (c_hit_1h[i] && m1_ways[i * WBITS + BO +: BL] < own_count);
    end
    nfree_a = '0;
    nfree_b = '0;
    first_a = '0;
    first_b = '0;
    for (int i = WAYS - 1; i >= 0; i--) begin
      if (m1_free[i]) first_a = WB'(i);
      if (m1_free[WAYS + i]) first_b = WB'(i);
    end
    for (int i = 0; i < WAYS; i++) begin
      nfree_a = nfree_a + (WB + 1)'(m1_free[i]);
      nfree_b = nfree_b + (WB + 1)'(m1_free[WAYS + i]);
    end
    for (int i = 0; i < N; i++)
      t0[CB*i +: CB] = {IB'(i), m1_cls[2*i +: 2], m1_idle[32*i +: 32]};
    t1 = round(t0, N);
  end

  // What the output stage needs besides the tournament, carried from M2
  // through the round stages: {hit, hit_i, free, per bucket the free ways,
  // the first free way and whether it held an entry (the choice between
  // the buckets is the output stage's), mov, mvi, reloc, syn, now, len,
  // flags, hit way, new way}.
  localparam int unsigned PB = 1 + IB + 1 + 2 * (WB + 1 + WB + 1) + 1 + IB + 32 + 1 + 32 + 16 + 8
                             + 2 * WBITS;
  logic [PB-1:0]     c_plan;
  assign c_plan = {c_hit, c_hit_i, m1_free != 0, nfree_a, nfree_b, first_a, first_b,
                   m1_valid[32'(first_a)], m1_valid[WAYS + 32'(first_b)],
                   m1_mov != 0, mv_i, m1_other[32 * 32'(mv_i) +: 32], m1_syn, m1_now, m1_len,
                   m1_flags, c_hw, WBITS'(m1_new)};

  // Stage q (0 = M2, 1..NQ = Q1..QNQ): the candidates after q + 1 rounds,
  // the plan bundle and valid.
  logic [(NQ+1)*CB*N-1:0] st_t;
  logic [(NQ+1)*PB-1:0]   st_p;
  logic [NQ:0]            st_v;
  logic [(NQ+1)*TW-1:0]   st_g;
  always_ff @(posedge clk) begin
    if (adv) begin
      st_t[0 +: CB*N] <= t1;
      st_p[0 +: PB] <= c_plan;
      st_g[0 +: TW] <= g1;
      early_own <= c_eown;
      early_in <= c_ein;
    end
    if (rst) st_v[0] <= 1'b0;
    else if (adv) st_v[0] <= v1;
  end
  for (genvar q = 1; q <= NQ; q++) begin : g_round
    always_ff @(posedge clk) begin
      if (adv) begin
        st_t[q*CB*N +: CB*N] <= round(st_t[(q-1)*CB*N +: CB*N], left_after(q));
        st_p[q*PB +: PB] <= st_p[(q-1)*PB +: PB];
        st_g[q*TW +: TW] <= st_g[(q-1)*TW +: TW];
      end
      if (rst) st_v[q] <= 1'b0;
      else if (adv) st_v[q] <= st_v[q-1];
    end
  end

  /* verilator lint_off UNUSEDSIGNAL */  // (its VIP and backend only)
  lbnic_pkg::ct_way_t e_hw;
  /* verilator lint_on UNUSEDSIGNAL */
  assign e_hw = st_p[WBITS +: WBITS];
  assign early_valid = st_v[0];
  assign early_tag = st_g[0 +: TW];
  assign early_hit = st_p[PB-1];
  assign early_vip = e_hw.vip;
  assign early_backend = e_hw.backend;

  // ---- the output stage: the victim, the insert plan, the touched way ----
  /* verilator lint_off UNUSEDSIGNAL */ // the winner is the first candidate
  logic [CB*N-1:0] win;
  /* verilator lint_on UNUSEDSIGNAL */
  logic [IB-1:0] vic_i;
  logic [1:0]    vic_cls;
  assign win = st_t[NQ*CB*N +: CB*N];
  assign vic_i = win[CB-1:34];
  assign vic_cls = win[33:32];

  logic          p_hit, p_free, p_aged_a, p_aged_b, p_mov, p_syn, p_fb;
  logic [IB-1:0] p_hit_i, p_mvi;
  logic [WB:0]   p_nfree_a, p_nfree_b;
  logic [WB-1:0] p_first_a, p_first_b;
  logic [31:0]   p_reloc, p_now;
  logic [15:0]   p_len;
  logic [7:0]    p_flags;
  lbnic_pkg::ct_way_t hw, p_new, c_touched;
  logic [WBITS-1:0] p_hw, p_newb;
  assign {p_hit, p_hit_i, p_free, p_nfree_a, p_nfree_b, p_first_a, p_first_b, p_aged_a, p_aged_b,
          p_mov, p_mvi, p_reloc, p_syn, p_now, p_len, p_flags, p_hw, p_newb} = st_p[NQ*PB +: PB];
  assign p_fb = p_nfree_b > p_nfree_a;
  assign hw = p_hw;
  assign p_new = p_newb;

  logic [7:0] hs;
  always_comb begin
    hs = known(hw.tcp_state);
    c_touched = hw;
    c_touched.last_seen = p_now;
    c_touched.packets = hw.packets + 32'd1;
    c_touched.bytes = hw.bytes + {48'd0, p_len};
    if (hw.proto == TCP) begin
      if ((p_flags & RST) != 0) c_touched.tcp_state = ST_CLOSED;
      else if ((p_flags & FIN) != 0) c_touched.tcp_state = (hs == ST_CLOSED) ? ST_CLOSED : ST_CLOSING;
      else if ((hs == ST_SYN || hs == ST_NONE) && (p_flags & ACK) != 0 && (p_flags & SYN) == 0)
        c_touched.tcp_state = ST_EST;
      else c_touched.tcp_state = hs;
    end
  end

  logic [1:0]    c_kind;
  logic          c_ins_b, c_aged;
  logic [WB-1:0] c_ins_way;
  always_comb begin
    c_aged = 1'b0;
    if (p_free) begin
      c_kind = INS_FREE;
      c_ins_b = p_fb;
      c_ins_way = p_fb ? p_first_b : p_first_a;
      c_aged = p_fb ? p_aged_b : p_aged_a;
    end else if (p_mov) begin
      c_kind = INS_RELOCATE;
      c_ins_b = p_mvi >= IB'(WAYS);
      c_ins_way = WB'(32'(p_mvi) % WAYS);
    end else begin
      c_ins_b = vic_i >= IB'(WAYS);
      c_ins_way = WB'(32'(vic_i) % WAYS);
      c_kind = (vic_cls == 2'd2 && p_syn) ? INS_REFUSED : INS_EVICT;
    end
  end

  always_ff @(posedge clk) begin
    if (rst) out_valid <= 1'b0;
    else if (adv) out_valid <= st_v[NQ];
    if (adv && st_v[NQ]) begin
      out_tag <= st_g[NQ*TW +: TW];
      hit <= p_hit;
      hit_b <= p_hit_i >= IB'(WAYS);
      hit_way <= WB'(32'(p_hit_i) % WAYS);
      hit_vip <= hw.vip;
      hit_backend <= hw.backend;
      touched <= c_touched;
      ins_kind <= c_kind;
      ins_b <= c_ins_b;
      ins_way <= c_ins_way;
      ins_aged <= c_aged;
      new_way <= p_new;
      reloc_bucket <= p_reloc;
      way_b <= p_hit ? p_hit_i >= IB'(WAYS) : c_ins_b;
      hit_full <= ((p_hit_i >= IB'(WAYS)) ? p_nfree_b : p_nfree_a) == '0;
      ins_full <= !p_free || (p_fb ? p_nfree_b : p_nfree_a) == (WB+1)'(1);
      hit_own <= hw.vip == p_new.vip;
      hit_in <= hw.backend < own_count;
    end
  end
endmodule
