// The egress (docs/spec.md §12.2 "The pipeline in the RTL", §12.3
// decision 3): per decision, in packet order, the decision's frame read
// from lbnic_pkt_buf into one of LANES lanes (an lbnic_rewrite and the
// packet's registers each), so that a packet's frame is read right behind
// the one before it and its first beat goes on TX right behind that one's
// last, as the cycle model's BACKEND, REWRITE and TX take one packet a
// clock; the ICMP too-big answers (lbnic_icmp_too_big) and the sums
// REWRITE cannot take in its own pass (lbnic_hdr_sums). A lane:
//   L_PREW   (GUE forward with no RX sum, or NAT of an ICMP error) until
//            the packets before it have left the egress;
//   L_PRE    the frame read once through lbnic_hdr_sums, alone in the
//            buffer's read port;
//   L_RWD    the descriptor to the lane's lbnic_rewrite;
//   L_RW     the frame read into it, in packet order (every decision:
//            PASS sent unchanged, DROP consumed), its output on TX in
//            packet order, its status;
//   L_ICMP_D a Forward that came out too big, once it is the oldest (the
//   L_ICMP   unit reads the head frame): lbnic_icmp_too_big (two reads of
//            the frame; the answer on TX, its result);
//   L_REL    done: the frame released with its status (`rel_*`, for the
//            counters), once the oldest.
// A packet that needs the buffer's read port again (L_PRE, a too-big
// Forward) holds back the reads of the packets behind it until two
// clocks after its release, where the egress one packet at a time took
// the next decision: the cycle model charges those passes as REWRITE's
// busy time (hw_model::cycle::egress_reads).
//
// The packet buffer's side: the frame of the next decision is `at_sel`
// behind the head (as many as there are packets in the egress); a read
// starts at the frame `rd_sel` behind the head; `release` frees the head.
module lbnic_egress #(
    parameter int unsigned DATA_BYTES = lbnic_pkg::TARGET_DATAPATH_BYTES,
    // lanes (a power of two, 2 or more): packets in the egress at once
    parameter int unsigned LANES = 2,
    // the packet buffer's frames, and its late side data: lbnic_rx_sum's
    // {ok, lo, hi, sum}
    parameter int unsigned FRAMES = 256,
    parameter int unsigned LATE_BITS = 1 + 16 + 16 + 16,
    localparam int unsigned PFW = $clog2(FRAMES)
) (
    input  logic clk,
    input  logic rst,
    input  logic clear,                    // RESET: the ICMP token bucket
    input  lbnic_pkg::global_t gcfg,

    // the decisions, in packet order
    input  logic                      in_valid,
    output logic                      in_ready,
    input  lbnic_pipe_pkg::decision_t in_dec,
    input  lbnic_pipe_pkg::meta_t     in_meta,
    input  lbnic_pipe_pkg::parsed_t   in_parsed,
    input  lbnic_pkg::vip_t           in_vip,
    input  lbnic_pkg::backend_t       in_be,

    // lbnic_pkt_buf
    output logic [PFW-1:0]            at_sel,
    input  logic                      at_valid,
    input  logic [31:0]               at_user,   // the RX index
    input  logic [LATE_BITS-1:0]      at_late,
    output logic [PFW-1:0]            rd_sel,
    output logic                      rd_valid,
    input  logic                      rd_ready,
    input  logic                      rd_busy,
    output logic                      release_head,
    input  logic                      s_tvalid,
    output logic                      s_tready,
    input  logic [8*DATA_BYTES-1:0]   s_tdata,
    input  logic [DATA_BYTES-1:0]     s_tkeep,
    input  logic                      s_tlast,

    // TX; m_tx_tuser: the RX index of the frame the output came from
    output logic                      m_tx_tvalid,
    input  logic                      m_tx_tready,
    output logic [8*DATA_BYTES-1:0]   m_tx_tdata,
    output logic [DATA_BYTES-1:0]     m_tx_tkeep,
    output logic                      m_tx_tlast,
    output logic [31:0]               m_tx_tuser,

    // with release_head: what became of the released packet (lbnic_rewrite's
    // st_kind and st_drop_counter; a too-big Forward's answer sent or
    // rate-limited)
    output logic [2:0]                rel_kind,
    output logic [7:0]                rel_drop,
    output logic                      rel_icmp,
    output logic                      rel_sent,
    output logic                      rel_limited,

    // a packet in the egress
    output logic                      busy
);
  localparam int unsigned DB = DATA_BYTES;
  localparam int unsigned PB_LATE = LATE_BITS;
  // lbnic_rewrite st_kind
  localparam logic [2:0] ST_TX = 3'd0, ST_PASS = 3'd1, ST_TOO_BIG = 3'd3;
  localparam logic [7:0] C_GUE = lbnic_pkg::MODE_TUN_GUE;
  localparam int unsigned NL = LANES;
  localparam int unsigned LW = $clog2(NL);
  if (NL < 2 || (1 << LW) != NL || NL > FRAMES) begin : g_lanes
    $error("lbnic_egress: LANES must be a power of two, 2 or more, and at most FRAMES");
  end
  localparam logic [2:0] L_IDLE = 3'd0, L_PRE = 3'd1, L_RWD = 3'd2, L_RW = 3'd3, L_ICMP_D = 3'd4,
                         L_ICMP = 3'd5, L_REL = 3'd6, L_PREW = 3'd7;
  // in packet order: the lane the next decision goes to, the next to read,
  // the one the buffer's beats go to, the one on TX, the oldest
  logic [LW-1:0] tk, rd_l, in_l, out_l, rel_l;
  // each lane's, for the others and the shared units
  logic [2:0] l_st[NL];
  logic [NL-1:0] l_blk;      // holds back the reads of younger packets
  logic [NL-1:0] l_sp;       // needs the read port again (L_PRE, too big)
  logic [NL-1:0] l_rd_req, l_out_go, l_started;
  logic [NL-1:0] rw_s_tready, rw_m_tvalid, rw_m_tlast;
  logic [8*DB-1:0] rw_m_tdata[NL];
  logic [DB-1:0] rw_m_tkeep[NL];
  localparam int unsigned PSB = $bits(in_parsed);
  logic [PSB-1:0] l_parsed_v[NL];
  logic [31:0] l_index[NL], l_now[NL];
  logic [2:0] l_st_kind[NL];
  logic [7:0] l_st_drop[NL];
  logic [NL-1:0] l_st_forward, l_r_sent, l_r_limited;
  logic [15:0] l_st_len[NL], l_st_max[NL];
  logic need_pre, take, eg_pre, eg_icmp, eg_busy;
  logic [1:0] sp_q;          // a packet that held back reads was released
  logic [NL-1:0] l_older_blk[NL];
  // lbnic_rx_sum located the IP packet where the parser did: its sum is
  // REWRITE's l3 sum, and a GUE encapsulation needs no pre-pass (§12.3)
  logic rx_sum_use;
  assign rx_sum_use = at_late[PB_LATE-1] && at_late[PB_LATE-2-:16] == 16'(in_parsed.l3_offset)
                   && at_late[31:16] == 16'(in_parsed.l3_offset) + in_parsed.l3_len;

  // the frame of the next decision is as many behind the head as there
  // are packets in the egress (the head frame's late side data is in long
  // before its decision comes: FRONT's latency alone is more than
  // lbnic_rx_sum's)
  logic [LW-1:0] at_off, rd_off;
  assign at_off = tk - rel_l;
  assign rd_off = rd_l - rel_l;
  assign at_sel = PFW'(at_off);
  always_comb begin
    eg_busy = 1'b0;
    eg_pre = 1'b0;
    eg_icmp = 1'b0;
    for (int i = 0; i < NL; i++) begin
      eg_busy |= l_st[i] != L_IDLE;
      eg_pre |= l_st[i] == L_PRE;
      eg_icmp |= l_st[i] == L_ICMP;
    end
  end
  assign need_pre = (in_dec.kind == lbnic_pipe_pkg::DECISION_FORWARD && in_vip.mode == C_GUE && !rx_sum_use)
                 || ((in_dec.kind == lbnic_pipe_pkg::DECISION_FORWARD
                      || in_dec.kind == lbnic_pipe_pkg::DECISION_REVERSE_NAT)
                     && in_parsed.icmp_error_valid);
  assign in_ready = l_st[tk] == L_IDLE && at_valid;
  assign take = in_valid && in_ready;

  // header sums: the pre-pass's lane is the oldest, the one on TX (its
  // read starts in its first clock of L_PRE, the sums' start beside it)
  logic hs_done;
  logic [15:0] hs_l3, hs_qip, hs_ql4;
  lbnic_hdr_sums #(.DATA_BYTES(DB)) sums (
      .clk, .rst, .start(eg_pre && !l_started[out_l]), .parsed(l_parsed_v[out_l]),
      .s_tvalid(eg_pre && s_tvalid), .s_tdata(s_tdata), .s_tlast(s_tlast),
      .done(hs_done), .l3_sum(hs_l3), .quote_ip(hs_qip), .quote_l4(hs_ql4)
  );

  logic rd_fire, rd_last_fire, in_last, tx_fire_rw;
  assign rd_fire = rd_valid && rd_ready;
  assign rd_last_fire = s_tvalid && s_tready && s_tlast;
  // the last beat of a frame read into a lane
  assign in_last = rd_last_fire && !eg_pre && !eg_icmp;

  // TX: the lanes' outputs in packet order, or the ICMP answer
  logic tx_icmp;
  assign tx_icmp = eg_icmp;
  assign tx_fire_rw = m_tx_tvalid && m_tx_tready && !tx_icmp;

  for (genvar g = 0; g < NL; g++) begin : g_lane
    localparam logic [LW-1:0] G = LW'(g);
    logic [2:0] st;
    lbnic_pipe_pkg::decision_t dec;
    lbnic_pipe_pkg::meta_t meta;
    lbnic_pipe_pkg::parsed_t parsed;
    lbnic_pkg::vip_t vip;
    lbnic_pkg::backend_t be;
    logic [31:0] index;
    logic [31:0] now;       // meta's (Yosys 0.23 resolves no member of a struct in a generate block)
    logic [15:0] rxs;       // lbnic_rx_sum's
    logic pre;
    logic started;          // its read (pre-pass, then REWRITE's) was started
    logic read_done;        // its last beat went into REWRITE
    logic st_seen, out_done, emits, adv;
    logic [2:0] st_kind;
    logic [7:0] st_drop;
    logic st_forward;
    logic [15:0] st_len, st_max;
    logic r_seen, r_sent, r_limited;
    logic sp;
    logic icmp_fwd;         // its status: a too-big Forward (the ICMP unit answers it)

    logic d_valid, d_ready, st_valid, st_fwd;
    logic [2:0] st_k;
    logic [7:0] st_d;
    logic [15:0] st_l, st_m;
    assign d_valid = st == L_RWD && (!pre || hs_done);
    lbnic_rewrite #(.DATA_BYTES(DB)) rewrite (
        .clk, .rst,
        .d_valid, .d_ready, .d_decision(dec), .d_parsed(parsed),
        .d_meta(meta), .d_vip(vip), .d_backend(be), .d_global(gcfg),
        .d_l3_sum(pre ? hs_l3 : rxs), .d_quote_ip_csum(hs_qip), .d_quote_l4_csum(hs_ql4),
        .s_tdata(s_tdata), .s_tkeep(s_tkeep), .s_tlast(s_tlast),
        .s_tvalid(st == L_RW && in_l == G && !eg_pre && !eg_icmp && s_tvalid),
        .s_tready(rw_s_tready[g]),
        .m_tdata(rw_m_tdata[g]), .m_tkeep(rw_m_tkeep[g]), .m_tlast(rw_m_tlast[g]),
        .m_tvalid(rw_m_tvalid[g]),
        .m_tready(st == L_RW && out_l == G && !tx_icmp && m_tx_tready),
        .st_valid, .st_ready(1'b1), .st_kind(st_k), .st_drop_counter(st_d),
        .st_forward(st_fwd), .st_len(st_l), .st_max(st_m)
    );

    assign icmp_fwd = st_kind == ST_TOO_BIG && st_forward;
    assign sp = pre || (st_seen && icmp_fwd);
    assign l_sp[g] = st != L_IDLE && sp;
    // a packet holds back younger reads until its status says it will
    // not read again, and after that until it is released
    assign l_blk[g] = st == L_PREW || st == L_PRE || st == L_RWD || (st == L_RW && (!st_seen || sp))
                   || st == L_ICMP_D || st == L_ICMP || (st == L_REL && sp);
    assign l_rd_req[g] = rd_l == G && st == L_RW && !started && !(|l_older_blk[g]) && sp_q == '0;
    // its output is done (the last beat on TX, or none to send, or the
    // ICMP answer's result in): TX goes on to the next lane
    assign l_out_go[g] = out_l == G && !adv
        && ((st == L_RW && ((tx_fire_rw && m_tx_tlast)
                            || (st_seen && !emits && !icmp_fwd)))
            || (st == L_ICMP && r_seen && !rd_busy));
    assign l_st[g] = st;
    assign l_started[g] = started;
    assign l_parsed_v[g] = parsed;
    assign l_index[g] = index;
    assign l_now[g] = now;
    assign l_st_kind[g] = st_kind;
    assign l_st_drop[g] = st_drop;
    assign l_st_forward[g] = st_forward;
    assign l_st_len[g] = st_len;
    assign l_st_max[g] = st_max;
    assign l_r_sent[g] = r_sent;
    assign l_r_limited[g] = r_limited;

    always_ff @(posedge clk) begin
      if (rst) begin
        st <= L_IDLE;
      end else begin
        case (st)
          L_IDLE:
            if (take && tk == G) begin
              dec <= in_dec;
              meta <= in_meta;
              now <= in_meta.now;
              parsed <= in_parsed;
              vip <= in_vip;
              be <= in_be;
              index <= at_user;
              rxs <= at_late[15:0];
              pre <= need_pre;
              started <= 1'b0;
              st <= !need_pre ? L_RWD : eg_busy ? L_PREW : L_PRE;
            end
          L_PREW: if (rel_l == G) st <= L_PRE;
          L_PRE: begin
            if (rd_fire) started <= 1'b1;
            if (rd_last_fire) begin
              started <= 1'b0;
              st <= L_RWD;
            end
          end
          L_RWD:
            if (d_valid && d_ready) begin
              st <= L_RW;
              started <= 1'b0;
              read_done <= 1'b0;
              st_seen <= 1'b0;
              out_done <= 1'b0;
              adv <= 1'b0;
            end
          L_RW: begin
            if (l_rd_req[g] && rd_ready) started <= 1'b1;
            if (in_last && in_l == G) read_done <= 1'b1;
            if (st_valid) begin
              st_seen <= 1'b1;
              st_kind <= st_k;
              st_drop <= st_d;
              st_forward <= st_fwd;
              st_len <= st_l;
              st_max <= st_m;
              emits <= st_k == ST_TX || st_k == ST_PASS;
            end
            if (l_out_go[g]) adv <= 1'b1;
            if (tx_fire_rw && out_l == G && m_tx_tlast) out_done <= 1'b1;
            // (a packet with nothing to send waits for TX to come to it,
            // so that TX goes on past it in packet order)
            if (read_done && st_seen
                && (emits ? out_done : icmp_fwd || adv || l_out_go[g]))
              st <= icmp_fwd ? L_ICMP_D : L_REL;
          end
          L_ICMP_D:
            if (rel_l == G && ic_d_ready) begin
              st <= L_ICMP;
              r_seen <= 1'b0;
            end
          L_ICMP: begin
            if (ic_r_valid) begin
              r_seen <= 1'b1;
              r_sent <= ic_r_sent;
              r_limited <= ic_r_limited;
            end
            // the answer has left and no read is in flight
            if (l_out_go[g]) st <= L_REL;
          end
          L_REL: if (rel_l == G) st <= L_IDLE;
          default: st <= L_IDLE;
        endcase
      end
    end
  end

  // the lanes older than each (between the oldest and it) that hold back
  // its read
  always_comb
    for (int g = 0; g < NL; g++)
      for (int h = 0; h < NL; h++)
        l_older_blk[g][h] = l_blk[h] && LW'(LW'(h) - rel_l) < LW'(LW'(g) - rel_l);

  // ICMP too-big: the lane on TX, once it is the oldest
  logic ic_d_valid, ic_d_ready, ic_rd_valid, ic_s_tready, ic_m_tvalid, ic_m_tready, ic_m_tlast;
  logic [8*DB-1:0] ic_m_tdata;
  logic [DB-1:0] ic_m_tkeep;
  logic ic_r_valid, ic_r_sent, ic_r_limited;
  logic [2:0] ic_r_reason;
  assign ic_d_valid = l_st[out_l] == L_ICMP_D && rel_l == out_l;
  lbnic_icmp_too_big #(.DATA_BYTES(DB)) icmp (
      .clk, .rst, .clear(clear),
      .d_valid(ic_d_valid), .d_ready(ic_d_ready), .d_parsed(l_parsed_v[out_l]),
      .d_forward(l_st_forward[out_l]), .d_len({1'b0, l_st_len[out_l]}), .d_max(l_st_max[out_l]),
      .d_max_frame(gcfg.max_frame), .d_device_mac(gcfg.device_mac), .d_now(l_now[out_l]),
      .d_icmp_rate(gcfg.icmp_rate), .d_icmp_burst(gcfg.icmp_burst),
      .rd_valid(ic_rd_valid), .rd_ready(eg_icmp && rd_ready),
      .s_tdata(s_tdata), .s_tkeep(s_tkeep), .s_tlast(s_tlast),
      .s_tvalid(eg_icmp && s_tvalid), .s_tready(ic_s_tready),
      .m_tdata(ic_m_tdata), .m_tkeep(ic_m_tkeep), .m_tlast(ic_m_tlast), .m_tvalid(ic_m_tvalid),
      .m_tready(ic_m_tready),
      .r_valid(ic_r_valid), .r_ready(1'b1), .r_reason(ic_r_reason), .r_sent(ic_r_sent),
      .r_rate_limited(ic_r_limited)
  );

  // the buffer's read port: the pre-pass, the ICMP unit, or the lane whose
  // read is next (the frame as many behind the head as it is behind the
  // oldest)
  // (the pre-pass's lane is alone in the egress: the one on TX)
  always_comb begin
    rd_sel = '0;
    s_tready = 1'b0;
    if (eg_pre) begin
      rd_valid = !l_started[out_l];
      s_tready = 1'b1;
    end else if (eg_icmp) begin
      rd_valid = ic_rd_valid;
      s_tready = ic_s_tready;
    end else begin
      rd_valid = |l_rd_req;
      rd_sel = PFW'(rd_off);
      s_tready = rw_s_tready[in_l];
    end
  end
  assign release_head = l_st[rel_l] == L_REL;

  assign m_tx_tvalid = tx_icmp ? ic_m_tvalid : (l_st[out_l] == L_RW && rw_m_tvalid[out_l]);
  assign m_tx_tdata = tx_icmp ? ic_m_tdata : rw_m_tdata[out_l];
  assign m_tx_tkeep = tx_icmp ? ic_m_tkeep : rw_m_tkeep[out_l];
  assign m_tx_tlast = tx_icmp ? ic_m_tlast : rw_m_tlast[out_l];
  assign m_tx_tuser = l_index[out_l];
  assign ic_m_tready = tx_icmp && m_tx_tready;

  always_ff @(posedge clk) begin
    if (rst) begin
      tk <= '0;
      rd_l <= '0;
      in_l <= '0;
      out_l <= '0;
      rel_l <= '0;
      sp_q <= '0;
    end else begin
      if (take) tk <= tk + 1'b1;
      if (!eg_pre && !eg_icmp && rd_fire) rd_l <= rd_l + 1'b1;
      if (in_last) in_l <= in_l + 1'b1;
      if (|l_out_go) out_l <= out_l + 1'b1;
      if (release_head) rel_l <= rel_l + 1'b1;
      sp_q <= {sp_q[0], release_head && l_sp[rel_l]};
    end
  end

  assign busy = eg_busy;
  assign rel_kind = l_st_kind[rel_l];
  assign rel_drop = l_st_drop[rel_l];
  assign rel_icmp = l_st_kind[rel_l] == ST_TOO_BIG && l_st_forward[rel_l];
  assign rel_sent = l_r_sent[rel_l];
  assign rel_limited = l_r_limited[rel_l];

  logic unused;
  assign unused = ^{ic_r_reason};
endmodule
