// Synchronous RAM, inferable (Yosys `memory`, Vivado BRAM/URAM): port A
// reads and writes (the host aperture / the COMMIT scan), port B reads (the
// pipeline). Both reads are registered: data appears the clock after the
// address (latency 1). A write on port A returns the old word on a_rdata
// (read-first); port B reading the address port A writes in the same clock
// gets the old word too. No reset: contents start undefined in simulation
// and zero on an FPGA after configuration; the host writes every byte it
// commits (the COMMIT CRC covers the whole bank).
module lbnic_ram #(
    parameter int unsigned WIDTH = 64,
    parameter int unsigned DEPTH = 1024,
    parameter int unsigned AW = (DEPTH > 1) ? $clog2(DEPTH) : 1
) (
    input  logic             clk,
    input  logic             a_en,
    input  logic             a_we,
    input  logic [AW-1:0]    a_addr,
    input  logic [WIDTH-1:0] a_wdata,
    output logic [WIDTH-1:0] a_rdata,
    input  logic             b_en,
    input  logic [AW-1:0]    b_addr,
    output logic [WIDTH-1:0] b_rdata
);
  logic [WIDTH-1:0] mem[DEPTH];

  always_ff @(posedge clk) begin
    if (a_en) begin
      a_rdata <= mem[a_addr];
      if (a_we) mem[a_addr] <= a_wdata;
    end
  end

  always_ff @(posedge clk) begin
    if (b_en) b_rdata <= mem[b_addr];
  end
endmodule
