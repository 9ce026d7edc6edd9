// Testbench of lbnic_keep_count: every contiguous tkeep of the default
// datapath (0 to DATA_BYTES bytes) gives its byte count. Prints PASS, or
// exits non-zero.
module lbnic_keep_count_tb;
  localparam int unsigned DB = lbnic_pkg::TARGET_DATAPATH_BYTES;
  localparam int unsigned CW = $clog2(DB) + 1;

  logic [DB-1:0] keep;
  logic [CW-1:0] count;
  int errors = 0;

  lbnic_keep_count #(.DATA_BYTES(DB)) dut (.keep, .count);

  initial begin
    for (int n = 0; n <= DB; n++) begin
      keep = '0;
      for (int i = 0; i < n; i++) keep[i] = 1'b1;
      #1;
      if (32'(count) != n) begin
        $display("FAIL: %0d bytes kept, count %0d", n, count);
        errors++;
      end
    end
    if (errors != 0) $fatal(1, "FAIL: %0d errors", errors);
    $display("PASS: %0d masks", DB + 1);
    $finish;
  end
endmodule
