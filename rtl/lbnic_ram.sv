// Synchronous RAM, inferable (Yosys `memory`, Vivado BRAM/URAM): port A
// reads and writes (the host aperture / the COMMIT scan), port B reads (the
// pipeline). Both reads are registered: data appears the clock after the
// address (latency 1). A write on port A leaves a_rdata as it was
// (no-change write mode, the only one UltraRAM has: a read-first port A
// costs Yosys a second copy of the memory; no user reads a_rdata after a
// write); port B reading the address port A writes in the same clock gets
// the old word. No reset: contents start undefined in simulation
// and zero on an FPGA after configuration; the host writes every byte it
// commits (the COMMIT CRC covers the whole bank).
//
// A_READ = 0: port A only writes (a_rdata is 0). The conntrack engine's
// RAMs never read on port A; Yosys synthesises each module on its own
// (scripts/synth.sh), so a read port whose output the user leaves unused
// was built anyway, its address register behind the write address's logic
// (4 of the engine's 40 deepest endpoints, issue 13).
//
// STYLE picks the FPGA memory (docs/spec.md §1.1, §13 "Synthesis"): "auto"
// (the tool's choice by cost), "block" (block RAM) or "ultra" (URAM288), as
// the `ram_style` attribute that Yosys `memory_libmap` and Vivado read.
module lbnic_ram #(
    parameter int unsigned WIDTH = 64,
    parameter int unsigned DEPTH = 1024,
    parameter int unsigned AW = (DEPTH > 1) ? $clog2(DEPTH) : 1,
    parameter logic [39:0] STYLE = "auto",  // 5 characters: "block", "ultra"
    parameter bit A_READ = 1'b1
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
  // one body per style: Yosys takes attribute values as written, not from
  // parameters
  if (STYLE == "block") begin : g_block
    (* ram_style = "block" *) logic [WIDTH-1:0] mem[DEPTH];
    always_ff @(posedge clk) begin
      if (a_en) begin
        if (a_we) mem[a_addr] <= a_wdata;
        else if (A_READ) a_rdata <= mem[a_addr];
      end
      if (!A_READ) a_rdata <= '0;
    end
    always_ff @(posedge clk) begin
      if (b_en) b_rdata <= mem[b_addr];
    end
  end else if (STYLE == "ultra") begin : g_ultra
    (* ram_style = "ultra" *) logic [WIDTH-1:0] mem[DEPTH];
    always_ff @(posedge clk) begin
      if (a_en) begin
        if (a_we) mem[a_addr] <= a_wdata;
        else if (A_READ) a_rdata <= mem[a_addr];
      end
      if (!A_READ) a_rdata <= '0;
    end
    always_ff @(posedge clk) begin
      if (b_en) b_rdata <= mem[b_addr];
    end
  end else begin : g_auto
    logic [WIDTH-1:0] mem[DEPTH];
    always_ff @(posedge clk) begin
      if (a_en) begin
        if (a_we) mem[a_addr] <= a_wdata;
        else if (A_READ) a_rdata <= mem[a_addr];
      end
      if (!A_READ) a_rdata <= '0;
    end
    always_ff @(posedge clk) begin
      if (b_en) b_rdata <= mem[b_addr];
    end
  end
endmodule
