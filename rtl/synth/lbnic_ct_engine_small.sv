// Synthesis top of lbnic_ct_engine with small parameters (scripts/rtl-test.sh,
// Yosys only): 2 ways, 64 buckets, 16 VIPs, 1024 backends, 131072 LUT
// entries, CT_REQ's queue of 16 packets (phase 2: 244583 cells, ~460 s of
// Yosys CPU, 3.2 GB; the full hints were flip-flops then, a block RAM now).
// The small target's parameters
// (4 ways, 1024 buckets) passed in phase 1 (214329 cells, ~570 s, 4.3 GB;
// proc_mux of the bucket-wide registers), not re-run with the queue: too
// slow for every CI run. Not a testbench.
module lbnic_ct_engine_small #(
    parameter int unsigned WAYS = 2,
    parameter int unsigned BUCKET_BITS = 6,
    parameter int unsigned MAX_VIPS = 16,
    parameter int unsigned MAX_BACKENDS = 1024,
    parameter int unsigned LUT_ENTRIES = 131072,
    parameter int unsigned LUT_ENTRY_BITS = 10,
    parameter int unsigned DEPTH = 16,
    localparam int unsigned BBITS = WAYS * lbnic_pkg::CT_WAY_BITS,
    localparam int unsigned BIW = $clog2(MAX_BACKENDS),
    localparam int unsigned LIW = $clog2(LUT_ENTRIES),
    localparam int unsigned NC = lbnic_pkg::COUNTER_COUNT
) (
    input  logic                              clk,
    input  logic                              rst,
    input  logic                              bank_valid,
    input  lbnic_pkg::global_t                global_cfg,
    input  logic [MAX_VIPS*lbnic_pkg::VIP_BITS-1:0] vips,
    input  logic                              ct_host,
    input  logic                              clear,
    input  logic                              flush_req,
    input  logic                              bank_swap,
    output logic                              flush_done,
    input  logic                              in_valid,
    output logic                              in_ready,
    input  lbnic_pipe_pkg::meta_t             in_meta,
    input  lbnic_pipe_pkg::parsed_t           in_parsed,
    output logic                              out_valid,
    input  logic                              out_ready,
    output lbnic_pipe_pkg::decision_t         out_decision,
    output lbnic_pipe_pkg::meta_t             out_meta,
    output lbnic_pipe_pkg::parsed_t           out_parsed,
    output lbnic_pkg::vip_t                   out_vip,
    output lbnic_pkg::backend_t               out_backend,
    output logic                              be_valid,
    output logic [BIW-1:0]                    be_index,
    input  logic                              be_rvalid,
    input  logic [lbnic_pkg::BACKEND_BITS-1:0] be_rdata,
    output logic                              lut_valid,
    output logic [LIW-1:0]                    lut_index,
    input  logic                              lut_rvalid,
    input  logic [LUT_ENTRY_BITS-1:0]         lut_rdata,
    output logic                              ct_rd_valid,
    input  logic                              ct_rd_ready,
    output logic [7:0]                        ct_rd_tag,
    output logic [BUCKET_BITS-1:0]            ct_rd_bucket,
    input  logic                              ct_rsp_valid,
    input  logic [7:0]                        ct_rsp_tag,
    input  logic [BBITS-1:0]                  ct_rsp_data,
    output logic                              ct_wr_valid,
    input  logic                              ct_wr_ready,
    output logic [BUCKET_BITS-1:0]            ct_wr_bucket,
    output logic [WAYS-1:0]                   ct_wr_mask,
    output logic [BBITS-1:0]                  ct_wr_data,
    output logic [NC-1:0]                     cnt_inc,
    output logic                              swept,
    output logic                              rmw_busy,
    output logic                              busy,
    output logic                              ct_bg,
    output logic [1:0]                        ready_n
);
  lbnic_ct_engine #(
      .WAYS(WAYS), .BUCKET_BITS(BUCKET_BITS), .MAX_VIPS(MAX_VIPS), .MAX_BACKENDS(MAX_BACKENDS),
      .LUT_ENTRIES(LUT_ENTRIES), .LUT_ENTRY_BITS(LUT_ENTRY_BITS), .DEPTH(DEPTH)
  ) u_engine (.*);
endmodule
