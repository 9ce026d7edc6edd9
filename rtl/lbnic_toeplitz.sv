// Toeplitz (RSS) flow hash, docs/spec.md §7: the hash of up to 36 input
// bytes (IPv6 source, destination, source port, destination port; an IPv4
// input is the first 12 bytes, an "IP only" input has no ports) under the
// 40-byte key from GLOBAL. The reference is lbnic_contract::toeplitz.
//
// Hash bit 31-j is the XOR over input bits i (MSB first) of in[i] & key[i+j],
// an AND-XOR tree of 288 terms per output bit. One hash per clock; latency
// 3 clocks from in_valid to out_valid:
//   1  register the input with bytes at or past in_len zeroed, and the key
//   2  partial XORs over GROUP_BYTES input bytes (32 AND terms per group:
//      three levels of 6-input LUTs)
//   3  XOR of the 9 partials (two levels)
// The key is sampled with the data in stage 1, so a key change (a bank
// switch) applies from the next input on, never to a hash in flight.
module lbnic_toeplitz #(
    parameter int unsigned IN_BYTES = lbnic_pkg::TOEPLITZ_KEY_LEN - 4,
    parameter int unsigned KEY_BYTES = lbnic_pkg::TOEPLITZ_KEY_LEN,
    // input bytes per first-level partial sum
    parameter int unsigned GROUP_BYTES = 4
) (
    input  logic                       clk,
    input  logic                       rst,
    // byte k of the RSS input on bits [8k+7:8k], the layout of the
    // package's byte strings (Yosys 0.23 takes no packed arrays on ports)
    input  logic                       in_valid,
    input  logic [8*IN_BYTES-1:0]      in_data,
    // input length in bytes: 8 / 12 (IPv4), 32 / 36 (IPv6), any 0..IN_BYTES
    input  logic [$clog2(IN_BYTES+1)-1:0] in_len,
    // global_t.toeplitz_key
    input  logic [8*KEY_BYTES-1:0]     key,
    output logic                       out_valid,
    output logic [31:0]                out_hash
);
  localparam int unsigned GROUPS = (IN_BYTES + GROUP_BYTES - 1) / GROUP_BYTES;
  localparam int unsigned IN_BITS = 8 * IN_BYTES;
  localparam int unsigned KEY_BITS = 8 * KEY_BYTES;

  if (KEY_BYTES < IN_BYTES + 4) begin : g_key_check
    $error("the key must be 4 bytes longer than the input");
  end

  // Stage 1: masked input and the key as bit strings whose top bit is bit
  // 0 of the Toeplitz definition (the MSB of byte 0).
  logic                  s1_valid;
  logic [IN_BITS-1:0]    s1_bits;
  logic [KEY_BITS-1:0]   s1_key;

  logic [IN_BITS-1:0]    in_bits;
  logic [KEY_BITS-1:0]   key_bits;
  for (genvar i = 0; i < IN_BYTES; i++) begin : g_in
    // Bytes past the length do not take part, whatever they hold.
    assign in_bits[IN_BITS-1-8*i -: 8] = (i < in_len) ? in_data[8*i +: 8] : 8'h00;
  end
  for (genvar i = 0; i < KEY_BYTES; i++) begin : g_key
    assign key_bits[KEY_BITS-1-8*i -: 8] = key[8*i +: 8];
  end

  always_ff @(posedge clk) begin
    s1_valid <= in_valid;
    if (in_valid) begin
      s1_bits <= in_bits;
      s1_key  <= key_bits;
    end
    if (rst) s1_valid <= 1'b0;
  end

  // Stage 2: per-group partial hashes.
  logic                     s2_valid;
  // group g on bits [32g+31:32g] (Yosys 0.23: no packed arrays)
  logic [32*GROUPS-1:0]     s2_part;
  logic [32*GROUPS-1:0]     part;

  always_comb begin
    part = '0;
    for (int i = 0; i < IN_BITS; i++) begin
      // input bit i selects window(key, i): 32 key bits from bit i
      part[32*(i/(8*GROUP_BYTES)) +: 32] = part[32*(i/(8*GROUP_BYTES)) +: 32]
          ^ ({32{s1_bits[IN_BITS-1-i]}} & s1_key[KEY_BITS-1-i -: 32]);
    end
  end

  always_ff @(posedge clk) begin
    s2_valid <= s1_valid;
    if (s1_valid) s2_part <= part;
    if (rst) s2_valid <= 1'b0;
  end

  // Stage 3: the hash.
  logic [31:0] sum;
  always_comb begin
    sum = 32'h0;
    for (int unsigned g = 0; g < GROUPS; g++) sum = sum ^ s2_part[32*g +: 32];
  end

  always_ff @(posedge clk) begin
    out_valid <= s2_valid;
    if (s2_valid) out_hash <= sum;
    if (rst) out_valid <= 1'b0;
  end
endmodule
