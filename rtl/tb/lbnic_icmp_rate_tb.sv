// Testbench of lbnic_icmp_rate: the token bucket's decisions against
// hw_model::packet::icmp::RateLimit::take, from icmp_rate.txt
// (model-tests/examples/rtl_vectors_icmp.rs): one request a line,
// `now rate burst send`, or `R` (CONTROL.RESET). Each request is a prep
// (now, rate, burst) and, after a random wait, a take; the take must be
// ready 4 clocks after the prep clock (the unit's PREP_LAT, which
// lbnic_icmp_too_big relies on for its cycles) and is made then or up to 5
// clocks later; some preps are repeated (a prep changes nothing, the last
// one counts) and some resets come between a prep and its take (the take
// then sees a full bucket, as the model's take after a reset does). Each
// decision is checked in order, the clock after its take.
// -GTICK_US=7 checks the bucket at a tick that does not divide 10^6 (credit
// in plain answers/s x us, a multiply by the tick) against
// icmp_rate_tick7.txt.
module lbnic_icmp_rate_tb #(
    parameter int unsigned TICK_US = lbnic_pkg::TARGET_CT_TICK_US
);
  logic clk = 0, rst = 1, clear = 0;
  logic prep_valid = 0, take_valid = 0, take_ready, res_valid, res_send, res_rate_limited;
  logic [31:0] prep_now = 0, prep_rate = 0, prep_burst = 0;
  always #5 clk = ~clk;

  lbnic_icmp_rate #(.TICK_US(TICK_US)) dut (.*);

  // Expected decisions in request order.
  logic exp_q[$];
  int   n_req = 0, n_res = 0, n_send = 0, n_reset = 0;

  always @(posedge clk) begin
    if (!rst && res_valid) begin
      if (exp_q.size() == 0) $fatal(1, "FAIL: a decision without a request");
      if (res_send !== exp_q[0] || res_rate_limited !== !exp_q[0])
        $fatal(1, "FAIL: request %0d: send=%0b rate_limited=%0b, model says send=%0b",
               n_res, res_send, res_rate_limited, exp_q[0]);
      void'(exp_q.pop_front());
      n_res++;
    end
  end

  initial begin
    string path, tok, file;
    int fd, code;
    int unsigned now, rate, burst, send, extra;
    bit late_clear = 0;
    if (!$value$plusargs("vectors=%s", path)) path = "rtl/build/vectors";
    file = TICK_US == lbnic_pkg::TARGET_CT_TICK_US ? "icmp_rate.txt"
         : $sformatf("icmp_rate_tick%0d.txt", TICK_US);
    fd = $fopen({path, "/", file}, "r");
    if (fd == 0) $fatal(1, "FAIL: no %s/%s", path, file);
    repeat (3) @(negedge clk);
    rst = 0;
    while (!$feof(fd)) begin
      code = $fscanf(fd, "%s", tok);
      if (code != 1) break;
      if (tok == "R") begin
        // Between packets: wait for every decision, then reset now, or
        // (half the time) between the next request's prep and its take.
        while (exp_q.size() != 0) @(negedge clk);
        if ($urandom % 2 == 0) begin
          clear = 1;
          @(negedge clk);
          clear = 0;
        end else begin
          late_clear = 1;
        end
        n_reset++;
        continue;
      end
      code = $sscanf(tok, "%d", now);
      code += $fscanf(fd, "%d %d %d", rate, burst, send);
      if (code != 4) $fatal(1, "FAIL: bad vector line after %0d requests", n_req);
      while (($urandom % 3) == 0) @(negedge clk);
      // a stale prep first, sometimes: the last prep counts
      if (($urandom % 4) == 0) begin
        prep_valid = 1;
        prep_now = $urandom;
        prep_rate = $urandom;
        prep_burst = $urandom;
        @(negedge clk);
        prep_valid = 0;
        repeat ($urandom % 3) @(negedge clk);
      end
      prep_valid = 1;
      prep_now = now;
      prep_rate = rate;
      prep_burst = burst;
      @(negedge clk);
      prep_valid = 0;
      prep_now = $urandom;
      prep_rate = $urandom;
      prep_burst = $urandom;
      // the 3 clocks after the prep clock: not ready yet
      for (int k = 0; k < 3; k++) begin
        if (take_ready) $fatal(1, "FAIL: request %0d: take_ready %0d clocks after the prep", n_req, k + 1);
        if (late_clear && k == 1) clear = 1;
        @(negedge clk);
        clear = 0;
      end
      late_clear = 0;
      // ready from the 4th on, the take then or a few clocks later
      extra = ($urandom % 4 == 0) ? $urandom % 6 : 0;
      for (int k = 0; k <= extra; k++) begin
        if (!take_ready) $fatal(1, "FAIL: request %0d: take not ready %0d clocks after the prep", n_req, k + 4);
        if (k < extra) @(negedge clk);
      end
      take_valid = 1;
      @(negedge clk);
      take_valid = 0;
      if (take_ready) $fatal(1, "FAIL: request %0d: take_ready after the take", n_req);
      exp_q.push_back(send[0]);
      n_send += send;
      n_req++;
    end
    repeat (10) @(negedge clk);
    if (n_res != n_req || n_req == 0) $fatal(1, "FAIL: %0d requests, %0d decisions", n_req, n_res);
    $display("PASS lbnic_icmp_rate (%0d us tick): %0d decisions (%0d sent, %0d rate-limited), %0d resets",
             TICK_US, n_req, n_send, n_req - n_send, n_reset);
    $finish;
  end
endmodule
