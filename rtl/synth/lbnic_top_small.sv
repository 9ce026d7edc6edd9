// Synthesis top of lbnic_top with small parameters (scripts/rtl-test.sh,
// Yosys only): 64-byte beats, 2 VIPs, 16 backends, 256 LUT entries, 2 ways
// x 16 buckets, CT_REQ reading 2 packets ahead, a 2 KiB packet buffer
// (frames up to 1536 bytes), so that a generic `synth -top` maps the RAMs
// to flip-flops in CI's time. Every module of the pipeline is in it, at
// these sizes. Not a testbench.
/* verilator lint_off UNUSEDPARAM */
module lbnic_top_small #(
    parameter int unsigned DATA_BYTES = 64,
    parameter int unsigned MAX_VIPS = 2,
    parameter int unsigned MAX_BACKENDS = 16,
    parameter int unsigned LUT_ENTRIES = 256,
    parameter int unsigned LUT_ENTRY_BITS = 10,
    parameter int unsigned CT_WAYS = 2,
    parameter int unsigned CT_BUCKET_BITS = 4,
    localparam int unsigned CT_TAG_BITS = lbnic_pkg::CT_TAG_BITS,  // the contract's tags
    parameter int unsigned CT_DEPTH = 2,
    // packet buffer: beats (a power of two, >= TARGET_MAX_RX_FRAME bytes)
    // and frames
    parameter int unsigned PKT_BUF_BEATS = 32,
    parameter int unsigned PKT_BUF_FRAMES = 8,
    // the MAC's limit (decision 5); only a synthesis wrapper changes it
    parameter int unsigned MAX_RX_FRAME = 1536,
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

  lbnic_top #(
      .DATA_BYTES(DATA_BYTES), .MAX_VIPS(MAX_VIPS), .MAX_BACKENDS(MAX_BACKENDS),
      .LUT_ENTRIES(LUT_ENTRIES), .LUT_ENTRY_BITS(LUT_ENTRY_BITS), .CT_WAYS(CT_WAYS),
      .CT_BUCKET_BITS(CT_BUCKET_BITS), .CT_DEPTH(CT_DEPTH), .PKT_BUF_BEATS(PKT_BUF_BEATS),
      .PKT_BUF_FRAMES(PKT_BUF_FRAMES), .MAX_RX_FRAME(MAX_RX_FRAME)
  ) top (.*);
endmodule
/* verilator lint_on UNUSEDPARAM */
