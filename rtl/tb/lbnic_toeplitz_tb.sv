// Testbench of lbnic_toeplitz: Microsoft's RSS verification vectors and
// random keys and inputs, expected values from lbnic_contract (vectors file
// toeplitz.txt written by contract/examples/rtl_vectors.rs, in +vectors=DIR).
// Inputs arrive with random gaps (driven on the falling edge); every hash must come out in order, exactly
// LATENCY clocks after its input. Prints PASS, or exits non-zero.
module lbnic_toeplitz_tb;
  localparam int LATENCY = 3;
  localparam int unsigned MAX_VECTORS = 4096;

  logic clk = 1'b0;
  logic rst = 1'b1;
  always #1 clk = ~clk;

  logic                in_valid = 1'b0;
  logic [35:0][7:0]    in_data = '0;
  logic [5:0]          in_len = '0;
  logic [39:0][7:0]    key = '0;
  logic                out_valid;
  logic [31:0]         out_hash;

  lbnic_toeplitz dut (
      .clk, .rst, .in_valid, .in_data, .in_len, .key, .out_valid, .out_hash
  );

  // toeplitz.txt: count, then (key, data, len, hash) per vector
  logic [319:0] words [4 * MAX_VECTORS + 1];
  int unsigned  n;

  // expected hashes in order, with the cycle each is due
  logic [31:0] exp_hash [$];
  int          exp_cycle [$];
  int          cycle = 0;
  int          errors = 0;
  int          checked = 0;

  // Monitor, at each rising edge (inputs change on the falling one): note
  // the input the DUT samples now, check the output it presents now.
  logic [31:0] want_q [$];
  always @(posedge clk) begin
    if (!rst && in_valid) begin
      exp_hash.push_back(want_q.pop_front());
      exp_cycle.push_back(cycle + LATENCY);
    end
    if (!rst && out_valid) begin
      if (exp_hash.size() == 0) begin
        $display("FAIL: hash %08x with none expected", out_hash);
        errors++;
      end else begin
        if (out_hash !== exp_hash[0] || cycle != exp_cycle[0]) begin
          $display("FAIL: vector %0d: hash %08x at cycle %0d, want %08x at %0d",
                   checked, out_hash, cycle, exp_hash[0], exp_cycle[0]);
          errors++;
        end
        void'(exp_hash.pop_front());
        void'(exp_cycle.pop_front());
        checked++;
      end
    end
    cycle++;
  end

  initial begin
    string dir;
    if (!$value$plusargs("vectors=%s", dir)) dir = "rtl/build/vectors";
    $readmemh({dir, "/toeplitz.txt"}, words);
    n = words[0][31:0];
    if (n < 100 || n > MAX_VECTORS) $fatal(1, "%s/toeplitz.txt: %0d vectors", dir, n);

    repeat (4) @(negedge clk);
    rst = 1'b0;
    for (int i = 0; i < n; i++) begin
      // about one cycle in four idle, to vary the spacing
      while ($urandom_range(3) == 0) begin
        in_valid = 1'b0;
        in_data = {9{$urandom}};
        @(negedge clk);
      end
      in_valid = 1'b1;
      key = words[4*i+1];
      in_data = words[4*i+2][287:0];
      in_len = words[4*i+3][5:0];
      want_q.push_back(words[4*i+4][31:0]);
      @(negedge clk);
    end
    in_valid = 1'b0;
    repeat (LATENCY + 4) @(negedge clk);
    if (exp_hash.size() != 0) begin
      $display("FAIL: %0d hashes never came out", exp_hash.size());
      errors++;
    end
    if (errors != 0 || checked != n) $fatal(1, "lbnic_toeplitz: %0d errors, %0d of %0d checked", errors, checked, n);
    $display("lbnic_toeplitz: %0d vectors PASS", n);
    $finish;
  end
endmodule
