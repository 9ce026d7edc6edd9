// Synthesis top of lbnic_bank with small parameters (scripts/rtl-test.sh,
// Yosys only): the default target's 2 x 16 MiB of BACKEND and LUT cannot be
// mapped to generic cells (URAM on an FPGA). Not a testbench.
module lbnic_bank_small #(
    parameter int unsigned MAX_VIPS = 4,
    parameter int unsigned MAX_BACKENDS = 64,
    parameter int unsigned LUT_ENTRIES = 4096,
    parameter int unsigned LUT_ENTRY_BITS = 10
) (
    input  logic         clk,
    input  logic         rst,
    input  logic         ap_valid,
    output logic         ap_ready,
    input  logic         ap_write,
    input  logic [15:0]  ap_addr,
    input  logic [63:0]  ap_wdata,
    output logic         ap_rvalid,
    input  logic         ap_rready,
    output logic [63:0]  ap_rdata,
    input  logic         scan_start,
    input  logic         scan_en,
    input  logic         scan_bank,
    input  logic [11:0]  scan_word,
    output logic         scan_rvalid,
    output logic [63:0]  scan_rdata,
    input  logic         active_bank,
    output logic [lbnic_pkg::GLOBAL_BITS-1:0] active_global,
    output logic [MAX_VIPS*lbnic_pkg::VIP_BITS-1:0] active_vips,
    output logic         active_nat,
    input  logic         be_valid,
    input  logic         be_bank,
    input  logic [5:0]   be_index,
    output logic         be_rvalid,
    output logic [lbnic_pkg::BACKEND_BITS-1:0] be_rdata,
    input  logic         lut_valid,
    input  logic         lut_bank,
    input  logic [11:0]  lut_index,
    output logic         lut_rvalid,
    output logic [LUT_ENTRY_BITS-1:0] lut_rdata
);
  lbnic_bank #(
      .MAX_VIPS(MAX_VIPS),
      .MAX_BACKENDS(MAX_BACKENDS),
      .LUT_ENTRIES(LUT_ENTRIES),
      .LUT_ENTRY_BITS(LUT_ENTRY_BITS)
  ) u (.*);
endmodule
