// Testbench of lbnic_lookup_index: lookup indices and conntrack candidate
// buckets against lbnic_contract::lookup (lookup.txt written by
// contract/examples/rtl_vectors.rs, in +vectors=DIR), for six table sizes
// at once: one bucket, two, smaller than a page, one page, the target's
// (lbnic_pkg), and 2^26. Inputs arrive with random gaps (driven on the
// falling edge); every result must come out in order, exactly LATENCY
// clocks later. Prints PASS, or exits non-zero.
module lbnic_lookup_index_tb;
  localparam int SIZES = 6;
  localparam int BITS [SIZES] = '{0, 1, 10, 12, lbnic_pkg::TARGET_CT_BUCKET_BITS, 26};
  localparam int MUL_STAGES = 3;
  localparam int LATENCY = 1 + MUL_STAGES;
  localparam int WORDS = 3 + 2 * SIZES;
  localparam int MAX_VECTORS = 1024;

  logic clk = 1'b0;
  logic rst = 1'b1;
  always #1 clk = ~clk;

  logic        in_valid = 1'b0;
  logic [31:0] in_hash = '0;
  logic [31:0] in_m = '0;
  logic        out_valid [SIZES];
  logic [31:0] out_index [SIZES];
  logic [31:0] out_a [SIZES];
  logic [31:0] out_b [SIZES];

  for (genvar s = 0; s < SIZES; s++) begin : g_dut
    localparam int B = BITS[s];
    localparam int W = B > 0 ? B : 1;
    logic [W-1:0] a, b;
    lbnic_lookup_index #(
        .CT_BUCKET_BITS(B),
        .CT_PAGE_BUCKETS(B < 12 ? (1 << B) : 4096),
        .MUL_STAGES(MUL_STAGES)
    ) dut (
        .clk, .rst, .in_valid, .in_hash, .in_m,
        .out_valid(out_valid[s]), .out_index(out_index[s]), .out_ct_a(a), .out_ct_b(b)
    );
    assign out_a[s] = 32'(a);
    assign out_b[s] = 32'(b);
  end

  // lookup.txt: count, then (hash, m, index, a0, b0, .. a5, b5) per vector
  logic [31:0] words [WORDS * MAX_VECTORS + 1];
  int unsigned n;

  int          want_q [$];  // vector numbers, in input order
  int          exp_vec [$];
  int          exp_cycle [$];
  int          cycle = 0;
  int          errors = 0;
  int          checked = 0;

  always @(posedge clk) begin
    if (!rst && in_valid) begin
      exp_vec.push_back(want_q.pop_front());
      exp_cycle.push_back(cycle + LATENCY);
    end
    if (!rst && out_valid[0]) begin
      if (exp_vec.size() == 0) begin
        $display("FAIL: a result with none expected");
        errors++;
      end else begin
        automatic int v = exp_vec.pop_front();
        automatic int     due = exp_cycle.pop_front();
        automatic int base = WORDS * v + 1;
        for (int s = 0; s < SIZES; s++) begin
          if (!out_valid[s] || cycle != due || out_index[s] != words[base+2]
              || out_a[s] != words[base+3+2*s] || out_b[s] != words[base+4+2*s]) begin
            $display("FAIL: vector %0d (hash %08x m %08x) size 2^%0d at cycle %0d: index %08x a %0x b %0x, want %08x %0x %0x at %0d",
                     v, words[base], words[base+1], BITS[s], cycle, out_index[s], out_a[s], out_b[s],
                     words[base+2], words[base+3+2*s], words[base+4+2*s], due);
            errors++;
          end
        end
        checked++;
      end
    end
    cycle++;
  end

  initial begin
    string dir;
    if (!$value$plusargs("vectors=%s", dir)) dir = "rtl/build/vectors";
    $readmemh({dir, "/lookup.txt"}, words);
    n = words[0];
    if (n < 100 || n > MAX_VECTORS) $fatal(1, "%s/lookup.txt: %0d vectors", dir, n);

    repeat (4) @(negedge clk);
    rst = 1'b0;
    for (int i = 0; i < int'(n); i++) begin
      while ($urandom_range(3) == 0) begin
        in_valid = 1'b0;
        in_hash = $urandom;
        in_m = $urandom;
        @(negedge clk);
      end
      in_valid = 1'b1;
      in_hash = words[WORDS*i+1];
      in_m = words[WORDS*i+2];
      want_q.push_back(i);
      @(negedge clk);
    end
    in_valid = 1'b0;
    repeat (LATENCY + 4) @(negedge clk);
    if (exp_vec.size() != 0) begin
      $display("FAIL: %0d results never came out", exp_vec.size());
      errors++;
    end
    if (errors != 0 || checked != int'(n)) $fatal(1, "lbnic_lookup_index: %0d errors, %0d of %0d checked", errors, checked, n);
    $display("lbnic_lookup_index: %0d vectors x %0d table sizes PASS", n, SIZES);
    $finish;
  end
endmodule
