// CT_REQ + CT_EXEC (spec §12.1 point 2, §12.2): conntrack and scheduling,
// strictly in packet order, over the external conntrack memory port.
//
// INTERFACE FIXED BY THE LEAD (issue 12); the body is being written. Until
// then it refuses every packet (in_ready = 0) and issues nothing.
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
/* verilator lint_off UNUSEDSIGNAL */
/* verilator lint_off UNUSEDPARAM */
module lbnic_ct_engine #(
    parameter int unsigned WAYS = lbnic_pkg::TARGET_CT_WAYS,
    parameter int unsigned BUCKET_BITS = lbnic_pkg::TARGET_CT_BUCKET_BITS,
    parameter int unsigned MAX_VIPS = lbnic_pkg::TARGET_MAX_VIPS,
    parameter int unsigned MAX_BACKENDS = lbnic_pkg::TARGET_MAX_BACKENDS,
    parameter int unsigned LUT_ENTRIES = lbnic_pkg::TARGET_LUT_ENTRIES,
    parameter int unsigned LUT_ENTRY_BITS = lbnic_pkg::TARGET_LUT_ENTRY_BITS,
    parameter int unsigned TAG_BITS = 8,
    localparam int unsigned BBITS = WAYS * lbnic_pkg::CT_WAY_BITS,
    localparam int unsigned BIW = (MAX_BACKENDS > 1) ? $clog2(MAX_BACKENDS) : 1,
    localparam int unsigned LIW = (LUT_ENTRIES > 1) ? $clog2(LUT_ENTRIES) : 1,
    localparam int unsigned NC = lbnic_pkg::COUNTER_COUNT
) (
    input  logic                              clk,
    input  logic                              rst,

    // configuration: the active bank (the top drains the pipeline before a
    // swap, so every packet in here belongs to it) and CONTROL
    input  logic                              bank_valid,
    input  lbnic_pkg::global_t                global_cfg,
    input  logic [MAX_VIPS*lbnic_pkg::VIP_BITS-1:0] vips,
    input  logic                              ct_host,      // CONTROL.CT_HOST
    input  logic                              clear,        // CONTROL.RESET: RR pointers, hints
    input  logic                              flush_req,    // CONTROL.CT_FLUSH: every way invalid
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
    output logic                              swept
);

  assign flush_done = 1'b0;
  assign in_ready = 1'b0;
  assign out_valid = 1'b0;
  assign out_decision = '0;
  assign out_meta = '0;
  assign out_parsed = '0;
  assign out_vip = '0;
  assign out_backend = '0;
  assign be_valid = 1'b0;
  assign be_index = '0;
  assign lut_valid = 1'b0;
  assign lut_index = '0;
  assign ct_rd_valid = 1'b0;
  assign ct_rd_tag = '0;
  assign ct_rd_bucket = '0;
  assign ct_wr_valid = 1'b0;
  assign ct_wr_bucket = '0;
  assign ct_wr_mask = '0;
  assign ct_wr_data = '0;
  assign cnt_inc = '0;
  assign swept = 1'b0;

endmodule
/* verilator lint_on UNUSEDPARAM */
/* verilator lint_on UNUSEDSIGNAL */
