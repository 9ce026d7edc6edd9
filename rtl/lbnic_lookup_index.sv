// Lookup index and conntrack candidate buckets of a flow hash, docs/spec.md
// §7; the reference is lbnic_contract::lookup::{lookup_index, ct_bucket}.
//
//   index = (hash * m) >> 32          (Maglev / LUT index, 0 <= index < m)
//   page  = (hash >> k) & (pages - 1) (k = log2(P / 2), P = CT_PAGE_BUCKETS)
//   a     = page * P + (hash & (P/2 - 1))                 sub-table 0
//   b     = page * P + P/2 + ((hash * CT_BUCKET_MIX) mod 2^32) >> (32 - k)
//                                                         sub-table 1
// a and b are bit fields of the hash and of the mix product, so besides the
// two multiplies there is no logic: a, b and the index leave straight from
// the last pipeline register. One flow per clock; latency 1 + MUL_STAGES
// clocks (input register, then the products through MUL_STAGES registers
// that synthesis retimes into the DSP pipeline: a 32x32 multiply is four
// DSP48s and wants about three stages at 322 MHz).
module lbnic_lookup_index #(
    parameter int unsigned CT_BUCKET_BITS = lbnic_pkg::TARGET_CT_BUCKET_BITS,
    parameter int unsigned CT_PAGE_BUCKETS = lbnic_pkg::TARGET_CT_PAGE_BUCKETS,
    parameter int unsigned MUL_STAGES = 3,
    // bucket numbers are at least one bit wide (a one-bucket table has 0)
    localparam int unsigned BUCKET_W = CT_BUCKET_BITS > 0 ? CT_BUCKET_BITS : 1
) (
    input  logic                 clk,
    input  logic                 rst,
    input  logic                 in_valid,
    input  logic [31:0]          in_hash,
    // the VIP's lookup-table size M (vip_t.lut_size)
    input  logic [31:0]          in_m,
    output logic                 out_valid,
    output logic [31:0]          out_index,
    output logic [BUCKET_W-1:0]  out_ct_a,
    output logic [BUCKET_W-1:0]  out_ct_b
);
  localparam int unsigned PAGE_BITS = $clog2(CT_PAGE_BUCKETS);
  // k: bits of a bucket's offset within its half page
  localparam int unsigned HALF_BITS = PAGE_BITS > 0 ? PAGE_BITS - 1 : 0;
  localparam int unsigned PAGE_NUM_BITS = CT_BUCKET_BITS - PAGE_BITS;
  localparam logic [31:0] MIX = 32'(lbnic_pkg::CT_BUCKET_MIX);

  if (CT_PAGE_BUCKETS != (CT_BUCKET_BITS < 12 ? (1 << CT_BUCKET_BITS) : 4096)) begin : g_page_check
    $error("CT_PAGE_BUCKETS must be min(2^CT_BUCKET_BITS, 4096)");
  end
  if (MUL_STAGES < 1) begin : g_stage_check
    $error("MUL_STAGES must be at least 1");
  end

  // Stage 0: inputs.
  logic        s0_valid;
  logic [31:0] s0_hash;
  logic [31:0] s0_m;
  always_ff @(posedge clk) begin
    s0_valid <= in_valid;
    if (in_valid) begin
      s0_hash <= in_hash;
      s0_m <= in_m;
    end
    if (rst) s0_valid <= 1'b0;
  end

  // Stages 1..MUL_STAGES: {valid, index, mix, hash} per stage, flattened
  // (Yosys 0.23 takes no packed arrays).
  localparam int unsigned W = 1 + 32 + 32 + 32;
  /* verilator lint_off UNUSEDSIGNAL */
  logic [63:0]             product;  // only the high half is the index
  /* verilator lint_on UNUSEDSIGNAL */
  logic [31:0]             mix;
  logic [W*MUL_STAGES-1:0] pipe;
  logic [W-1:0]            last;

  assign product = {32'h0, s0_hash} * {32'h0, s0_m};
  assign mix = s0_hash * MIX;

  always_ff @(posedge clk) begin
    pipe[W-1:0] <= {s0_valid, product[63:32], mix, s0_hash};
    for (int unsigned i = 1; i < MUL_STAGES; i++) pipe[W*i +: W] <= pipe[W*(i-1) +: W];
    if (rst) begin
      for (int unsigned i = 0; i < MUL_STAGES; i++) pipe[W*i+W-1] <= 1'b0;
    end
  end

  assign last = pipe[W*(MUL_STAGES-1) +: W];
  // which bits a and b take depends on the table size; synthesis drops the
  // registers of the others
  /* verilator lint_off UNUSEDSIGNAL */
  logic [31:0] last_mix;
  logic [31:0] last_hash;
  /* verilator lint_on UNUSEDSIGNAL */
  assign {out_valid, out_index, last_mix, last_hash} = last;

  if (CT_BUCKET_BITS == 0) begin : g_one_bucket
    assign out_ct_a = '0;
    assign out_ct_b = '0;
  end else if (PAGE_NUM_BITS == 0 && HALF_BITS == 0) begin : g_two_buckets
    assign out_ct_a = 1'b0;
    assign out_ct_b = 1'b1;
  end else if (PAGE_NUM_BITS == 0) begin : g_one_page
    assign out_ct_a = {1'b0, last_hash[HALF_BITS-1:0]};
    assign out_ct_b = {1'b1, last_mix[31 -: HALF_BITS]};
  end else if (HALF_BITS == 0) begin : g_one_bit_pages
    assign out_ct_a = {last_hash[0 +: PAGE_NUM_BITS], 1'b0};
    assign out_ct_b = {last_hash[0 +: PAGE_NUM_BITS], 1'b1};
  end else begin : g_pages
    assign out_ct_a = {last_hash[HALF_BITS +: PAGE_NUM_BITS], 1'b0, last_hash[HALF_BITS-1:0]};
    assign out_ct_b = {last_hash[HALF_BITS +: PAGE_NUM_BITS], 1'b1, last_mix[31 -: HALF_BITS]};
  end
endmodule
