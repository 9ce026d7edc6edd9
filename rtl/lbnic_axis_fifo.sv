// AXI-Stream FIFO, one clock: DEPTH beats in a RAM (synchronous read, so
// it maps to block RAM / LUTRAM) behind an output register, i.e. DEPTH + 1
// beats in all. The inter-stage FIFOs of docs/spec.md §12.2 have
// registered ready: s_axis_tready is a flop, computed from next clock's
// occupancy, so no combinational path runs from m_axis_tready (or
// s_axis_tvalid) to s_axis_tready, and a beat is taken only if there was
// room at the start of the clock. One beat in and one out per clock.
// tkeep / tlast / tuser are stored only when enabled; a disabled field
// reads as all ones (tkeep), 1 (tlast) or 0 (tuser).
module lbnic_axis_fifo #(
    // beats in the RAM, a power of two >= 2
    parameter int unsigned DEPTH = lbnic_pkg::TARGET_FIFO_DEPTH,
    parameter int unsigned DATA_WIDTH = 8 * lbnic_pkg::TARGET_DATAPATH_BYTES,
    parameter bit          KEEP_ENABLE = DATA_WIDTH > 8,
    parameter int unsigned KEEP_WIDTH = (DATA_WIDTH + 7) / 8,
    parameter bit          LAST_ENABLE = 1'b1,
    parameter bit          USER_ENABLE = 1'b0,
    parameter int unsigned USER_WIDTH = 1
) (
    input  logic                  clk,
    input  logic                  rst,

    input  logic [DATA_WIDTH-1:0] s_axis_tdata,
    input  logic [KEEP_WIDTH-1:0] s_axis_tkeep,
    input  logic                  s_axis_tvalid,
    output logic                  s_axis_tready,
    input  logic                  s_axis_tlast,
    input  logic [USER_WIDTH-1:0] s_axis_tuser,

    output logic [DATA_WIDTH-1:0] m_axis_tdata,
    output logic [KEEP_WIDTH-1:0] m_axis_tkeep,
    output logic                  m_axis_tvalid,
    input  logic                  m_axis_tready,
    output logic                  m_axis_tlast,
    output logic [USER_WIDTH-1:0] m_axis_tuser
);
  localparam int unsigned ADDR_W = $clog2(DEPTH);
  // stored word: data, then the enabled fields
  localparam int unsigned KEEP_OFF = DATA_WIDTH;
  localparam int unsigned LAST_OFF = KEEP_OFF + (KEEP_ENABLE ? KEEP_WIDTH : 0);
  localparam int unsigned USER_OFF = LAST_OFF + (LAST_ENABLE ? 1 : 0);
  localparam int unsigned W = USER_OFF + (USER_ENABLE ? USER_WIDTH : 0);

  if (DEPTH < 2 || (1 << ADDR_W) != DEPTH) begin : g_depth_check
    $error("DEPTH must be a power of two, at least 2");
  end

  logic [W-1:0] in_word;
  logic [W-1:0] out_word;
  assign in_word[DATA_WIDTH-1:0] = s_axis_tdata;
  assign m_axis_tdata = out_word[DATA_WIDTH-1:0];

  // Disabled fields are not stored; their inputs go nowhere.
  /* verilator lint_off UNUSEDSIGNAL */
  logic unused;
  /* verilator lint_on UNUSEDSIGNAL */
  assign unused = ^{KEEP_ENABLE ? 1'b0 : ^s_axis_tkeep,
                    LAST_ENABLE ? 1'b0 : s_axis_tlast,
                    USER_ENABLE ? 1'b0 : ^s_axis_tuser};

  if (KEEP_ENABLE) begin : g_keep
    assign in_word[KEEP_OFF +: KEEP_WIDTH] = s_axis_tkeep;
    assign m_axis_tkeep = out_word[KEEP_OFF +: KEEP_WIDTH];
  end else begin : g_no_keep
    assign m_axis_tkeep = '1;
  end
  if (LAST_ENABLE) begin : g_last
    assign in_word[LAST_OFF] = s_axis_tlast;
    assign m_axis_tlast = out_word[LAST_OFF];
  end else begin : g_no_last
    assign m_axis_tlast = 1'b1;
  end
  if (USER_ENABLE) begin : g_user
    assign in_word[USER_OFF +: USER_WIDTH] = s_axis_tuser;
    assign m_axis_tuser = out_word[USER_OFF +: USER_WIDTH];
  end else begin : g_no_user
    assign m_axis_tuser = '0;
  end

  logic [W-1:0]  mem [DEPTH];
  logic [ADDR_W:0] wr_ptr, rd_ptr, wr_next, rd_next;
  logic push, pop, out_valid;

  assign push = s_axis_tvalid && s_axis_tready;
  // the RAM's head moves to the output register when that is free or
  // being emptied
  assign pop = wr_ptr != rd_ptr && (!out_valid || m_axis_tready);
  assign wr_next = wr_ptr + (ADDR_W + 1)'(push);
  assign rd_next = rd_ptr + (ADDR_W + 1)'(pop);
  assign m_axis_tvalid = out_valid;

  always_ff @(posedge clk) begin
    if (push) mem[wr_ptr[ADDR_W-1:0]] <= in_word;
  end

  always_ff @(posedge clk) begin
    if (pop) out_word <= mem[rd_ptr[ADDR_W-1:0]];
  end

  always_ff @(posedge clk) begin
    wr_ptr <= wr_next;
    rd_ptr <= rd_next;
    if (pop) out_valid <= 1'b1;
    else if (m_axis_tready) out_valid <= 1'b0;
    // room next clock: the RAM not full after this clock's moves
    s_axis_tready <= (wr_next - rd_next) != (ADDR_W + 1)'(DEPTH);
    if (rst) begin
      wr_ptr <= '0;
      rd_ptr <= '0;
      out_valid <= 1'b0;
      s_axis_tready <= 1'b0;
    end
  end
endmodule
