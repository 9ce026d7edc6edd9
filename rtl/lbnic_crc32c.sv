// CRC32C (Castagnoli: reflected polynomial 0x82F63B78, init and xorout
// 0xFFFFFFFF) of each frame of an AXI-Stream of DATA_BYTES-wide beats,
// one beat per clock: the COMMIT check of docs/spec.md §4 reads STAGED_LEN
// bytes of the inactive bank as beats and compares the result with
// STAGED_CRC. The reference is the `crc32c` crate the image format uses.
//
// The stream is packed: tkeep is all ones except on the tlast beat, whose
// kept bytes are lanes 0..n-1 (n = 0 allowed: an empty last beat). Lane 0
// is the first byte.
//
// Depth. The CRC is linear: over a beat d of n bytes, from state s,
//   crc' = Z_n(s) ^ D(d)
// where Z_n advances s over n zero bytes (32 x 32 bits) and D is the CRC
// of d from state 0 (32 x 8n bits). D over a 512-bit beat XORs about 256
// inputs per output bit (four levels of 6-input LUTs) but depends on the
// data only, so it is computed a clock ahead, outside the loop; the loop
// (state -> state) is then Z_64(s) ^ D, 33 inputs per bit (two levels).
// A partial last beat is shifted to the top lanes: leading zero bytes
// leave a zero state zero, so D of the shifted beat is D of its n bytes,
// and the one D matrix serves every beat; its Z_n (n = 0..64) is applied
// behind the loop in TAIL_STAGES stages of two conditional Z_(2^k) each.
//
// Pipeline (one beat per clock, never back-pressures):
//   A  input register            B  n = bytes kept
//   C  shift a last beat up      D  D(beat)
//   loop: state <= Z_64(state) ^ D, or hand (state, D, n) to the tail
//   tail: TAIL_STAGES stages, the last one registers out_crc
// out_valid pulses LATENCY = 4 + TAIL_STAGES clocks after the tlast beat
// was accepted (8 at 64 bytes).
module lbnic_crc32c #(
    parameter int unsigned DATA_BYTES = lbnic_pkg::TARGET_DATAPATH_BYTES
) (
    input  logic                    clk,
    input  logic                    rst,
    input  logic [8*DATA_BYTES-1:0] s_axis_tdata,
    input  logic [DATA_BYTES-1:0]   s_axis_tkeep,
    input  logic                    s_axis_tvalid,
    input  logic                    s_axis_tlast,
    output logic                    s_axis_tready,
    // CRC of the frame that ended LATENCY clocks ago
    output logic                    out_valid,
    output logic [31:0]             out_crc
);
  localparam logic [31:0] POLY = 32'h82F63B78;
  localparam logic [31:0] INIT = 32'hFFFFFFFF;
  localparam int unsigned DW = 8 * DATA_BYTES;
  localparam int unsigned NW = $clog2(DATA_BYTES + 1);  // bits of n
  localparam int unsigned TAIL_STAGES = (NW + 1) / 2;

  // The matrices, computed at elaboration by running the bit-serial CRC
  // symbolically: bit b of the state is tracked as the mask of the inputs
  // it is the XOR of. Output bit j of a matrix M applied to x is then
  // ^(x & M[j]), which synthesis builds as a balanced XOR tree.
  // Flattened: row j on bits [W*j+W-1:W*j] (Yosys 0.23: no packed arrays;
  // no `return`, the result is assigned to the function's name).

  // Z_n: the state advanced over `nbytes` zero bytes (rows of 32 bits).
  function automatic logic [32*32-1:0] zeros_matrix(input int unsigned nbytes);
    logic [32*32-1:0] m;
    logic [31:0] fb;
    for (int unsigned b = 0; b < 32; b++) m[32*b +: 32] = 32'h1 << b;
    for (int unsigned i = 0; i < 8 * nbytes; i++) begin
      fb = m[31:0];
      m = m >> 32;
      for (int unsigned b = 0; b < 32; b++) if (POLY[b]) m[32*b +: 32] = m[32*b +: 32] ^ fb;
    end
    zeros_matrix = m;
  endfunction

  // D: the CRC register of a beat from state 0, lane 0 first, LSB first
  // (rows of DW bits).
  function automatic logic [32*DW-1:0] data_matrix(input int unsigned width);
    logic [32*DW-1:0] m;
    logic [DW-1:0] fb;
    for (int unsigned b = 0; b < 32; b++) m[DW*b +: DW] = '0;
    for (int unsigned i = 0; i < width; i++) begin
      fb = m[DW-1:0] ^ (DW'(1) << i);
      m = m >> DW;
      for (int unsigned b = 0; b < 32; b++) if (POLY[b]) m[DW*b +: DW] = m[DW*b +: DW] ^ fb;
    end
    data_matrix = m;
  endfunction

  localparam logic [32*DW-1:0] DMAT = data_matrix(DW);
  localparam logic [32*32-1:0] ZBEAT = zeros_matrix(DATA_BYTES);

  function automatic logic [31:0] apply32(input logic [32*32-1:0] m, input logic [31:0] x);
    for (int unsigned j = 0; j < 32; j++) apply32[j] = ^(x & m[32*j +: 32]);
  endfunction

  assign s_axis_tready = 1'b1;

  // A: input register.
  logic            a_valid, a_last;
  logic [DW-1:0]   a_data;
  logic [DATA_BYTES-1:0] a_keep;
  always_ff @(posedge clk) begin
    a_valid <= s_axis_tvalid;
    if (s_axis_tvalid) begin
      a_data <= s_axis_tdata;
      a_keep <= s_axis_tkeep;
      a_last <= s_axis_tlast;
    end
    if (rst) a_valid <= 1'b0;
  end

  // B: bytes kept.
  logic            b_valid, b_last;
  logic [DW-1:0]   b_data;
  logic [NW-1:0]   b_n;
  logic [NW-1:0]   a_n;
  always_comb begin
    a_n = '0;
    for (int unsigned i = 0; i < DATA_BYTES; i++) a_n = a_n + NW'(a_keep[i]);
  end
  always_ff @(posedge clk) begin
    b_valid <= a_valid;
    if (a_valid) begin
      b_data <= a_data;
      b_n <= a_n;
      b_last <= a_last;
    end
    if (rst) b_valid <= 1'b0;
  end

  // C: the n kept bytes to the top lanes (a full beat does not move).
  localparam logic [NW-1:0] FULL = NW'(DATA_BYTES);
  logic            c_valid, c_last;
  logic [DW-1:0]   c_data;
  logic [NW-1:0]   c_n;
  logic [NW-1:0]   b_shift;
  assign b_shift = FULL - b_n;
  always_ff @(posedge clk) begin
    c_valid <= b_valid;
    if (b_valid) begin
      c_data <= b_data << {b_shift, 3'b000};
      c_n <= b_n;
      c_last <= b_last;
    end
    if (rst) c_valid <= 1'b0;
  end

  // D: the data half of the matrix.
  logic            d_valid, d_last;
  logic [31:0]     d_crc;
  logic [NW-1:0]   d_n;
  always_ff @(posedge clk) begin
    d_valid <= c_valid;
    if (c_valid) begin
      for (int unsigned j = 0; j < 32; j++) d_crc[j] <= ^(c_data & DMAT[DW*j +: DW]);
      d_n <= c_n;
      d_last <= c_last;
    end
    if (rst) d_valid <= 1'b0;
  end

  // Loop: the running state of the frame; a last beat goes to the tail
  // and the next frame starts from INIT in the next clock.
  logic [31:0] state;
  logic [TAIL_STAGES-1:0]    t_valid;
  logic [32*TAIL_STAGES-1:0] t_state;
  // the last stage's copies of D and n are not used (synthesis drops them)
  /* verilator lint_off UNUSEDSIGNAL */
  logic [32*TAIL_STAGES-1:0] t_crc;
  logic [NW*TAIL_STAGES-1:0] t_n;
  /* verilator lint_on UNUSEDSIGNAL */

  always_ff @(posedge clk) begin
    if (d_valid) state <= d_last ? INIT : apply32(ZBEAT, state) ^ d_crc;
    if (rst) state <= INIT;
  end

  // Tail stage t applies Z_(2^k) for the bits k = NW-1-2t and NW-2-2t of n
  // that are set; the last stage adds D and the xorout and is the output
  // register.and is the output
// register.
  for (genvar t = 0; t < TAIL_STAGES; t++) begin : g_tail
    logic [31:0]   in_state, in_crc, s, nxt;
    logic [NW-1:0] in_n;
    logic          in_valid;
    if (t == 0) begin : g_first
      assign in_valid = d_valid && d_last;
      assign in_state = state;
      assign in_crc = d_crc;
      assign in_n = d_n;
    end else begin : g_next
      assign in_valid = t_valid[t-1];
      assign in_state = t_state[32*(t-1) +: 32];
      assign in_crc = t_crc[32*(t-1) +: 32];
      assign in_n = t_n[NW*(t-1) +: NW];
    end
    always_comb begin
      s = in_state;
      // (the Z matrices are powers of one matrix, so their order is free)
      for (int unsigned k = 0; k < NW; k++) begin
        if ((NW - 1 - k) / 2 == t && in_n[k]) s = apply32(zeros_matrix(1 << k), s);
      end
    end
    if (t == TAIL_STAGES - 1) begin : g_out
      assign nxt = ~(s ^ in_crc);
    end else begin : g_mid
      assign nxt = s;
    end
    always_ff @(posedge clk) begin
      t_valid[t] <= in_valid;
      if (in_valid) begin
        t_state[32*t +: 32] <= nxt;
        t_crc[32*t +: 32] <= in_crc;
        t_n[NW*t +: NW] <= in_n;
      end
      if (rst) t_valid[t] <= 1'b0;
    end
  end

  assign out_valid = t_valid[TAIL_STAGES-1];
  assign out_crc = t_state[32*(TAIL_STAGES-1) +: 32];
endmodule
