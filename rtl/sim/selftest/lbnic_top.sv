// Harness self-test top (scripts/rtl-sim.sh --selftest); same ports as rtl/lbnic_top.sv.
/* verilator lint_off UNUSEDSIGNAL */
/* verilator lint_off UNUSEDPARAM */
/* verilator lint_off WIDTH */
module lbnic_top #(
    parameter int unsigned DATA_BYTES = lbnic_pkg::TARGET_DATAPATH_BYTES,
    parameter int unsigned MAX_VIPS = lbnic_pkg::TARGET_MAX_VIPS,
    parameter int unsigned MAX_BACKENDS = lbnic_pkg::TARGET_MAX_BACKENDS,
    parameter int unsigned LUT_ENTRIES = lbnic_pkg::TARGET_LUT_ENTRIES,
    parameter int unsigned LUT_ENTRY_BITS = lbnic_pkg::TARGET_LUT_ENTRY_BITS,
    parameter int unsigned CT_WAYS = lbnic_pkg::TARGET_CT_WAYS,
    parameter int unsigned CT_BUCKET_BITS = lbnic_pkg::TARGET_CT_BUCKET_BITS,
    localparam int unsigned CT_TAG_BITS = lbnic_pkg::CT_TAG_BITS,
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
    output logic                         probe_ct_req,
    output logic                         probe_ct_exec,
    output logic [1:0]                   probe_ct_ready,
    output logic                         probe_ct_bg
);


  // SELF-TEST STAND-IN for the harness (rtl/sim/README.md), not the
  // pipeline: RX is looped back to TX one clock later with m_tx_tuser =
  // the RX frame index, plus one conntrack read per frame (bucket = index
  // mod buckets) whose response's byte 0 + 1 is written back to way 0 and
  // replaces the frame's byte 0 on TX when the frame has at least 2 bytes
  // (so the output shows the harness's memory: the k-th frame on a
  // bucket carries k); a register file with ID, VERSION, FINGERPRINT,
  // COMMIT (COMMIT_SEQ + 1, COMMIT_RESULT ok, ACTIVE_BANK flips), and
  // counters rx_packets / rx_bytes / tx_packets; an aperture of 256
  // words (address bits [10:3]).
  localparam int unsigned DB = DATA_BYTES;
  logic [31:0] rx_index;
  logic in_frame;
  // one frame at a time through the conntrack round trip: RX waits while a
  // frame's read is outstanding or its output is still going out
  typedef enum logic [2:0] {S_IDLE, S_RD, S_WAIT, S_WR, S_OUT} st_t;
  st_t st;
  logic [8*DB-1:0] hold_data [0:255];
  logic [DB-1:0] hold_keep [0:255];
  logic [7:0] n_beats, out_beat;
  logic [7:0] ct_byte;
  logic [CT_BBITS-1:0] rsp;
  logic [CT_BUCKET_BITS-1:0] bucket;

  assign s_rx_tready = (st == S_IDLE);
  always_ff @(posedge clk) begin
    if (rst) begin
      st <= S_IDLE; rx_index <= '0; in_frame <= 1'b0; n_beats <= '0; out_beat <= '0;
    end else begin
      case (st)
        S_IDLE: if (s_rx_tvalid) begin
          hold_data[n_beats] <= s_rx_tdata;
          hold_keep[n_beats] <= s_rx_tkeep;
          n_beats <= n_beats + 8'd1;
          if (s_rx_tlast) begin
            st <= S_RD;
            bucket <= CT_BUCKET_BITS'(rx_index % lbnic_pkg::TARGET_CT_BUCKETS);
          end
        end
        S_RD: if (ct_rd_ready) st <= S_WAIT;
        S_WAIT: if (ct_rsp_valid) begin rsp <= ct_rsp_data; ct_byte <= ct_rsp_data[7:0] + 8'd1; st <= S_WR; end
        S_WR: if (ct_wr_ready) begin st <= S_OUT; out_beat <= '0; end
        S_OUT: if (m_tx_tready) begin
          out_beat <= out_beat + 8'd1;
          if (out_beat + 8'd1 == n_beats) begin
            st <= S_IDLE; n_beats <= '0; rx_index <= rx_index + 32'd1;
          end
        end
        default: st <= S_IDLE;
      endcase
    end
  end
  assign ct_rd_valid = (st == S_RD);
  assign ct_rd_tag = 8'h5a;
  assign ct_rd_bucket = bucket;
  assign ct_wr_valid = (st == S_WR);
  assign ct_wr_bucket = bucket;
  assign ct_wr_mask = CT_WAYS'(1);
  assign ct_wr_data = {rsp[CT_BBITS-1:8], ct_byte};
  logic two;
  assign two = (n_beats > 8'd1) || hold_keep[0][1];
  assign m_tx_tvalid = (st == S_OUT);
  assign m_tx_tdata = (out_beat == 0 && two) ? {hold_data[0][8*DB-1:8], ct_byte} : hold_data[out_beat];
  assign m_tx_tkeep = hold_keep[out_beat];
  assign m_tx_tlast = (out_beat + 8'd1 == n_beats);
  assign m_tx_tuser = rx_index;
  assign idle = (st == S_IDLE) && !s_rx_tvalid;
  assign probe_ct_req = (st == S_RD) && ct_rd_ready;
  assign probe_ct_exec = (st == S_WR) && ct_wr_ready;
  assign probe_ct_ready = {1'b0, probe_ct_exec};
  assign probe_ct_bg = 1'b0;
  assign swept = 1'b1;

  // registers
  logic [31:0] regs [0:1023];
  logic bv, rv;
  logic [31:0] rdata;
  logic [63:0] rx_packets, rx_bytes, tx_packets;
  always_ff @(posedge clk) begin
    if (rst) begin
      bv <= 1'b0; rv <= 1'b0; rx_packets <= '0; rx_bytes <= '0; tx_packets <= '0;
      regs[16'h34 >> 2] <= '0; regs[16'h40 >> 2] <= '0; regs[16'h44 >> 2] <= '0; regs[16'h10 >> 2] <= '0;
    end else begin
      if (s_axil_awvalid && s_axil_wvalid && !bv) begin
        bv <= 1'b1;
        if (s_axil_awaddr == 12'h030 && s_axil_wdata == lbnic_pkg::COMMIT_MAGIC) begin
          regs[12'h044 >> 2] <= regs[12'h044 >> 2] + 32'd1;
          regs[12'h040 >> 2] <= 32'd1;
          regs[12'h034 >> 2] <= regs[12'h034 >> 2] ^ 32'd1;
        end else begin
          regs[s_axil_awaddr[11:2]] <= s_axil_wdata;
        end
      end else if (bv && s_axil_bready) bv <= 1'b0;
      if (s_axil_arvalid && !rv) begin
        rv <= 1'b1;
        case (s_axil_araddr)
          12'h000: rdata <= lbnic_pkg::ID_MAGIC;
          12'h008: rdata <= lbnic_pkg::TARGET_FINGERPRINT[31:0];
          12'h00c: rdata <= lbnic_pkg::TARGET_FINGERPRINT[63:32];
          12'h100: rdata <= rx_packets[31:0];
          12'h104: rdata <= rx_packets[63:32];
          12'h108: rdata <= rx_bytes[31:0];
          12'h110: rdata <= tx_packets[31:0];
          default: rdata <= (s_axil_araddr >= 12'h100) ? 32'd0 : regs[s_axil_araddr[11:2]];
        endcase
      end else if (rv && s_axil_rready) rv <= 1'b0;
      if (st == S_IDLE && s_rx_tvalid) begin
        rx_bytes <= rx_bytes + 64'($countones(s_rx_tkeep));
        if (s_rx_tlast) rx_packets <= rx_packets + 64'd1;
      end
      if (m_tx_tvalid && m_tx_tready && m_tx_tlast) tx_packets <= tx_packets + 64'd1;
    end
  end
  assign s_axil_awready = s_axil_awvalid && s_axil_wvalid && !bv;
  assign s_axil_wready = s_axil_awvalid && s_axil_wvalid && !bv;
  assign s_axil_bvalid = bv;
  assign s_axil_bresp = 2'b00;
  assign s_axil_arready = s_axil_arvalid && !rv;
  assign s_axil_rvalid = rv;
  assign s_axil_rdata = rdata;
  assign s_axil_rresp = 2'b00;

  // aperture: 256 words
  logic [63:0] apm [0:255];
  logic apv;
  logic [63:0] apd;
  always_ff @(posedge clk) begin
    if (rst) apv <= 1'b0;
    else begin
      if (ap_valid && !apv) begin
        if (ap_write) apm[ap_addr[10:3]] <= ap_wdata;
        else begin apv <= 1'b1; apd <= apm[ap_addr[10:3]]; end
      end else if (apv && ap_rready) apv <= 1'b0;
    end
  end
  assign ap_ready = !apv;
  assign ap_rvalid = apv;
  assign ap_rdata = apd;

endmodule
