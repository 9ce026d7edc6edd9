// The lbnic pipeline (docs/spec.md §12): everything between the RX and TX
// ports, the register block and the banks. What the Verilator harness
// (rtl/sim/) drives: it only drives these ports and serves the conntrack
// memory.
//
// RX: frames of DATA_BYTES beats (byte k of a beat on bits [8k+7:8k], the
// first byte of the frame in byte 0 of the first beat), tkeep contiguous
// from byte 0 and all ones except on the last beat. s_rx_tuser (held over
// the frame's beats; sampled with the first) is the frame's ingress
// timestamp in conntrack ticks, taken by the MAC as the frame arrived (spec
// §12.1 point 2: device time is the packet's ingress time, so a decision
// never depends on queueing delay).
// TX: the same beat format; m_tx_tuser (valid over the whole frame) is the
// index of the RX frame the output came from (every frame RX took counts,
// oversize ones included), for the harness to match outputs with inputs.
//
// Register block: AXI4-Lite, 32-bit, the §3 offsets. Bank aperture: 64-bit
// words at byte offset ap_addr of the two banks' region (§2: bank 0 at 0,
// bank 1 at MEM_BANK1_BASE), as lbnic_bank's host port. The conntrack
// region of the aperture is the memory controller's, not the pipeline's.
/* verilator lint_off UNUSEDPARAM */
module lbnic_top #(
    parameter int unsigned DATA_BYTES = lbnic_pkg::TARGET_DATAPATH_BYTES,
    parameter int unsigned MAX_VIPS = lbnic_pkg::TARGET_MAX_VIPS,
    parameter int unsigned MAX_BACKENDS = lbnic_pkg::TARGET_MAX_BACKENDS,
    parameter int unsigned LUT_ENTRIES = lbnic_pkg::TARGET_LUT_ENTRIES,
    parameter int unsigned LUT_ENTRY_BITS = lbnic_pkg::TARGET_LUT_ENTRY_BITS,
    parameter int unsigned CT_WAYS = lbnic_pkg::TARGET_CT_WAYS,
    parameter int unsigned CT_BUCKET_BITS = lbnic_pkg::TARGET_CT_BUCKET_BITS,
    localparam int unsigned CT_TAG_BITS = lbnic_pkg::CT_TAG_BITS,  // the contract's tags
    // packets CT_REQ reads ahead (lbnic_ct_engine DEPTH)
    parameter int unsigned CT_DEPTH = 16,
    // packet buffer: beats (a power of two, >= TARGET_MAX_RX_FRAME bytes)
    // and frames
    parameter int unsigned PKT_BUF_BEATS = 65536 / DATA_BYTES,
    parameter int unsigned PKT_BUF_FRAMES = 256,
    // egress lanes (a power of two, 2 or more): packets in the egress at
    // once, each with its own lbnic_rewrite
    parameter int unsigned EG_LANES = 2,
    // the MAC's limit (decision 5); only a synthesis wrapper changes it
    parameter int unsigned MAX_RX_FRAME = lbnic_pkg::TARGET_MAX_RX_FRAME,
    localparam int unsigned CT_BBITS = CT_WAYS * lbnic_pkg::CT_WAY_BITS,
    localparam logic [63:0] AL = 64'(lbnic_pkg::SECTION_ALIGN),
    localparam logic [63:0] VIP_BASE = (64'(lbnic_pkg::GLOBAL_LEN) + AL - 1) / AL * AL,
    localparam logic [63:0] BE_BASE =
        (VIP_BASE + 64'(MAX_VIPS) * lbnic_pkg::VIP_LEN + AL - 1) / AL * AL,
    localparam logic [63:0] LUT_BASE =
        (BE_BASE + 64'(MAX_BACKENDS) * lbnic_pkg::BACKEND_LEN + AL - 1) / AL * AL,
    localparam logic [63:0] LUT_BYTES = (64'(LUT_ENTRIES) * LUT_ENTRY_BITS + 7) / 8,
    localparam logic [63:0] BANK_LEN = (LUT_BASE + LUT_BYTES + AL - 1) / AL * AL,
    localparam int unsigned AAW = $clog2(2 * BANK_LEN)
) (
    input  logic                         clk,
    input  logic                         rst,

    // RX
    input  logic                         s_rx_tvalid,
    output logic                         s_rx_tready,
    input  logic [8*DATA_BYTES-1:0]      s_rx_tdata,
    input  logic [DATA_BYTES-1:0]        s_rx_tkeep,
    input  logic                         s_rx_tlast,
    input  logic [31:0]                  s_rx_tuser,

    // TX
    output logic                         m_tx_tvalid,
    input  logic                         m_tx_tready,
    output logic [8*DATA_BYTES-1:0]      m_tx_tdata,
    output logic [DATA_BYTES-1:0]        m_tx_tkeep,
    output logic                         m_tx_tlast,
    output logic [31:0]                  m_tx_tuser,

    // register block, AXI4-Lite
    input  logic [11:0]                  s_axil_awaddr,
    input  logic                         s_axil_awvalid,
    output logic                         s_axil_awready,
    input  logic [31:0]                  s_axil_wdata,
    input  logic [3:0]                   s_axil_wstrb,
    input  logic                         s_axil_wvalid,
    output logic                         s_axil_wready,
    output logic [1:0]                   s_axil_bresp,
    output logic                         s_axil_bvalid,
    input  logic                         s_axil_bready,
    input  logic [11:0]                  s_axil_araddr,
    input  logic                         s_axil_arvalid,
    output logic                         s_axil_arready,
    output logic [31:0]                  s_axil_rdata,
    output logic [1:0]                   s_axil_rresp,
    output logic                         s_axil_rvalid,
    input  logic                         s_axil_rready,

    // bank aperture (64-bit words)
    input  logic                         ap_valid,
    output logic                         ap_ready,
    input  logic                         ap_write,
    input  logic [AAW-1:0]               ap_addr,
    input  logic [63:0]                  ap_wdata,
    output logic                         ap_rvalid,
    input  logic                         ap_rready,
    output logic [63:0]                  ap_rdata,

    // conntrack memory port (lbnic_ct_engine)
    output logic                         ct_rd_valid,
    input  logic                         ct_rd_ready,
    output logic [CT_TAG_BITS-1:0]       ct_rd_tag,
    output logic [CT_BUCKET_BITS-1:0]    ct_rd_bucket,
    input  logic                         ct_rsp_valid,
    input  logic [CT_TAG_BITS-1:0]       ct_rsp_tag,
    input  logic [CT_BBITS-1:0]          ct_rsp_data,
    output logic                         ct_wr_valid,
    input  logic                         ct_wr_ready,
    output logic [CT_BUCKET_BITS-1:0]    ct_wr_bucket,
    output logic [CT_WAYS-1:0]           ct_wr_mask,
    output logic [CT_BBITS-1:0]          ct_wr_data,

    // for the harness: nothing between RX and TX (no frame, descriptor or
    // conntrack work in flight), and a scrubber pass ended after the last
    // packet entered conntrack
    output logic                         idle,
    output logic                         swept,
    // stage probes (performance monitors; a cycle-for-cycle compare with
    // the cycle model names the stage where they part): a packet left
    // FRONT into CT_REQ, a decision left CT_EXEC (the egress took it), and
    // how many decisions became ready to leave CT_EXEC (where the cycle
    // model's leave for BACKEND's FIFO; the egress may take them later).
    // Packets pass each in RX order, one per strobe or count.
    output logic                         probe_ct_req,
    output logic                         probe_ct_exec,
    output logic [1:0]                   probe_ct_ready,
    // the conntrack port's access this clock (read or write) is background
    // work (scrubber, hint refresh, flush), not a packet's
    output logic                         probe_ct_bg
);


  localparam int unsigned DB = DATA_BYTES;
  localparam int unsigned W = lbnic_pkg::PARSE_WINDOW;
  localparam int unsigned NC = lbnic_pkg::COUNTER_COUNT;
  localparam int unsigned NP = lbnic_pkg::PARSE_REASON_COUNT;
  localparam int unsigned CAB = 16;  // lbnic_regs CNT_AMT_BITS
  localparam int unsigned BIW = (MAX_BACKENDS > 1) ? $clog2(MAX_BACKENDS) : 1;
  localparam int unsigned LIW = (LUT_ENTRIES > 1) ? $clog2(LUT_ENTRIES) : 1;
  localparam int unsigned MAX_RX = MAX_RX_FRAME;
  // min(2^CT_BUCKET_BITS, the target's page): the target's at its own bits
  localparam int unsigned CT_PAGE = ((1 << CT_BUCKET_BITS) < lbnic_pkg::TARGET_CT_PAGE_BUCKETS)
      ? (1 << CT_BUCKET_BITS) : lbnic_pkg::TARGET_CT_PAGE_BUCKETS;
  // lbnic_contract::target::MIN_FRAME (not in the generated package yet)
  localparam logic [15:0] MIN_FRAME = 16'd60;
  // counter lanes
  localparam int unsigned I_RX_PACKETS = (lbnic_pkg::COUNTER_RX_PACKETS - lbnic_pkg::REG_COUNTERS) / 8;
  localparam int unsigned I_RX_BYTES = (lbnic_pkg::COUNTER_RX_BYTES - lbnic_pkg::REG_COUNTERS) / 8;
  localparam int unsigned I_TX_PACKETS = (lbnic_pkg::COUNTER_TX_PACKETS - lbnic_pkg::REG_COUNTERS) / 8;
  localparam int unsigned I_TX_BYTES = (lbnic_pkg::COUNTER_TX_BYTES - lbnic_pkg::REG_COUNTERS) / 8;
  localparam int unsigned I_PASS = (lbnic_pkg::COUNTER_PASS_PACKETS - lbnic_pkg::REG_COUNTERS) / 8;
  localparam int unsigned I_DROP_PARSE = (lbnic_pkg::COUNTER_DROP_PARSE - lbnic_pkg::REG_COUNTERS) / 8;
  localparam int unsigned I_TOO_BIG = (lbnic_pkg::COUNTER_DROP_TOO_BIG - lbnic_pkg::REG_COUNTERS) / 8;
  localparam int unsigned I_FRAG = (lbnic_pkg::COUNTER_FRAG_PACKETS - lbnic_pkg::REG_COUNTERS) / 8;
  localparam int unsigned I_ICMP_SENT = (lbnic_pkg::COUNTER_ICMP_TOO_BIG_SENT - lbnic_pkg::REG_COUNTERS) / 8;
  localparam int unsigned I_ICMP_LIMITED = (lbnic_pkg::COUNTER_ICMP_RATE_LIMITED - lbnic_pkg::REG_COUNTERS) / 8;
  localparam int unsigned I_OVERSIZE = (lbnic_pkg::COUNTER_RX_OVERSIZE - lbnic_pkg::REG_COUNTERS) / 8;
  localparam int unsigned I_UNDERSIZE = (lbnic_pkg::COUNTER_RX_UNDERSIZE - lbnic_pkg::REG_COUNTERS) / 8;
  // lbnic_rewrite st_kind
  localparam logic [2:0] ST_PASS = 3'd1, ST_DROP = 3'd2, ST_TOO_BIG = 3'd3, ST_FAMILY = 3'd4;

  // ================================================================ control
  logic ctl_enable, ctl_ct_host, reset_req, reset_done, ct_flush_req, ct_flush_done;
  logic [63:0] staged_gen, active_gen, now_reg;
  logic [31:0] staged_len, staged_crc, commit_result, commit_seq;
  logic commit_doorbell, commit_busy, active_bank, commit_ok, commit_err;
  logic [NC*CAB-1:0] cnt_add;
  logic cnt_clear;  // CONTROL.RESET's clock: an amount registered now is not counted
  logic [NP-1:0] parse_inc;
  logic swap_pend, swap_ok;
  logic bank_valid;  // a bank was committed (the model's `active.is_some()`)
  logic flush_busy, flush_is_reset, flush_done;
  logic e_rmw_busy;  // the conntrack engine's posted NAT return entries
  logic e_busy;      // a packet in its CT_EXEC

  lbnic_regs regs (
      .clk, .rst,
      .s_axi_awaddr(s_axil_awaddr), .s_axi_awvalid(s_axil_awvalid), .s_axi_awready(s_axil_awready),
      .s_axi_wdata(s_axil_wdata), .s_axi_wstrb(s_axil_wstrb), .s_axi_wvalid(s_axil_wvalid),
      .s_axi_wready(s_axil_wready), .s_axi_bresp(s_axil_bresp), .s_axi_bvalid(s_axil_bvalid),
      .s_axi_bready(s_axil_bready), .s_axi_araddr(s_axil_araddr), .s_axi_arvalid(s_axil_arvalid),
      .s_axi_arready(s_axil_arready), .s_axi_rdata(s_axil_rdata), .s_axi_rresp(s_axil_rresp),
      .s_axi_rvalid(s_axil_rvalid), .s_axi_rready(s_axil_rready),
      .ctl_enable, .ctl_ct_host, .reset_req, .reset_done, .ct_flush_req, .ct_flush_done,
      // (with no posted NAT return entry left unwritten: §3 CT_HOST_ACK)
      .ct_host_ack(ctl_ct_host && !e_rmw_busy),
      .staged_gen, .staged_len, .staged_crc, .commit_doorbell, .commit_busy,
      .active_bank, .active_gen, .commit_result, .commit_seq, .commit_ok, .commit_err,
      .cnt_add, .cnt_clear, .parse_inc, .now(now_reg)
  );

  // RESET and CT_FLUSH: the engine's flush (flush_req held until
  // flush_done); RESET also clears the engine's RR pointers / hints and the
  // ICMP token bucket (pulse).
  always_ff @(posedge clk) begin
    if (rst) begin
      flush_busy <= 1'b0;
      flush_is_reset <= 1'b0;
    end else if (reset_req || ct_flush_req) begin
      flush_busy <= 1'b1;
      flush_is_reset <= flush_is_reset || reset_req;
    end else if (flush_done) begin
      flush_busy <= 1'b0;
      flush_is_reset <= 1'b0;
    end
  end
  assign reset_done = flush_done && flush_busy && flush_is_reset;
  assign ct_flush_done = flush_done && flush_busy && !flush_is_reset;

  // ================================================================ banks
  localparam int unsigned WAW = $clog2(BANK_LEN / 8);
  logic scan_en, scan_bank, scan_rvalid;
  logic [WAW-1:0] scan_word;
  logic [63:0] scan_rdata;
  logic [lbnic_pkg::GLOBAL_BITS-1:0] active_global;
  logic [MAX_VIPS*lbnic_pkg::VIP_BITS-1:0] active_vips;
  logic active_nat;
  lbnic_pkg::global_t gcfg;
  assign gcfg = active_global;
  logic be_valid, be_rvalid, lut_valid, lut_rvalid;
  logic [BIW-1:0] be_index;
  logic [LIW-1:0] lut_index;
  logic [lbnic_pkg::BACKEND_BITS-1:0] be_rdata;
  logic [LUT_ENTRY_BITS-1:0] lut_rdata;

  lbnic_bank #(
      .MAX_VIPS(MAX_VIPS), .MAX_BACKENDS(MAX_BACKENDS), .LUT_ENTRIES(LUT_ENTRIES),
      .LUT_ENTRY_BITS(LUT_ENTRY_BITS)
  ) bank (
      .clk, .rst,
      .ap_valid, .ap_ready, .ap_write, .ap_addr, .ap_wdata, .ap_rvalid, .ap_rready, .ap_rdata,
      .scan_start(commit_doorbell), .scan_en, .scan_bank, .scan_word, .scan_rvalid, .scan_rdata,
      .active_bank, .active_global, .active_vips, .active_nat,
      .be_valid, .be_bank(active_bank), .be_index, .be_rvalid, .be_rdata,
      .lut_valid, .lut_bank(active_bank), .lut_index, .lut_rvalid, .lut_rdata
  );

  lbnic_commit #(
      .MAX_VIPS(MAX_VIPS), .MAX_BACKENDS(MAX_BACKENDS), .LUT_ENTRIES(LUT_ENTRIES),
      .LUT_ENTRY_BITS(LUT_ENTRY_BITS)
  ) commit (
      .clk, .rst, .doorbell(commit_doorbell), .staged_gen, .staged_len, .staged_crc,
      .scan_en, .scan_bank, .scan_word, .scan_rvalid, .scan_rdata,
      .swap_pend, .swap_ok,
      .active_bank, .active_gen, .commit_result, .commit_seq, .busy(commit_busy), .commit_ok,
      .commit_err
  );

  always_ff @(posedge clk) begin
    if (rst) bank_valid <= 1'b0;
    else if (swap_pend && swap_ok) bank_valid <= 1'b1;  // with the first swap
  end

  // ================================================================ RX
  // Decision 3 (drain before swap): while a swap is pending no new frame
  // starts; swap_ok when nothing is between RX and TX.
  logic rx_mid;        // inside a frame
  logic rx_gate;
  logic [31:0] rx_index;   // RX frames taken so far (oversize ones too)
  logic [31:0] rx_ts;      // the current frame's tuser (first beat)
  logic [31:0] rx_ts_now;
  logic cap_s_tready, cap_m_tvalid, cap_m_tready, cap_m_tlast;
  logic [8*DB-1:0] cap_m_tdata;
  logic [DB-1:0] cap_m_tkeep;
  logic hdr_valid, hdr_ready;
  logic [8*W-1:0] hdr_window;
  logic [15:0] hdr_len;
  logic buf_last_over;

  assign rx_gate = rx_mid || !swap_pend;
  assign s_rx_tready = cap_s_tready && rx_gate;
  assign rx_ts_now = rx_mid ? rx_ts : s_rx_tuser;

  lbnic_hdr_capture #(.DATA_BYTES(DB), .W(W)) cap (
      .clk, .rst,
      .s_tvalid(s_rx_tvalid && rx_gate), .s_tready(cap_s_tready), .s_tdata(s_rx_tdata),
      .s_tkeep(s_rx_tkeep), .s_tlast(s_rx_tlast),
      .m_tvalid(cap_m_tvalid), .m_tready(cap_m_tready), .m_tdata(cap_m_tdata),
      .m_tkeep(cap_m_tkeep), .m_tlast(cap_m_tlast),
      .hdr_valid, .hdr_ready, .hdr_window, .hdr_len
  );

  // the header descriptor's side data, latched with the frame's last beat
  // (hdr_capture holds a last beat while its previous descriptor waits, so
  // these stay with hdr_valid)
  logic [31:0] hd_ts;
  always_ff @(posedge clk) begin
    if (rst) begin
      rx_mid <= 1'b0;
      rx_index <= '0;
    end else if (s_rx_tvalid && s_rx_tready) begin
      rx_mid <= !s_rx_tlast;
      if (!rx_mid) rx_ts <= s_rx_tuser;
      if (s_rx_tlast) begin
        rx_index <= rx_index + 1'b1;
        hd_ts <= rx_ts_now;
      end
    end
  end

  // ================================================================ packet buffer
  logic pb_rd_busy;
  logic pb_hd_valid, pb_rd_valid, pb_rd_ready, pb_release, pb_empty;
  logic [15:0] pb_hd_len;
  // the descriptor's side data: the RX index; and, a few clocks after the
  // frame's last beat, lbnic_rx_sum's {ok, lo, hi, sum}
  localparam int unsigned PB_LATE = 1 + 16 + 16 + 16;
  logic [31:0] pb_hd_user, pb_at_user;
  logic [PB_LATE-1:0] pb_hd_late, pb_at_late;
  logic pb_at_valid;
  logic [$clog2(PKT_BUF_FRAMES)-1:0] pb_at_sel, pb_rd_sel;
  logic rs_valid, rs_ok;
  logic [15:0] rs_sum, rs_lo, rs_hi;
  lbnic_rx_sum #(.DATA_BYTES(DB)) rx_sum (
      .clk, .rst, .s_tvalid(cap_m_tvalid), .s_tready(cap_m_tready), .s_tdata(cap_m_tdata),
      .s_tkeep(cap_m_tkeep), .s_tlast(cap_m_tlast), .res_valid(rs_valid), .sum(rs_sum), .lo(rs_lo),
      .hi(rs_hi), .ok(rs_ok)
  );
  logic pb_m_tvalid, pb_m_tready, pb_m_tlast;
  logic [8*DB-1:0] pb_m_tdata;
  logic [DB-1:0] pb_m_tkeep;

  lbnic_pkt_buf #(
      .DATA_BYTES(DB), .DEPTH(PKT_BUF_BEATS), .NFR(PKT_BUF_FRAMES), .MAX_FRAME(MAX_RX),
      .USER_BITS(32), .LATE_BITS(PB_LATE)
  ) pbuf (
      .clk, .rst,
      .s_tvalid(cap_m_tvalid), .s_tready(cap_m_tready), .s_tdata(cap_m_tdata), .s_tkeep(cap_m_tkeep),
      .s_tlast(cap_m_tlast), .s_tuser(rx_index), .last_over(buf_last_over),
      .late_valid(rs_valid), .late_user({rs_ok, rs_lo, rs_hi, rs_sum}),
      .hd_valid(pb_hd_valid), .hd_len(pb_hd_len), .hd_user(pb_hd_user), .hd_late(pb_hd_late),
      .at_sel(pb_at_sel), .at_valid(pb_at_valid), .at_user(pb_at_user), .at_late(pb_at_late),
      .rd_sel(pb_rd_sel), .rd_valid(pb_rd_valid), .rd_ready(pb_rd_ready), .release_head(pb_release),
      .m_tvalid(pb_m_tvalid), .m_tready(pb_m_tready), .m_tdata(pb_m_tdata), .m_tkeep(pb_m_tkeep),
      .m_tlast(pb_m_tlast), .empty(pb_empty), .rd_busy(pb_rd_busy)
  );

  // ================================================================ ingress: MAC rules, time
  // Decision 5: oversize frames are dropped here (rx_oversize; the buffer
  // kept nothing of them); undersize ones are counted and go on.
  // Decision 4: now = max(previous packet's now, tuser).
  logic p_in_valid, p_in_ready;
  logic side_full, side_empty, side_pop;
  logic [31:0] now_q, now_next;
  logic ing_take, ing_over;
  // The parser's advance (its in_ready, !out_valid || out_ready) from the
  // registers behind it, beside its port: taken through lbnic_parse and
  // back, pq_full's ready chain crossed four module boundaries, a LUT each,
  // into lbnic_hdr_capture and the packet buffer's write enable (8 levels).
  // The capture's ready from a copy of !pq_full of its own (pq_room, a
  // register: one LUT of six registers), where it shared the parser's
  // ready (p_out_ready) and was a second LUT behind it, in front of the
  // capture's and the packet buffer's boundaries (8 levels, issue 13).
  logic p_out_valid, p_adv, f_in_ready, pq_full, pq_room;
  assign p_adv = !p_out_valid || (f_in_ready && !pq_full);
  assign ing_over = hdr_valid && buf_last_over;
  assign p_in_valid = hdr_valid && !buf_last_over && !side_full;
  assign hdr_ready = ing_over
                     || ((!p_out_valid || (f_in_ready && pq_room)) && !side_full);
  assign ing_take = p_in_valid && p_adv;
  assign now_next = (hd_ts > now_q) ? hd_ts : now_q;
  always_ff @(posedge clk) begin
    if (rst) now_q <= '0;
    else if (ing_take) now_q <= now_next;
  end

  // (len, now) beside the parser, in order: it holds at most its latency
  // (PARSE_LATENCY), so a power of two above it never stalls a full parser.
  localparam int unsigned SDW = $clog2(lbnic_pkg::PARSE_LATENCY + 1);
  localparam int unsigned SD = 1 << SDW;
  // Its fill and full flag are registers (side_n, side_full), as are the
  // parsed FIFO's below: a pointer difference compared in front of the
  // ready chain was the carry chain of a 10-LUT-level path into
  // lbnic_hdr_capture.
  logic [47:0] side_q[SD];
  logic [SDW:0] side_w, side_r, side_n;
  assign side_empty = side_w == side_r;
  always_ff @(posedge clk) begin
    if (rst) begin
      side_w <= '0;
      side_r <= '0;
      side_n <= '0;
      side_full <= 1'b0;
    end else begin
      if (ing_take) side_w <= side_w + 1'b1;
      if (side_pop) side_r <= side_r + 1'b1;
      if (ing_take != side_pop) side_n <= ing_take ? side_n + 1'b1 : side_n - 1'b1;
      side_full <= (side_n == (SDW+1)'(SD) && !(side_pop && !ing_take))
                   || (side_n == (SDW+1)'(SD - 1) && ing_take && !side_pop);
    end
    if (ing_take) side_q[side_w[SDW-1:0]] <= {hdr_len, now_next};
  end

  logic p_out_ready;
  lbnic_pipe_pkg::parsed_t p_out;
  lbnic_parse #(.W(W)) parse (
      .clk, .rst,
      .in_valid(p_in_valid), .in_ready(p_in_ready), .in_window(hdr_window), .in_len(hdr_len),
      .out_valid(p_out_valid), .out_ready(p_out_ready), .out_parsed(p_out)
  );

  // ================================================================ FRONT
  logic f_out_valid, f_out_ready;
  lbnic_pipe_pkg::meta_t f_meta;
  logic f_rx_packets, f_parse_error, f_frag;
  logic [15:0] f_rx_bytes;
  logic [2:0] f_parse_reason;
  logic [47:0] side_head;
  assign side_head = side_q[side_r[SDW-1:0]];
  assign p_out_ready = f_in_ready && !pq_full;
  assign side_pop = p_out_valid && p_out_ready;
`ifndef SYNTHESIS
  always_ff @(posedge clk)
    if (!rst && p_adv != p_in_ready) $error("lbnic_top: p_adv apart from the parser's in_ready");
`endif

  // FRONT's latency is the contract's (lbnic_pkg::FRONT_LATENCY, which the
  // cycle model takes): the parse's plus lbnic_front's 7 + MUL_STAGES.
  localparam int unsigned FRONT_MUL = 2;
  if (lbnic_pkg::PARSE_LATENCY + 7 + FRONT_MUL != lbnic_pkg::FRONT_LATENCY) begin : g_front_latency
    $error("lbnic_top: parse + classify latency != lbnic_pkg::FRONT_LATENCY");
  end
  lbnic_front #(
      .MAX_VIPS(MAX_VIPS), .CT_BUCKET_BITS(CT_BUCKET_BITS), .CT_PAGE_BUCKETS(CT_PAGE),
      .MUL_STAGES(FRONT_MUL)
  ) front (
      .clk, .rst,
      .in_valid(p_out_valid && !pq_full), .in_ready(f_in_ready), .in_parsed(p_out),
      .in_len(side_head[47:32]), .in_now(side_head[31:0]),
      .enabled(ctl_enable), .bank_valid, .global_cfg(gcfg), .vips(active_vips),
      .vips_nat(active_nat), .out_valid(f_out_valid), .out_ready(f_out_ready), .out_meta(f_meta),
      .cnt_rx_packets(f_rx_packets), .cnt_rx_bytes(f_rx_bytes), .cnt_parse_error(f_parse_error),
      .cnt_parse_reason(f_parse_reason), .cnt_frag_packets(f_frag)
  );

  // FRONT's meta_t does not carry the parsed_t the engine wants beside it:
  // a FIFO of parsed_t in packet order, pushed as FRONT takes a packet and
  // popped as the engine takes it (FRONT holds at most its pipeline + its
  // output FIFO, below PQ).
  localparam int unsigned PQ = 32;
  localparam int unsigned PQW = $clog2(PQ);
  localparam int unsigned PB = $bits(p_out);
  logic [PQW-1:0] pq_w, pq_r;
  logic [PQW:0] pq_n;
  logic [PB-1:0] pq[PQ];  // (Yosys 0.23 mis-sizes arrays of structs)
  lbnic_pipe_pkg::parsed_t pq_head;
  assign pq_head = pq[pq_r];
  logic e_in_ready, pq_pop;
  assign pq_pop = f_out_valid && e_in_ready;
  always_ff @(posedge clk) begin
    logic full_d;
    if (rst) begin
      pq_w <= '0;
      pq_r <= '0;
      pq_n <= '0;
      pq_full <= 1'b0;
      pq_room <= 1'b1;
    end else begin
      if (side_pop) pq_w <= pq_w + 1'b1;
      if (pq_pop) pq_r <= pq_r + 1'b1;
      if (side_pop != pq_pop) pq_n <= side_pop ? pq_n + 1'b1 : pq_n - 1'b1;
      full_d = (pq_n == (PQW+1)'(PQ) && !(pq_pop && !side_pop))
               || (pq_n == (PQW+1)'(PQ - 1) && side_pop && !pq_pop);
      pq_full <= full_d;
      pq_room <= !full_d;
    end
    if (side_pop) pq[pq_w] <= p_out;
  end
`ifndef SYNTHESIS
  always_ff @(posedge clk)
    if (!rst && (pq_room == pq_full || hdr_ready != (ing_over || (p_adv && !side_full))))
      $error("lbnic_top: pq_room or the capture's ready apart from pq_full");
`endif
  assign f_out_ready = e_in_ready;

  // ================================================================ CT_REQ + CT_EXEC
  logic e_out_valid, e_out_ready, e_flush_done;
  lbnic_pipe_pkg::decision_t e_dec;
  lbnic_pipe_pkg::meta_t e_meta;
  lbnic_pipe_pkg::parsed_t e_parsed;
  lbnic_pkg::vip_t e_vip;
  lbnic_pkg::backend_t e_be;
  logic [NC-1:0] e_cnt;
  logic e_swept;

  lbnic_ct_engine #(
      .WAYS(CT_WAYS), .BUCKET_BITS(CT_BUCKET_BITS), .MAX_VIPS(MAX_VIPS),
      .MAX_BACKENDS(MAX_BACKENDS), .LUT_ENTRIES(LUT_ENTRIES), .LUT_ENTRY_BITS(LUT_ENTRY_BITS),
      .DEPTH(CT_DEPTH)
  ) engine (
      .clk, .rst,
      .bank_valid, .global_cfg(gcfg), .vips(active_vips), .ct_host(ctl_ct_host),
      .clear(reset_req), .flush_req(flush_busy), .flush_done(e_flush_done),
      .bank_swap(swap_pend && swap_ok),
      .in_valid(f_out_valid), .in_ready(e_in_ready), .in_meta(f_meta), .in_parsed(pq_head),
      .out_valid(e_out_valid), .out_ready(e_out_ready), .out_decision(e_dec), .out_meta(e_meta),
      .out_parsed(e_parsed), .out_vip(e_vip), .out_backend(e_be),
      .be_valid, .be_index, .be_rvalid, .be_rdata, .lut_valid, .lut_index, .lut_rvalid, .lut_rdata,
      .ct_rd_valid, .ct_rd_ready, .ct_rd_tag, .ct_rd_bucket, .ct_rsp_valid, .ct_rsp_tag, .ct_rsp_data,
      .ct_wr_valid, .ct_wr_ready, .ct_wr_bucket, .ct_wr_mask, .ct_wr_data,
      .cnt_inc(e_cnt), .swept(e_swept), .rmw_busy(e_rmw_busy), .busy(e_busy), .ct_bg(probe_ct_bg),
      .ready_n(probe_ct_ready)
  );
  assign flush_done = e_flush_done;
  assign swept = e_swept;
  assign probe_ct_req = f_out_valid && e_in_ready;
  assign probe_ct_exec = e_out_valid && e_out_ready;

  // ================================================================ egress
  logic [2:0] x_kind;
  logic [7:0] x_drop;
  logic x_icmp, x_sent, x_limited, eg_busy;
  lbnic_egress #(
      .DATA_BYTES(DB), .LANES(EG_LANES), .FRAMES(PKT_BUF_FRAMES), .LATE_BITS(PB_LATE)
  ) egress (
      .clk, .rst, .clear(reset_req), .gcfg,
      .in_valid(e_out_valid), .in_ready(e_out_ready), .in_dec(e_dec), .in_meta(e_meta),
      .in_parsed(e_parsed), .in_vip(e_vip), .in_be(e_be),
      .at_sel(pb_at_sel), .at_valid(pb_at_valid), .at_user(pb_at_user), .at_late(pb_at_late),
      .rd_sel(pb_rd_sel), .rd_valid(pb_rd_valid), .rd_ready(pb_rd_ready), .rd_busy(pb_rd_busy),
      .release_head(pb_release),
      .s_tvalid(pb_m_tvalid), .s_tready(pb_m_tready), .s_tdata(pb_m_tdata), .s_tkeep(pb_m_tkeep),
      .s_tlast(pb_m_tlast),
      .m_tx_tvalid, .m_tx_tready, .m_tx_tdata, .m_tx_tkeep, .m_tx_tlast, .m_tx_tuser,
      .rel_kind(x_kind), .rel_drop(x_drop), .rel_icmp(x_icmp), .rel_sent(x_sent),
      .rel_limited(x_limited), .busy(eg_busy)
  );

  // TX's counters from the beat registered (REWRITE's tkeep, its byte
  // count and the counters' adds in one clock were 13 LUT levels): the
  // amounts come a clock later; a frame's last beat in RESET's clock is
  // not counted, as before
  logic tx_fire, tx_q_fire, tx_q_last, tx_q_cnt;
  logic [DB-1:0] tx_q_keep;
  logic [15:0] tx_acc;
  logic [$clog2(DB):0] tx_beat;
  assign tx_fire = m_tx_tvalid && m_tx_tready;
  always_ff @(posedge clk) begin
    tx_q_fire <= tx_fire;
    tx_q_last <= m_tx_tlast;
    tx_q_keep <= m_tx_tkeep;
    tx_q_cnt <= tx_fire && m_tx_tlast && !cnt_clear;
    if (rst) begin
      tx_q_fire <= 1'b0;
      tx_q_cnt <= 1'b0;
    end
  end
  lbnic_keep_count #(.DATA_BYTES(DB)) tx_keep (.keep(tx_q_keep), .count(tx_beat));

  always_ff @(posedge clk) begin
    if (rst) tx_acc <= '0;
    else if (tx_q_fire) tx_acc <= tx_q_last ? 16'd0 : tx_acc + 16'(tx_beat);
  end

  // ================================================================ counters
  logic [15:0] rx_len_ing;
  assign rx_len_ing = hdr_len;
  always_comb begin
    cnt_add = '0;
    for (int i = 0; i < NC; i++) cnt_add[i*CAB+:CAB] = CAB'(e_cnt[i]);
    // FRONT (classify)
    cnt_add[I_RX_PACKETS*CAB+:CAB] = cnt_add[I_RX_PACKETS*CAB+:CAB] + CAB'(f_rx_packets);
    if (f_rx_packets) cnt_add[I_RX_BYTES*CAB+:CAB] = cnt_add[I_RX_BYTES*CAB+:CAB] + f_rx_bytes;
    cnt_add[I_FRAG*CAB+:CAB] = cnt_add[I_FRAG*CAB+:CAB] + CAB'(f_frag);
    // the MAC
    cnt_add[I_OVERSIZE*CAB+:CAB] = cnt_add[I_OVERSIZE*CAB+:CAB] + CAB'(ing_over);
    cnt_add[I_UNDERSIZE*CAB+:CAB] = cnt_add[I_UNDERSIZE*CAB+:CAB]
        + CAB'(ing_take && rx_len_ing < MIN_FRAME);
    // egress (emit, too_big), once per packet as it is released
    if (pb_release) begin
      case (x_kind)
        ST_PASS: cnt_add[I_PASS*CAB+:CAB] = cnt_add[I_PASS*CAB+:CAB] + 1'b1;
        ST_TOO_BIG: cnt_add[I_TOO_BIG*CAB+:CAB] = cnt_add[I_TOO_BIG*CAB+:CAB] + 1'b1;
        ST_FAMILY: cnt_add[I_DROP_PARSE*CAB+:CAB] = cnt_add[I_DROP_PARSE*CAB+:CAB] + 1'b1;
        default: ;
      endcase
      for (int i = 0; i < NC; i++)
        if (x_kind == ST_DROP && x_drop == 8'(i))
          cnt_add[i*CAB+:CAB] = cnt_add[i*CAB+:CAB] + 1'b1;
      if (x_icmp) begin
        cnt_add[I_ICMP_SENT*CAB+:CAB] = cnt_add[I_ICMP_SENT*CAB+:CAB] + CAB'(x_sent);
        cnt_add[I_ICMP_LIMITED*CAB+:CAB] = cnt_add[I_ICMP_LIMITED*CAB+:CAB] + CAB'(x_limited);
      end
    end
    // TX
    if (tx_q_cnt) begin
      cnt_add[I_TX_PACKETS*CAB+:CAB] = cnt_add[I_TX_PACKETS*CAB+:CAB] + 1'b1;
      cnt_add[I_TX_BYTES*CAB+:CAB] = cnt_add[I_TX_BYTES*CAB+:CAB] + tx_acc + 16'(tx_beat);
    end
    parse_inc = '0;
    for (int r = 0; r < NP; r++) parse_inc[r] = f_parse_error && f_parse_reason == 3'(r);
  end

  // ================================================================ idle
  // nothing between RX and TX: no frame being received or stored (every
  // frame stays in the buffer until its egress ends), no header descriptor,
  // no posted NAT return entry unwritten (it outlives its packet's frame),
  // no packet in CT_EXEC (its work may outlive its frame too)
  assign idle = !rx_mid && pb_empty && !hdr_valid && !eg_busy && !e_rmw_busy && !e_busy;
  assign swap_ok = idle;

  // NOW is the host's; the engine's own results the harness does not need
  logic unused;
  assign unused = ^{now_reg, pb_hd_len, pb_hd_valid, pb_hd_user, pb_hd_late, side_empty};

endmodule
/* verilator lint_on UNUSEDPARAM */
