// Synthesis top of lbnic_front with small parameters (scripts/rtl-test.sh,
// Yosys only): 256 VIPs take ~80 s of Yosys CPU and 146k generic cells,
// which passes but is too slow for every CI run. Not a testbench.
module lbnic_front_small #(
    parameter int unsigned MAX_VIPS = 32,
    parameter int unsigned OUT_DEPTH = 4
) (
    input  logic                              clk,
    input  logic                              rst,
    input  logic                              in_valid,
    output logic                              in_ready,
    input  lbnic_pipe_pkg::parsed_t           in_parsed,
    input  logic [15:0]                       in_len,
    input  logic [31:0]                       in_now,
    input  logic                              enabled,
    input  logic                              bank_valid,
    input  lbnic_pkg::global_t                global_cfg,
    input  logic [MAX_VIPS*lbnic_pkg::VIP_BITS-1:0] vips,
    input  logic                              vips_nat,
    output logic                              out_valid,
    input  logic                              out_ready,
    output lbnic_pipe_pkg::meta_t             out_meta,
    output logic                              cnt_rx_packets,
    output logic [15:0]                       cnt_rx_bytes,
    output logic                              cnt_parse_error,
    output logic [2:0]                        cnt_parse_reason,
    output logic                              cnt_frag_packets
);
  lbnic_front #(
      .MAX_VIPS(MAX_VIPS),
      .OUT_DEPTH(OUT_DEPTH)
  ) u_front (
      .clk, .rst, .in_valid, .in_ready, .in_parsed, .in_len, .in_now,
      .enabled, .bank_valid, .global_cfg, .vips, .vips_nat,
      .out_valid, .out_ready, .out_meta,
      .cnt_rx_packets, .cnt_rx_bytes, .cnt_parse_error, .cnt_parse_reason, .cnt_frag_packets
  );
endmodule
