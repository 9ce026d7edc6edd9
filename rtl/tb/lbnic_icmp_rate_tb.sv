// Testbench of lbnic_icmp_rate: the token bucket's decisions against
// hw_model::packet::icmp::RateLimit::take, from icmp_rate.txt
// (model-tests/examples/rtl_vectors_icmp.rs): one request a line,
// `now rate burst send`, or `R` (CONTROL.RESET). Requests go back to back
// with random gaps and random res_ready stalls; each decision is checked in
// order, one clock after its request is taken.
module lbnic_icmp_rate_tb;
  logic clk = 0, rst = 1, clear = 0;
  logic req_valid = 0, req_ready, res_valid, res_ready = 0, res_send, res_rate_limited;
  logic [31:0] req_now = 0, req_rate = 0, req_burst = 0;
  always #5 clk = ~clk;

  lbnic_icmp_rate dut (.*);

  // Expected decisions in request order.
  logic exp_q[$];
  int   n_req = 0, n_res = 0, n_send = 0, n_reset = 0;

  always @(posedge clk) begin
    if (!rst && res_valid && res_ready) begin
      if (exp_q.size() == 0) $fatal(1, "FAIL: a decision without a request");
      if (res_send !== exp_q[0] || res_rate_limited !== !exp_q[0])
        $fatal(1, "FAIL: request %0d: send=%0b rate_limited=%0b, model says send=%0b",
               n_res, res_send, res_rate_limited, exp_q[0]);
      void'(exp_q.pop_front());
      n_res++;
    end
  end

  always @(negedge clk) res_ready <= ($urandom % 4) != 0;

  initial begin
    string path, tok;
    int fd, code;
    int unsigned now, rate, burst, send;
    if (!$value$plusargs("vectors=%s", path)) path = "rtl/build/vectors";
    fd = $fopen({path, "/icmp_rate.txt"}, "r");
    if (fd == 0) $fatal(1, "FAIL: no %s/icmp_rate.txt", path);
    repeat (3) @(negedge clk);
    rst = 0;
    while (!$feof(fd)) begin
      code = $fscanf(fd, "%s", tok);
      if (code != 1) break;
      if (tok == "R") begin
        // Between packets: wait for every decision, then reset.
        while (exp_q.size() != 0) @(negedge clk);
        clear = 1;
        @(negedge clk);
        clear = 0;
        n_reset++;
        continue;
      end
      code = $sscanf(tok, "%d", now);
      code += $fscanf(fd, "%d %d %d", rate, burst, send);
      if (code != 4) $fatal(1, "FAIL: bad vector line after %0d requests", n_req);
      while (($urandom % 3) == 0) @(negedge clk);
      req_valid = 1;
      req_now = now;
      req_rate = rate;
      req_burst = burst;
      @(posedge clk);
      while (!req_ready) @(posedge clk);
      exp_q.push_back(send[0]);
      n_send += send;
      n_req++;
      @(negedge clk);
      req_valid = 0;
    end
    repeat (10) @(negedge clk);
    if (n_res != n_req || n_req == 0) $fatal(1, "FAIL: %0d requests, %0d decisions", n_req, n_res);
    $display("PASS lbnic_icmp_rate: %0d decisions (%0d sent, %0d rate-limited), %0d resets",
             n_req, n_send, n_req - n_send, n_reset);
    $finish;
  end
endmodule
